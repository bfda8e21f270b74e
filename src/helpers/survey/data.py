"""Cleaning a survey export, each step counted and nothing dropped without a reason.

Answers outside their scale are set aside earlier, by the ``responses`` contract
(:func:`helpers.contracts.load`). :func:`clean_responses` then applies, in this order:

1. **Missing codes**: declared codes (e.g. ``-99``, "don't know") become missing answers; the
   replacements are counted per column. No respondent is removed by this step.
2. **No answers**: respondents left without any answer once the codes are missing are set aside.
3. **Duplicate respondents**: a respondent id seen before; the first answer is kept and the
   later ones are set aside (skipped without an id column, and said so).
4. **Speeders**: completion time under ``speeder_ratio`` times the median completion time of the
   respondents still in (e.g. 0.33: a third of the median).
5. **Straight-liners**: the same answer to every item of every grid of at least
   ``straightline_min_items`` items, all answered (one value across all those grids): a
   respondent who did not read the questions. One short grid answered alike is often honest
   (everything "very important"), so a single grid does not decide unless it is the only one.

Every set-aside row is kept in ``set_aside`` with its ``reason``; ``steps`` counts them, and
``respondents_in == kept + set aside`` always holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.reporting.text import esc


@dataclass
class CleanResult:
    """The kept responses, the set-aside rows with their reasons, and the count of each step."""

    responses: pd.DataFrame
    set_aside: pd.DataFrame
    missing_codes_replaced: pd.Series  # per answer column
    steps: pd.DataFrame  # step, rule, set_aside, respondents_after
    respondents_in: int
    notes: list[str]

    @property
    def respondents(self) -> int:
        return len(self.responses)

    def describe(self) -> str:
        """One paragraph: what each step did, with counts (Markdown, data text escaped)."""
        parts = [f"{self.respondents_in:,} respondents passed the data contract."]
        codes = int(self.missing_codes_replaced.sum())
        if codes:
            top = self.missing_codes_replaced.sort_values(ascending=False)
            top = top[top > 0].head(3)
            where = ", ".join(f"{esc(c)} {n:,}" for c, n in top.items())
            parts.append(f"{codes:,} answers given as a missing code became missing answers (most in {where}).")
        removed = self.steps[self.steps["set_aside"] > 0]
        if removed.empty:
            parts.append("No respondent was set aside by the cleaning steps.")
        else:
            listed = "; ".join(f"{r.step}: {r.set_aside:,}" for r in removed.itertuples())
            parts.append(f"Set aside: {listed}; {self.respondents:,} respondents remain.")
        parts += self.notes
        return " ".join(parts)


def clean_responses(
    frame: pd.DataFrame,
    *,
    answer_cols: Sequence[str],
    id_col: str | None = None,
    missing_codes: Sequence[float] | None = None,
    duration_col: str | None = None,
    speeder_ratio: float | None = None,
    grids: Mapping[str, Sequence[str]] | None = None,
    straightline_min_items: int = 5,
) -> CleanResult:
    """Apply the steps of the module doc to ``frame`` (one row per respondent).

    ``answer_cols``: the answer columns (codes are replaced there; "no answers" looks there);
    ``grids``: item blocks checked for straight-lining (block -> columns)."""
    missing = [c for c in (*answer_cols, *(c for c in [id_col, duration_col] if c)) if c not in frame.columns]
    if missing:
        raise ValueError(f"the responses have no column {', '.join(map(repr, missing))}")
    if speeder_ratio is not None and not 0 < speeder_ratio < 1:
        raise ValueError(f"speeder_ratio must lie between 0 and 1 (a share of the median time), not {speeder_ratio!r}")
    data = frame.reset_index(drop=True).copy()
    answers = list(answer_cols)
    notes: list[str] = []
    replaced = pd.Series(0, index=answers, dtype="int64")
    if missing_codes:
        codes = [float(c) for c in missing_codes]
        for col in answers:
            values = pd.to_numeric(data[col], errors="coerce")
            hit = values.isin(codes)
            replaced[col] = int(hit.sum())
            data[col] = values.mask(hit)
    reasons = pd.Series("", index=data.index, dtype=object)
    steps = []

    def step(name: str, rule: str, flagged: pd.Series, reason: pd.Series | str) -> None:
        new = flagged & (reasons == "")
        reasons[new] = reason[new] if isinstance(reason, pd.Series) else reason
        steps.append(
            {"step": name, "rule": rule, "set_aside": int(new.sum()), "respondents_after": int((reasons == "").sum())}
        )

    step(
        "no answers",
        "every answer missing once the missing codes are removed",
        data[answers].isna().all(axis=1),
        "no answers (only missing codes)",
    )
    if id_col:
        ids = data[id_col].where(reasons == "")
        dup = ids.notna() & ids.duplicated(keep="first")
        step(
            "duplicate respondents", f"{id_col} seen before (the first answer is kept)", dup, "duplicate respondent id"
        )
    else:
        notes.append("Duplicate respondents were not checked: no respondent id column was given.")
    if speeder_ratio is not None and duration_col:
        seconds = pd.to_numeric(data[duration_col], errors="coerce")
        median = float(seconds[reasons == ""].median())
        limit = speeder_ratio * median
        fast = seconds < limit
        step(
            "speeders",
            f"{duration_col} under {speeder_ratio:g} x the median ({median:,.0f}), i.e. under {limit:,.0f}",
            fast,
            "speeder: " + seconds.round(0).astype("Int64").astype(str) + f" against a median of {median:,.0f}",
        )
        if seconds.isna().any():
            notes.append(
                f"{int(seconds.isna().sum()):,} respondents have no completion time and were not checked for speed."
            )
    elif speeder_ratio is not None:
        notes.append("Speeders were not checked: no duration column was given.")
    long_grids = {b: list(c) for b, c in (grids or {}).items() if len(c) >= straightline_min_items}
    if long_grids:
        cols = list(dict.fromkeys(c for cs in long_grids.values() for c in cs))
        block_answers = data[cols]
        # one answer everywhere: every item answered and equal to the first (column by column,
        # vectorised; a row-wise nunique loops over respondents in Python)
        first = block_answers.iloc[:, 0]
        flat = block_answers.notna().all(axis=1) & block_answers.eq(first, axis=0).all(axis=1)
        names = ", ".join(long_grids)
        step(
            "straight-liners",
            f"the same answer to all {len(cols)} items of the grids of {straightline_min_items}+ items ({names})",
            flat,
            f"straight-liner: the same answer to all {len(cols)} items of {names}",
        )
    kept = data[reasons == ""].reset_index(drop=True)
    aside = data[reasons != ""].assign(reason=reasons[reasons != ""]).reset_index(drop=True)
    return CleanResult(kept, aside, replaced, pd.DataFrame(steps), len(data), notes)


def infer_scale(frame: pd.DataFrame, cols: Sequence[str]) -> tuple[int, int]:
    """The answer scale when none is given: the smallest and largest whole answer observed."""
    values = frame[list(cols)].to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError(f"no answers in {', '.join(cols)} to infer the scale from")
    return int(np.floor(values.min())), int(np.ceil(values.max()))
