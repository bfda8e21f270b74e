"""helpers.synth: dispatch to the domains' simulators (every registered kind is seeded and
reproducible) and the file writers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import synth
from helpers.core import registry

# rows per kind for the quick checks (a kind added later gets 500)
SMALL = {"transactions": 3_000, "customers": 500, "responses": 500, "journeys": 3_000, "spend": 104}


def test_every_contract_kind_has_a_simulator():
    assert set(registry.simulated_kinds()) == set(registry.kind_names())
    assert set(registry.simulated_kinds()) == {
        "transactions",
        "customers",
        "responses",
        "journeys",
        "touchpoints",
        "spend",
        "costs",
        "funnel",
    }


# --- determinism ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", registry.simulated_kinds())
def test_same_seed_gives_identical_frames_and_truth(kind):
    a = synth.generate(kind, SMALL.get(kind, 500), seed=5)
    b = synth.generate(kind, SMALL.get(kind, 500), seed=5)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth
    for key in a.details:
        pd.testing.assert_frame_equal(a.details[key], b.details[key])


@pytest.mark.parametrize("kind", registry.simulated_kinds())
def test_different_seed_gives_different_frames(kind):
    a = synth.generate(kind, SMALL.get(kind, 500), seed=5).frame
    b = synth.generate(kind, SMALL.get(kind, 500), seed=6).frame
    assert not a.equals(b)


def test_generate_rejects_unknown_kind_and_non_positive_rows():
    with pytest.raises(ValueError, match="unknown kind"):
        synth.generate("orders", 10)
    with pytest.raises(ValueError, match="positive integer"):
        synth.generate("customers", 0)


@pytest.mark.parametrize("kind", registry.simulated_kinds())
def test_truth_is_plain_json(kind):
    truth = synth.generate(kind, SMALL.get(kind, 500), seed=1).truth
    assert json.loads(json.dumps(truth, allow_nan=False)) == truth


# --- writing ----------------------------------------------------------------------------------


def test_write_frame_round_trips_csv_with_iso_dates_and_no_index(tmp_path):
    f = synth.generate("transactions", 2_000, seed=1).frame
    path = synth.write_frame(f, tmp_path / "sub" / "tx.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "customer_id,date,amount,order_id,channel,quantity"
    assert lines[1].split(",")[1] == f["date"].iloc[0].strftime("%Y-%m-%d")
    back = pd.read_csv(path, parse_dates=["date"], dtype={"customer_id": "str", "order_id": "str", "channel": "str"})
    assert len(back) == len(f)
    assert (back["customer_id"] == f["customer_id"]).all() and (back["order_id"] == f["order_id"]).all()
    assert (back["date"] == f["date"]).all()
    assert np.allclose(back["amount"], f["amount"]) and (back["quantity"] == f["quantity"]).all()
    assert not list(tmp_path.joinpath("sub").glob("*.tmp*"))


def test_write_frame_round_trips_parquet_and_survey_missing_values(tmp_path):
    tx = synth.generate("transactions", 2_000, seed=1).frame
    back = pd.read_parquet(synth.write_frame(tx, tmp_path / "tx.parquet"))
    back["date"] = pd.to_datetime(back["date"]).astype("datetime64[ns]")  # stored as date32
    pd.testing.assert_frame_equal(back, tx, check_dtype=False)
    assert back["quantity"].dtype == "int64" and back["amount"].dtype == "float64"
    survey = synth.generate("responses", 300, seed=1).frame
    csv_back = pd.read_csv(synth.write_frame(survey, tmp_path / "survey.csv"))
    pq_back = pd.read_parquet(synth.write_frame(survey, tmp_path / "survey.parquet"))
    for back in (csv_back, pq_back):
        assert back.isna().sum().equals(survey.isna().sum())
        assert np.allclose(back["price"], survey["price"], equal_nan=True)


def test_write_frame_quotes_text_only_when_needed_and_writes_xlsx(tmp_path):
    f = pd.DataFrame({"name": ["a, b", 'say "hi"'], "n": [1, 2]})
    path = synth.write_frame(f, tmp_path / "q.csv")
    assert pd.read_csv(path)["name"].tolist() == f["name"].tolist()
    j = synth.generate("journeys", 2_000, seed=1).frame
    xl = pd.read_excel(synth.write_frame(j, tmp_path / "j.xlsx"))
    assert xl["path"].tolist() == j["path"].tolist() and (xl["conversions"] == j["conversions"]).all()
    with pytest.raises(ValueError, match="format"):
        synth.write_frame(f, tmp_path / "q.json")
