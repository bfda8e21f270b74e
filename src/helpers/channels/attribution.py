"""Multi-touch attribution: rule-based credits, and the side-by-side table of every model.

Inputs are aggregated paths: ``paths`` (strings such as ``"search > social > email"``, channel
names joined by ``sep``; blanks around names are stripped), ``conversions`` (journeys on the path
that converted), optionally ``nulls`` (journeys that did not) and ``value`` (conversion value of
the path, money). All counts are >= 0 with no NaN; lengths must match.

Rule-based models (:func:`heuristic_credits`), each splitting a path's conversions (and value)
over its touches, a channel touched twice earning twice:

- ``first_touch`` / ``last_touch``: everything to the first / last touch;
- ``linear``: ``1 / L`` to each of the ``L`` touches;
- ``time_decay``: weight ``2 ** (-m / half_life)`` for the touch ``m`` steps before the last one
  (steps counted in touches, as aggregated paths carry no timestamps), normalised per path;
- ``position_based`` (U-shaped): ``position_weights = (first, middle, last)``, by default 40 % to
  the first touch, 40 % to the last, 20 % spread evenly over the touches in between; one touch
  takes 100 %, two touches split first : last (50/50 by default).

Data-driven models: :class:`~helpers.channels.markov.MarkovAttribution` (removal effects of a
Markov chain) and :class:`~helpers.channels.shapley.ShapleyAttribution` (Shapley values over
channel sets). :func:`attribution_table` puts all of them side by side and
:func:`attribution_sentence` says in words what the data-driven models change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.channels.markov import MarkovAttribution, check_amounts, encode_paths, split_paths
from helpers.channels.shapley import ShapleyAttribution

__all__ = [
    "DATA_DRIVEN_MODELS",
    "HEURISTIC_MODELS",
    "MarkovAttribution",
    "ShapleyAttribution",
    "attribution_sentence",
    "attribution_table",
    "heuristic_credits",
    "split_paths",
]

HEURISTIC_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
DATA_DRIVEN_MODELS = ("markov", "shapley")


def _touch_weights(lengths: np.ndarray, position: np.ndarray, half_life: float, position_weights) -> dict:
    """Per touch the share of its path's conversions under each rule (shares sum to 1 per path)."""
    L = np.repeat(lengths, lengths).astype(float)
    first = position == 0
    last = position == L - 1
    before_last = L - 1 - position
    decay = np.exp2(-before_last / half_life)
    path = np.repeat(np.arange(lengths.size), lengths)
    decay = decay / np.bincount(path, weights=decay, minlength=lengths.size)[path]
    a, b, c = position_weights
    pos = np.where(first, a, np.where(last, c, b / np.maximum(L - 2, 1)))
    pos = np.where(L == 1, 1.0, pos)
    pos = np.where(L == 2, np.where(first, a, c) / (a + c), pos)
    return {
        "first_touch": first.astype(float),
        "last_touch": last.astype(float),
        "linear": 1.0 / L,
        "time_decay": decay,
        "position_based": pos,
    }


def heuristic_credits(
    paths,
    conversions,
    value=None,
    sep: str = ">",
    half_life: float = 2.0,
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
) -> pd.DataFrame:
    """Conversions credited to each channel under the rule-based models (see the module doc).

    Returns one row per channel (index ``channel``, sorted by name), one column per model of
    :data:`HEURISTIC_MODELS` and, when ``value`` is given, ``<model>_value`` columns (money
    credited). Each column sums to the total conversions (value). ``half_life`` in touches (> 0);
    ``position_weights`` (first, middle, last) >= 0 summing to 1.
    """
    if not (isinstance(half_life, int | float) and np.isfinite(half_life) and half_life > 0):
        raise ValueError(f"half_life must be a number of touches > 0, not {half_life!r}.")
    pw = np.asarray(position_weights, dtype=float)
    if pw.shape != (3,) or (pw < 0).any() or not np.isclose(pw.sum(), 1.0) or pw[0] + pw[2] <= 0:
        raise ValueError(
            f"position_weights must be three shares (first, middle, last) >= 0 summing to 1, not {position_weights!r}."
        )
    enc = encode_paths(paths, sep)
    conv = check_amounts("conversions", conversions, enc.n_paths)
    val = check_amounts("value", value, enc.n_paths) if value is not None else None
    weights = _touch_weights(enc.lengths, enc.position(), float(half_life), tuple(pw))
    K = len(enc.channels)
    conv_t = np.repeat(conv, enc.lengths)
    out = {m: np.bincount(enc.codes, weights=weights[m] * conv_t, minlength=K) for m in HEURISTIC_MODELS}
    if val is not None:
        val_t = np.repeat(val, enc.lengths)
        for m in HEURISTIC_MODELS:
            out[f"{m}_value"] = np.bincount(enc.codes, weights=weights[m] * val_t, minlength=K)
    return pd.DataFrame(out, index=pd.Index(enc.channels, name="channel"))


def attribution_table(paths, conversions, nulls=None, value=None, sep: str = ">", order: int = 1) -> pd.DataFrame:
    """Conversions credited to each channel by every model, side by side: one row per channel
    (index ``channel``, sorted by name), columns ``first_touch, last_touch, linear, time_decay,
    position_based, markov, shapley``; with a ``value``, the money credited follows in
    ``<model>_value`` columns. Markov of order ``order``; Shapley with its default value function
    (the conversion rate when ``nulls`` are given, else conversions). Each column sums to the total
    conversions (value); ``table.attrs["notes"]`` holds the models' notes."""
    enc = encode_paths(paths, sep)
    heur = heuristic_credits(enc, conversions, value=value, sep=sep)
    markov = MarkovAttribution(order=order, sep=sep).fit(enc, conversions, nulls, value=value)
    shapley = ShapleyAttribution(sep=sep).fit(enc, conversions, nulls, value=value)
    table = heur[list(HEURISTIC_MODELS)].copy()
    table["markov"] = markov.credits_.reindex(table.index).to_numpy()
    table["shapley"] = shapley.credits_.reindex(table.index).to_numpy()
    if value is not None:
        for m in HEURISTIC_MODELS:
            table[f"{m}_value"] = heur[f"{m}_value"]
        table["markov_value"] = markov.value_credits_.reindex(table.index).to_numpy()
        table["shapley_value"] = shapley.value_credits_.reindex(table.index).to_numpy()
    table.attrs["notes"] = [f"Markov: {n}" for n in markov.notes_] + [f"Shapley: {n}" for n in shapley.notes_]
    table.attrs["shapley_value_function"] = shapley.value_function_
    return table


def _pct(x: float) -> str:
    return f"{100 * x:+.0f} %" if np.isfinite(x) else "from nothing"


def attribution_sentence(table: pd.DataFrame) -> str:
    """Which channel gains most and which loses most under the data-driven models (the mean of the
    ``markov`` and ``shapley`` columns present) against last touch, in conversions and %, and why,
    judged from the table: a channel that opens more journeys than it closes (``first_touch`` >
    ``last_touch``) gains because last touch ignores the journeys it starts; one that closes more
    than it opens loses the credit last touch gave it for finishing journeys others started."""
    models = [m for m in DATA_DRIVEN_MODELS if m in table.columns]
    missing = [c for c in ("last_touch", *(() if models else ("markov",))) if c not in table.columns]
    if missing:
        raise ValueError(f"table needs the columns {missing} (columns: {list(table.columns)}).")
    if len(table) < 2:
        return "With a single channel every model gives it all the conversions."
    driven = table[models].mean(axis=1)
    last = table["last_touch"]
    diff = driven - last
    label = " and ".join({"markov": "Markov", "shapley": "Shapley"}[m] for m in models)
    if np.allclose(diff.to_numpy(), 0.0, atol=1e-9 * max(1.0, float(last.abs().sum()))):
        return f"The data-driven models ({label}) credit every channel as last touch does."
    order = diff.sort_values(kind="stable")
    gainer, loser = order.index[-1], order.index[0]
    names = {"markov": "Markov", "shapley": "Shapley"}
    parts = []
    for ch, verb in ((gainer, "gains"), (loser, "loses")):
        d = float(diff[ch])
        if (verb == "gains" and d <= 0) or (verb == "loses" and d >= 0):
            continue
        rel = d / last[ch] if last[ch] > 0 else np.inf
        each = {m: float(table.loc[ch, m] - last[ch]) for m in models}
        per_model = ", ".join(f"{names[m]} {x:+,.1f}" for m, x in each.items())
        against = [names[m] for m, x in each.items() if (x < 0 if verb == "gains" else x > 0)]
        caveat = (
            f"; {' and '.join(against)} alone would give it {'less' if verb == 'gains' else 'more'}" if against else ""
        )
        parts.append(
            f"{ch} {verb} most under the data-driven models: {d:+,.1f} conversions ({_pct(rel)}) against "
            f"last touch's {last[ch]:,.1f}{' on average' if len(models) > 1 else ''} ({per_model}{caveat}); "
            f"{_why(table, ch, verb)}."
        )
    return " ".join(parts)


def _why(table: pd.DataFrame, ch, verb: str) -> str:
    """The reason, from the channel's first-touch and last-touch credits (and linear, if present)."""
    first = float(table.loc[ch, "first_touch"]) if "first_touch" in table.columns else np.nan
    last = float(table.loc[ch, "last_touch"])
    linear = float(table.loc[ch, "linear"]) if "linear" in table.columns else np.nan
    tot_first = float(table["first_touch"].sum()) if "first_touch" in table.columns else np.nan
    tot_last = float(table["last_touch"].sum())
    s_first = first / tot_first if tot_first > 0 else np.nan
    s_last = last / tot_last if tot_last > 0 else 0.0
    shares = f"it opens {100 * s_first:.0f} % of converting journeys and closes {100 * s_last:.0f} %"
    if verb == "gains":
        if np.isfinite(s_first) and s_first > 1.1 * s_last:
            return (
                f"{ch} opens journeys that other channels close ({shares}): last touch gives it little, "
                "the data-driven models credit the journeys it starts"
            )
        if np.isfinite(linear) and linear > 1.1 * last:
            return (
                f"{ch} assists in the middle of journeys ({shares}, and has {linear:,.1f} conversions "
                "under linear): last touch ignores those touches"
            )
        return f"{ch} is on journeys that convert more often than its last touches alone show ({shares})"
    if np.isfinite(s_first) and s_last > 1.1 * s_first:
        return (
            f"{ch} closes journeys that other channels opened ({shares}): last touch gives it the whole "
            "conversion, the data-driven models share it with the channels before"
        )
    return (
        f"{ch} shares its journeys with channels the data-driven models credit more ({shares}): "
        "its presence adds less to the chance of converting than last touch suggests"
    )
