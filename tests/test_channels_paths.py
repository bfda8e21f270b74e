"""Paths and transitions from raw touchpoints (Ibis on DuckDB): hand-made event tables, ties in
time ordered by channel, non-converting journeys as nulls, and the Markov fit from the engine's
transition counts equal to the fit from the paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.channels.markov import MarkovAttribution
from helpers.channels.paths import PATH_DTYPES, journey_paths, transitions_expr


def _table(engine, frame: pd.DataFrame, name: str):
    engine.con.register(name, frame)
    return engine.table(name)


@pytest.fixture(scope="module")
def events(engine):
    """j1: search and display at the same time (display first by name), then email, converts for 50;
    j2: social then email, no conversion (its missing value counts 0); j3: search only, no conversion;
    j4: tv and email at the same time, converts for 20; j5: the same path as j1, converts for 30;
    j6: a blank channel name (left out) and social, no conversion."""

    rows = [  # journey, time, channel, conversion, value
        ("j1", "2024-01-02 10:00", "email", 1, 50.0),
        ("j1", "2024-01-01 09:00", " search", 0, 0.0),
        ("j1", "2024-01-01 09:00", "display", 0, 0.0),
        ("j2", "2024-01-05 00:00", "social", 0, 0.0),
        ("j2", "2024-01-06 00:00", "email", 0, None),
        ("j3", "2024-01-01 00:00", "search", 0, 0.0),
        ("j4", "2024-01-03 00:00", "tv", 0, 0.0),
        ("j4", "2024-01-03 00:00", "email", 1, 20.0),
        ("j5", "2024-02-01 00:00", "display", 0, 0.0),
        ("j5", "2024-02-02 00:00", "search", 0, 0.0),
        ("j5", "2024-02-03 00:00", "email", 1, 30.0),
        ("j6", "2024-03-01 00:00", "  ", 0, 0.0),
        ("j6", "2024-03-02 00:00", "social", 0, 0.0),
    ]
    frame = pd.DataFrame(rows, columns=["journey_id", "timestamp", "channel", "conversion", "value"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return _table(engine, frame, "touch_events")


def test_paths_from_events_by_hand(events):
    p = journey_paths(events)
    expected = pd.DataFrame(
        {
            "path": ["display > search > email", "email > tv", "search", "social", "social > email"],
            "conversions": [2, 1, 0, 0, 0],
            "nulls": [0, 0, 1, 1, 1],
            "conversion_value": [80.0, 20.0, 0.0, 0.0, 0.0],
        }
    ).astype(PATH_DTYPES)
    pd.testing.assert_frame_equal(p, expected)  # sorted by journeys (2 first), then path


def test_paths_without_a_value_column_and_with_another_separator(events):
    p = journey_paths(events, value_col=None, sep="|")
    assert p["conversion_value"].eq(0.0).all()
    assert p["path"].iloc[0] == "display|search|email"
    assert int(p["conversions"].sum()) == 3 and int(p["nulls"].sum()) == 3


def test_transitions_from_events_by_hand(engine, events):
    tr = engine.execute(transitions_expr(events))
    got = {(r["from"], r["to"]): int(r["n"]) for _, r in tr.iterrows()}
    assert got == {
        ("(start)", "display"): 2, ("(start)", "social"): 2, ("(start)", "search"): 1, ("(start)", "email"): 1,
        ("display", "search"): 2, ("search", "email"): 2, ("email", "(conversion)"): 2,
        ("social", "email"): 1, ("email", "(null)"): 1, ("search", "(null)"): 1, ("social", "(null)"): 1,
        ("email", "tv"): 1, ("tv", "(conversion)"): 1,
    }  # fmt: skip


def test_markov_from_engine_transitions_equals_markov_from_paths(engine):
    rng = np.random.default_rng(11)
    n_j = 400
    lengths = rng.integers(1, 6, n_j)
    jid = np.repeat([f"j{i:03d}" for i in range(n_j)], lengths)
    chans = rng.choice(["search", "social", "email", "display"], lengths.sum())
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 5, lengths.sum()), unit="D")  # many ties
    converted = rng.random(n_j) < 0.3
    last = np.cumsum(lengths) - 1
    conv = np.zeros(lengths.sum(), dtype=np.int64)
    conv[last[converted]] = 1
    frame = pd.DataFrame(
        {"journey_id": jid, "timestamp": ts, "channel": chans, "conversion": conv, "value": 1.0 * conv}
    )
    table = _table(engine, frame, "random_events")
    paths = journey_paths(table)
    assert (
        int(paths["conversions"].sum()) == int(converted.sum()) and int(paths["nulls"].sum()) == n_j - converted.sum()
    )
    a = MarkovAttribution().fit(paths["path"], paths["conversions"], paths["nulls"])
    b = MarkovAttribution().fit_transitions(engine.execute(transitions_expr(table)))
    pd.testing.assert_series_equal(a.removal_effects_, b.removal_effects_, rtol=1e-12)
    pd.testing.assert_frame_equal(a.transition_matrix_, b.transition_matrix_, rtol=1e-12)
    assert a.conversion_probability_ == pytest.approx(converted.mean(), rel=1e-12)


def test_channel_names_padded_with_tabs_and_newlines_are_one_channel_and_blank_ones_are_dropped(engine):
    """Names are stripped once per distinct name and joined back: every padded spelling of search
    is the same channel, a touch whose channel is blank or missing is left out, its journey kept."""
    rows = [  # journey, day, channel, conversion
        ("a", 1, "search", 0), ("a", 2, "\tsearch\n", 1),
        ("b", 1, " search ", 0), ("b", 2, "\t", 0), ("b", 3, "email", 1),
        ("c", 1, None, 0), ("c", 2, "email\n", 0),
        ("d", 1, "\n \t", 0),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["journey_id", "day", "channel", "conversion"])
    frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("day"), unit="D")
    frame["value"] = 10.0 * frame["conversion"]
    table = _table(engine, frame, "padded_events")
    p = journey_paths(table).set_index("path")
    assert p.index.tolist() == ["email", "search > email", "search > search"]  # d has no touch left
    assert p.loc["search > search", "conversions"] == 1 and p.loc["search > email", "conversion_value"] == 10.0
    assert p.loc["email", "nulls"] == 1
    tr = engine.execute(transitions_expr(table))
    assert sorted(set(tr["from"]) | set(tr["to"])) == ["(conversion)", "(null)", "(start)", "email", "search"]
    assert int(tr["n"].sum()) == 3 + 5  # three journeys start, five touches move on or end
