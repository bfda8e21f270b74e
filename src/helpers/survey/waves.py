"""Trends across survey waves: one score per wave, each change tested against the wave before.

- :func:`wave_trend`: NPS, a top-box share or a mean per wave with its interval, bases, and the
  change from the previous (and from the first) wave with its p-value;
- :func:`wave_sentence`: the latest change (and, with 3+ waves, first to last) in plain words.

Waves are independent samples: a change is tested with :func:`helpers.survey.scores.difference`
(z-test on the two standard errors, which use the effective bases). A wave whose effective base
is below ``min_base`` is a small base: shown, flagged, and its changes are not tested. Units are
those of :mod:`helpers.survey.scores`: NPS in points, top-box shares 0..1, means in the answers'
units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from helpers.reporting.text import esc
from helpers.survey.scores import difference, mean_ci, nps, top_box
from helpers.survey.significance import row_weights

__all__ = ["TREND_COLUMNS", "wave_sentence", "wave_trend"]

#: The columns of :func:`wave_trend`'s table, in order.
TREND_COLUMNS = [
    "wave",
    "value",
    "low",
    "high",
    "n",
    "n_eff",
    "change",
    "change_p",
    "significant",
    "se",
    "small_base",
    "change_from_first",
    "change_from_first_p",
]

_ESTIMATORS = {"nps": nps, "top_box": top_box, "mean": mean_ci}
_DECIMALS = {"nps": 0, "top_box": 0, "mean": 2}


def wave_trend(
    frame: pd.DataFrame,
    value_col: str,
    wave_col: str,
    kind: str,
    *,
    weights=None,
    order: Sequence | None = None,
    alpha: float = 0.05,
    min_base: float = 30,
    **kw,
) -> pd.DataFrame:
    """``kind`` (``"nps"``, ``"top_box"`` or ``"mean"``) of ``frame[value_col]`` in each wave of
    ``frame[wave_col]``.

    ``kw`` goes to the estimator (:func:`~helpers.survey.scores.nps` ``method``,
    :func:`~helpers.survey.scores.top_box` ``scale_max`` and ``boxes``); intervals are at
    1 - ``alpha``. ``weights``: None, a column name or a sequence aligned with the rows (see
    :func:`helpers.survey.significance.row_weights`). Rows missing the value or the wave, or with
    weight 0, are left out.

    One row per wave, in ``order`` (default: the waves sorted; waves not in ``order`` are left
    out; a wave in ``order`` without answers is an error), columns :data:`TREND_COLUMNS`:
    ``wave, value, low, high, n, n_eff``; ``change`` = value - previous wave's value and
    ``change_p`` its two-sided p-value (NaN for the first wave, and untested when either wave is a
    small base); ``significant`` = change_p < ``alpha``; then ``se``, ``small_base``,
    ``change_from_first`` and ``change_from_first_p`` (against the first wave). ``attrs`` keeps
    ``kind``, ``alpha`` and ``min_base`` for :func:`wave_sentence`.
    """
    for c in (value_col, wave_col):
        if c not in frame.columns:
            raise ValueError(f"column {c!r} is not in the frame")
    if kind not in _ESTIMATORS:
        raise ValueError(f"kind must be 'nps', 'top_box' or 'mean', not {kind!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    if "confidence" in kw:
        raise ValueError("give alpha, not confidence: intervals are at 1 - alpha")
    if kind == "top_box" and "scale_max" not in kw:
        raise ValueError("kind 'top_box' needs scale_max (e.g. scale_max=5)")
    w_all = row_weights(frame, weights)
    keep = (frame[value_col].notna() & frame[wave_col].notna()).to_numpy() & (w_all > 0)
    values, waves, w = frame[value_col].to_numpy()[keep], frame[wave_col].to_numpy()[keep], w_all[keep]
    present = list(pd.unique(waves))
    if not present:
        raise ValueError(f"no respondent has both {value_col!r} and {wave_col!r}")
    if order is None:
        try:
            order = sorted(present)
        except TypeError:
            order = sorted(present, key=str)
    else:
        order = list(order)
        if len(set(order)) != len(order):
            raise ValueError(f"order lists a wave twice: {order!r}")
        missing = [o for o in order if o not in set(present)]
        if missing:
            raise ValueError(f"no answers in {value_col!r} for wave(s) {', '.join(map(repr, missing))} of {wave_col!r}")

    confidence = 1 - alpha
    estimate = _ESTIMATORS[kind]
    rows, estimates = [], []
    for wave in order:
        mask = waves == wave
        est = estimate(values[mask], weights=w[mask], confidence=confidence, **kw)
        small = bool(est.n_eff < min_base)
        row = {"wave": wave, "value": est.value, "low": est.low, "high": est.high, "n": est.n, "n_eff": est.n_eff}
        row.update(se=est.se, small_base=small)
        if estimates:
            row.update(_change(est, estimates[-1], small or rows[-1]["small_base"], confidence, "change"))
            row.update(_change(est, estimates[0], small or rows[0]["small_base"], confidence, "change_from_first"))
        else:
            row.update(change=math.nan, change_p=math.nan, change_from_first=math.nan, change_from_first_p=math.nan)
        row["significant"] = bool(row["change_p"] < alpha)
        rows.append(row)
        estimates.append(est)
    trend = pd.DataFrame(rows, columns=TREND_COLUMNS)
    trend.attrs.update(kind=kind, alpha=alpha, min_base=min_base)
    return trend


def _change(est, base, untested: bool, confidence: float, name: str) -> dict:
    if untested:
        return {name: est.value - base.value, f"{name}_p": math.nan}
    d = difference(est, base, confidence)
    return {name: d.estimate, f"{name}_p": d.p_value}


def wave_sentence(trend: pd.DataFrame, label: str, unit: str, *, decimals: int | None = None) -> str:
    """The trend in words (Markdown; ``label``, ``unit`` and wave names escaped): the change
    between the last two waves and whether it is significant, and with 3+ waves also first to
    last, e.g. "NPS rose from 12 to 21 points between 2025-Q1 and 2025-Q2, a significant change
    (p = 0.003)." or "... a change within the margin of error (p = 0.41).".

    ``trend`` is a :func:`wave_trend` table. Top-box shares are shown as percentages (give
    ``unit="%"``); ``decimals`` defaults to 0 for NPS and top-box, 2 for means."""
    if trend.empty:
        raise ValueError("the trend has no waves")
    kind = trend.attrs.get("kind")
    alpha = float(trend.attrs.get("alpha", 0.05))
    min_base = trend.attrs.get("min_base", 30)
    digits = decimals if decimals is not None else _DECIMALS.get(kind, 2)
    scale = 100.0 if kind == "top_box" else 1.0
    name, unit_text = esc(label), esc(unit)

    def number(v: float) -> str:
        text = f"{v * scale:,.{digits}f}"
        return "0" if float(text.replace(",", "")) == 0 else text  # no "-0"

    first, last = trend.iloc[0], trend.iloc[-1]
    if len(trend) == 1:
        return f"{name} is {number(last['value'])} {unit_text} in {esc(last['wave'])} (a single wave, so no trend)."
    prev = trend.iloc[-2]

    def clause(a, b, change: float, p: float) -> str:
        move = _movement(number(a["value"]), number(b["value"]), change, unit_text)
        if a["small_base"] or b["small_base"]:
            test = f"not tested (an effective base below {min_base:g})"
        elif math.isnan(p):
            test = "which could not be tested"
        elif p < alpha:
            test = f"a significant change ({_p_text(p)})"
        else:
            test = f"a change within the margin of error ({_p_text(p)})"
        return f"{move} between {esc(a['wave'])} and {esc(b['wave'])}, {test}"

    text = f"{name} {clause(prev, last, last['change'], last['change_p'])}."
    if len(trend) >= 3:
        text += (
            f" Over the {len(trend)} waves it "
            f"{clause(first, last, last['change_from_first'], last['change_from_first_p'])}."
        )
    return text


def _movement(a: str, b: str, change: float, unit: str) -> str:
    if a == b:
        return f"stayed at {b} {unit}"
    return f"{'rose' if change > 0 else 'fell'} from {a} to {b} {unit}"


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
