"""Funnel analysis: how many leads reach each stage, how fast, and whether groups convert alike.

Input (the ``funnel`` kind): one row per lead per stage reached, with the lead id, the stage and
the day the lead entered it, plus a grouping column (``channel`` by default; any other column,
e.g. ``segment``, or ``None`` for no groups). ``FunnelAnalysis(...).fit(events)``.

Conventions:

- *Stage order*: given, or inferred (the stage more leads reach comes first; ties by the
  earlier median entry date, then by name); ``notes_`` states it.
- *Reached*: a lead reached a stage when it has a row for it. A lead reaching a later stage
  without an earlier one is counted (``anomalies_``) and kept as reaching the stages it has
  rows for; the skipped stages are not filled in. So conversion from the previous stage is the
  share of the leads that reached the previous stage that also reached this one, and
  conversion from the first stage the share of the first stage's leads that reached this one.
- *Days in stage*: days from entering a stage to entering the next, among the leads that
  reached both; a step whose date goes backwards is counted and left out of the days.
- *Duplicates*: several rows for one lead and stage keep the earliest date (counted).
- *Group of a lead*: the group value of its earliest stage that has one (conflicts counted);
  leads without any show as group ``"(missing)"`` and are left out of the group tests.
- *Group tests*, per transition: Pearson's chi-square (no continuity correction) on moved on /
  did not x group among the leads that reached the first stage of the transition, Holm-adjusted
  over the transitions, Cramér's V = sqrt(chi2 / n) (two rows); Kruskal-Wallis on days in stage
  between groups (not adjusted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reporting.text import esc

__all__ = ["MISSING_GROUP", "FunnelAnalysis", "holm"]

MISSING_GROUP = "(missing)"
_MIN_EXPECTED = 5.0


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
        out[order] = np.minimum(adj, 1.0)
    return out


def _rows(mask: np.ndarray, index: pd.Index, limit: int = 5) -> str:
    """The first offending row labels, e.g. ``rows [3, 7] (2 in all)``."""
    where = index[np.asarray(mask)]
    shown = ", ".join(map(repr, where[:limit].tolist()))
    more = f", ... ({len(where):,} in all)" if len(where) > limit else ""
    return f"rows [{shown}{more}]"


def _validated(events, cols: dict[str, str | None], stages) -> dict:
    """Per row: ``lead`` and ``stage`` codes (with ``lead_ids`` and ``stage_names``), ``day``
    (float days since 1970) and ``group`` codes (-1 = missing; ``group_names``); ValueError on bad input."""
    if not isinstance(events, pd.DataFrame):
        raise ValueError(f"events must be a pandas DataFrame (one row per lead per stage), got {type(events).__name__}")
    wanted = {k: v for k, v in cols.items() if v is not None}
    missing = [v for v in wanted.values() if v not in events.columns]
    if missing:
        hint = " (pass group_col=None for no groups)" if cols["group"] in missing else ""
        raise ValueError(
            f"Column(s) {', '.join(map(repr, missing))} missing from events{hint}; columns present: "
            f"{', '.join(map(str, events.columns))}."
        )
    if events.empty:
        raise ValueError("events has no rows: a funnel needs one row per lead per stage reached.")
    idx = events.index
    for key in ("lead", "stage", "date"):
        na = events[cols[key]].isna().to_numpy()
        if na.any():
            raise ValueError(
                f"Column {cols[key]!r} has {int(na.sum()):,} missing values ({_rows(na, idx)}): every row needs "
                f"a lead, a stage and the day the lead entered it."
            )
    raw = events[cols["date"]]
    date = pd.to_datetime(raw, errors="coerce") if not pd.api.types.is_datetime64_any_dtype(raw) else raw
    bad = date.isna().to_numpy()
    if bad.any():
        vals = raw[bad].astype(str).unique()[:3].tolist()
        raise ValueError(f"Column {cols['date']!r} has values that are not dates ({_rows(bad, idx)}), e.g. {vals}.")
    if getattr(date.dt, "tz", None) is not None:
        date = date.dt.tz_localize(None)  # the local calendar day counts
    out = {"day": date.to_numpy().astype("datetime64[s]").astype(np.int64) / 86_400.0}
    out["lead"], out["lead_ids"] = pd.factorize(events[cols["lead"]].astype(str), sort=True)
    out["stage"], names = pd.factorize(events[cols["stage"]].astype(str))
    out["stage_names"] = [str(v) for v in names]
    if stages is not None:
        order = [str(s) for s in stages]
        if len(order) < 2 or len(set(order)) != len(order):
            raise ValueError(f"stages must list at least 2 distinct stage names, got {order}")
        unknown_names = [n for n in out["stage_names"] if n not in order]
        if unknown_names:
            codes = [out["stage_names"].index(n) for n in unknown_names]
            rows = np.isin(out["stage"], codes)
            raise ValueError(
                f"Column {cols['stage']!r} has stages not in stages={order}: {sorted(unknown_names)[:5]} "
                f"({_rows(rows, idx)})."
            )
    if cols["group"] is not None:
        g = events[cols["group"]]
        codes, names = pd.factorize(g.where(g.isna(), g.astype(str)), use_na_sentinel=True)
        out["group"], out["group_names"] = codes.astype(np.int64), [str(v) for v in names]
    return out


def _entry_days(lead: np.ndarray, stage: np.ndarray, day: np.ndarray, n_leads: int, n_stages: int):
    """The leads x stages matrix of the earliest day each lead entered each stage (NaN: not
    reached) and of the rows behind each cell (more than 1: duplicates). One pass over the rows
    (``np.minimum.at`` and a bincount), no sort: linear in the number of events."""
    cell = lead * n_stages + stage
    rows = np.bincount(cell, minlength=n_leads * n_stages).reshape(n_leads, n_stages)
    first = np.full(n_leads * n_stages, np.inf)
    np.minimum.at(first, cell, day)
    first = first.reshape(n_leads, n_stages)
    first[rows == 0] = np.nan
    return first, rows


def _infer_order(first: np.ndarray, names: list[str]) -> list[str]:
    """Stages by leads reaching them (descending), then median entry day, then name; ``first``:
    the leads x stages matrix of :func:`_entry_days` (columns in the order of ``names``)."""
    reached = ~np.isnan(first)
    keys = [(-int(reached[:, k].sum()), float(np.median(first[reached[:, k], k])), n) for k, n in enumerate(names)]
    return [k[2] for k in sorted(keys)]


def _stage_table(D: np.ndarray, stages: list[str]) -> pd.DataFrame:
    """Per stage: leads, moved_on, conversions, drop-off and days in stage of the leads in ``D``
    (leads x stages, entry day or NaN when not reached)."""
    R = ~np.isnan(D)
    S = len(stages)
    leads = R.sum(axis=0)
    moved = np.array([(R[:, k] & R[:, k + 1]).sum() for k in range(S - 1)] + [0])
    with np.errstate(invalid="ignore", divide="ignore"):
        prev = np.r_[np.nan, moved[:-1] / np.where(leads[:-1] > 0, leads[:-1], np.nan)]
        first = (R[:, [0]] & R).sum(axis=0) / (leads[0] if leads[0] > 0 else np.nan)
    med, mean = np.full(S, np.nan), np.full(S, np.nan)
    for k in range(S - 1):
        d = D[:, k + 1] - D[:, k]
        d = d[np.isfinite(d) & (d >= 0)]
        if d.size:
            med[k], mean[k] = np.median(d), d.mean()
    drop = pd.array(list(leads[:-1] - moved[:-1]) + [None], dtype="Int64")
    return pd.DataFrame(
        {
            "stage": stages,
            "leads": leads.astype(np.int64),
            "moved_on": pd.array(list(moved[:-1]) + [None], dtype="Int64"),
            "conversion_from_previous": prev,
            "conversion_from_first": first,
            "drop_off": drop,
            "median_days_in_stage": med,
            "mean_days_in_stage": mean,
        }
    )


class FunnelAnalysis:
    """Stage counts, conversion, drop-off and days in stage, overall and per group, with tests.

    Parameters: ``stages`` (the stage order; ``None`` infers it), ``group_col`` (the column
    whose groups are compared; ``None`` for none), ``alpha`` (significance level of the
    Holm-adjusted group tests). See the module docstring for the conventions.

    After :meth:`fit`: ``stages_``, ``overall_`` (per stage: ``stage, leads, moved_on,
    conversion_from_previous, conversion_from_first, drop_off, median_days_in_stage,
    mean_days_in_stage``; conversions are shares 0-1, days are calendar days), ``by_group_``
    (``group`` + the same columns), ``tests_`` (per transition: ``from_stage, to_stage, leads,
    groups, chi2, dof, p_value, p_adjusted, significant, cramers_v, min_expected, best_group,
    best_conversion, worst_group, worst_conversion, days_h, days_p_value``), ``anomalies_``
    (``anomaly, count, unit, handling, examples``), ``n_leads_``, ``notes_``.
    """

    def __init__(self, stages: Sequence[str] | None = None, group_col: str | None = "channel", alpha: float = 0.05):
        self.stages = stages
        self.group_col = group_col
        self.alpha = alpha

    # ------------------------------------------------------------------------------------------
    def fit(
        self, events: pd.DataFrame, lead_col: str = "lead_id", stage_col: str = "stage", date_col: str = "date"
    ) -> FunnelAnalysis:
        """Count, measure and test the funnel of ``events`` (one row per lead per stage reached)."""
        if not (isinstance(self.alpha, float | int) and 0 < self.alpha < 1):
            raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {self.alpha!r}")
        cols = {"lead": lead_col, "stage": stage_col, "date": date_col, "group": self.group_col}
        ev = _validated(events, cols, self.stages)
        notes: list[str] = []
        lead_code, lead_ids = ev["lead"], ev["lead_ids"]
        L = len(lead_ids)
        first, rows_per_cell = _entry_days(lead_code, ev["stage"], ev["day"], L, len(ev["stage_names"]))
        if self.stages is None:
            order = _infer_order(first, ev["stage_names"])
            if len(order) < 2:
                raise ValueError(f"Column {stage_col!r} has a single stage ({order[0]!r}): a funnel needs two or more.")
            notes.append(
                "Stage order inferred from the data (the stage more leads reach first, ties by earlier median "
                f"entry date): {', '.join(order)}."
            )
        else:
            order = [str(x) for x in self.stages]
            notes.append(f"Stage order as given: {', '.join(order)}.")
        S = len(order)
        position = np.array([order.index(n) for n in ev["stage_names"]], dtype=np.int64)
        stage_code = position[ev["stage"]]
        D = np.full((L, S), np.nan)
        D[:, position] = first
        n_dup = int((rows_per_cell - 1).clip(min=0).sum())
        dup_leads = np.flatnonzero((rows_per_cell > 1).any(axis=1))
        R = ~np.isnan(D)

        # anomalies: skipped stages, backwards dates, duplicates, groups
        skipped = (R & ~np.minimum.accumulate(R, axis=1)).any(axis=1)
        last_day = np.full(L, np.nan)
        backwards = np.zeros(L, dtype=np.int64)
        back_adjacent = 0
        for k in range(S):
            here = R[:, k]
            back = here & (D[:, k] < last_day)
            backwards += back
            if k:
                back_adjacent += int((back & R[:, k - 1]).sum())
            last_day = np.where(here, D[:, k], last_day)
        rows = [
            self._anomaly(
                "skipped_stage", skipped, lead_ids, "leads",
                "kept: counted as reaching the stages they have rows for; the skipped stages are not filled in",
            ),
            dict(
                anomaly="duplicate_rows", count=n_dup, unit="rows",
                handling="one row kept per lead and stage, the earliest date",
                examples=", ".join(map(str, lead_ids[dup_leads[:3]])),
            ),
            self._anomaly(
                "dates_backwards", backwards > 0, lead_ids, "leads",
                "kept as reached; a step back in time is left out of the days in stage",
            ),
        ]  # fmt: skip
        if rows[0]["count"]:
            notes.append(
                f"{rows[0]['count']:,} leads reached a later stage without an earlier one (e.g. {rows[0]['examples']}): "
                "they count as reaching the stages they have rows for (the skipped stages are not filled in), so "
                "conversions are shares of the leads that reached the previous stage."
            )
        if n_dup:
            notes.append(f"{n_dup:,} duplicate lead-stage rows: the earliest date of each lead and stage is kept.")
        if rows[2]["count"]:
            notes.append(
                f"{rows[2]['count']:,} leads have a stage dated before their previous stage (e.g. "
                f"{rows[2]['examples']}); they stay counted as reaching it, and the {back_adjacent:,} such steps "
                "between adjacent stages are left out of the days in stage."
            )
        groups, names = None, []
        if self.group_col is not None:
            groups, group_rows = self._lead_groups(ev, lead_code, stage_code, L, lead_ids)
            rows += group_rows
            for r in group_rows:
                if r["count"]:
                    notes.append(f"{r['count']:,} leads: {r['anomaly'].replace('_', ' ')} ({r['handling']}).")
            names = ev["group_names"]
        self.anomalies_ = pd.DataFrame(rows, columns=["anomaly", "count", "unit", "handling", "examples"])

        self.stages_ = list(order)
        self.n_leads_ = L
        self.overall_ = _stage_table(D, self.stages_)
        self._D = D
        if groups is None:
            self.by_group_ = pd.DataFrame(columns=["group", *self.overall_.columns])
            self.tests_ = pd.DataFrame(columns=_TEST_COLUMNS)
        else:
            size = np.bincount(groups + 1, minlength=len(names) + 1)  # slot 0: missing
            codes = sorted((c for c in range(-1, len(names)) if size[c + 1]), key=lambda c: (c < 0, -size[c + 1], c))
            label = {c: (names[c] if c >= 0 else MISSING_GROUP) for c in codes}
            parts = [_stage_table(D[groups == c], self.stages_).assign(group=label[c]) for c in codes]
            self.by_group_ = pd.concat(parts, ignore_index=True)[["group", *self.overall_.columns]]
            self.tests_ = self._tests(D, groups, [c for c in codes if c >= 0], label, notes)
        self.notes_ = notes
        return self

    @staticmethod
    def _anomaly(name: str, mask: np.ndarray, lead_ids, unit: str, handling: str) -> dict:
        return dict(
            anomaly=name,
            count=int(mask.sum()),
            unit=unit,
            handling=handling,
            examples=", ".join(map(str, lead_ids[np.flatnonzero(mask)[:3]])),
        )

    def _lead_groups(self, ev, lead_code, stage_code, L, lead_ids) -> tuple[np.ndarray, list[dict]]:
        """The group code of each lead (its earliest stage's value; -1 = none) and the group anomalies."""
        g = ev["group"]
        has = np.flatnonzero(g >= 0)
        groups = np.full(L, -1, dtype=np.int64)
        conflict = np.zeros(L, dtype=bool)
        if has.size:  # per lead the row with the lowest stage, then the earliest day, then the first row
            lead, gh, st, day = lead_code[has], g[has], stage_code[has], ev["day"][has]
            best = np.full(L, np.iinfo(np.int64).max)
            np.minimum.at(best, lead, st)
            at = st == best[lead]
            earliest = np.full(L, np.inf)
            np.minimum.at(earliest, lead[at], day[at])
            at &= day == earliest[lead]
            row = np.full(L, has.size)
            np.minimum.at(row, lead[at], np.flatnonzero(at))
            seen = row < has.size
            groups[seen] = gh[row[seen]]
            low, high = np.full(L, np.iinfo(np.int64).max), np.full(L, -1)
            np.minimum.at(low, lead, gh)
            np.maximum.at(high, lead, gh)
            conflict = seen & (high > low)
        none = groups < 0
        col = self.group_col
        return groups, [
            self._anomaly(
                "conflicting_group", conflict, lead_ids, "leads",
                f"the {col} value of the lead's earliest stage that has one is used",
            ),
            self._anomaly(
                "missing_group", none, lead_ids, "leads",
                f"shown as {col} {MISSING_GROUP!r}, left out of the group tests",
            ),
        ]  # fmt: skip

    def _tests(
        self, D: np.ndarray, groups: np.ndarray, codes: list[int], label: dict, notes: list[str]
    ) -> pd.DataFrame:
        R = ~np.isnan(D)
        G = max(codes, default=-1) + 1
        code_arr = np.array(codes, dtype=np.int64)
        out = []
        small = []
        for k in range(len(self.stages_) - 1):
            base = R[:, k] & (groups >= 0)
            moved = base & R[:, k + 1]
            n_base = np.bincount(groups[base], minlength=G)[code_arr]
            n_moved = np.bincount(groups[moved], minlength=G)[code_arr]
            present = n_base > 0
            tested = [label[c] for c, p in zip(codes, present) if p]
            table = np.vstack([n_moved[present], (n_base - n_moved)[present]])
            row = dict(from_stage=self.stages_[k], to_stage=self.stages_[k + 1], leads=int(n_base.sum()))
            row["groups"] = len(tested)
            chi2 = p = v = min_exp = np.nan
            dof = 0
            if len(tested) >= 2 and table.sum(axis=1).min() > 0:
                res = stats.chi2_contingency(table, correction=False)
                chi2, p, dof = float(res.statistic), float(res.pvalue), int(res.dof)
                v = float(np.sqrt(chi2 / table.sum()))
                min_exp = float(res.expected_freq.min())
                if min_exp < _MIN_EXPECTED:
                    small.append(f"{self.stages_[k]} -> {self.stages_[k + 1]}")
            row.update(chi2=chi2, dof=dof, p_value=p, cramers_v=v, min_expected=min_exp)
            if tested:
                rate = n_moved[present] / n_base[present]
                row.update(
                    best_group=tested[int(np.argmax(rate))],
                    best_conversion=float(rate.max()),
                    worst_group=tested[int(np.argmin(rate))],
                    worst_conversion=float(rate.min()),
                )
            d = D[:, k + 1] - D[:, k]
            ok = moved & (d >= 0)
            dg = d[ok]
            gg = groups[ok]
            o = np.argsort(gg, kind="stable")
            samples = np.split(dg[o], np.flatnonzero(np.diff(gg[o])) + 1) if dg.size else []
            samples = [s for s in samples if s.size]
            h = hp = np.nan
            if len(samples) >= 2 and np.ptp(np.concatenate(samples)) > 0:
                res = stats.kruskal(*samples)
                h, hp = float(res.statistic), float(res.pvalue)
            row.update(days_h=h, days_p_value=hp)
            out.append(row)
        tests = pd.DataFrame(out).reindex(columns=_TEST_COLUMNS)
        tests["p_adjusted"] = holm(tests["p_value"].to_numpy(dtype=float))
        tests["significant"] = (tests["p_adjusted"] < self.alpha).to_numpy()
        untested = tests.loc[tests["p_value"].isna(), ["from_stage", "to_stage"]]
        if len(untested):
            pairs = ", ".join(f"{a} -> {b}" for a, b in untested.itertuples(index=False))
            notes.append(
                f"Not tested (fewer than two {self.group_col} groups reached the stage, or every lead or none "
                f"moved on): {pairs}."
            )
        if small:
            notes.append(
                f"Some expected counts are below {_MIN_EXPECTED:g} at {', '.join(small)}: the chi-square p-value "
                "there is only approximate."
            )
        m = int(tests["p_value"].notna().sum())
        notes.append(
            f"Conversion compared between {self.group_col} groups with Pearson's chi-square (no continuity "
            f"correction), Holm-adjusted over {m} transition{'s' if m != 1 else ''} at alpha {self.alpha:g}; "
            "days in stage with Kruskal-Wallis (not adjusted)."
        )
        return tests

    # ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "overall_"):
            raise ValueError("FunnelAnalysis is not fitted: call fit(events) first.")

    def summary(self) -> pd.DataFrame:
        """``overall_`` indexed by stage, with the group test of the step to the next stage
        (``groups_p_adjusted``, ``best_group``, ``worst_group``); ``.attrs``: ``fit_line``, ``notes``."""
        self._check_fitted()
        table = self.overall_.set_index("stage")
        if len(self.tests_):
            t = self.tests_.set_index("from_stage")
            table["groups_p_adjusted"] = t["p_adjusted"].reindex(table.index).astype(float)
            table["best_group"] = t["best_group"].reindex(table.index)
            table["worst_group"] = t["worst_group"].reindex(table.index)
        o = self.overall_
        groups = f", {self.by_group_['group'].nunique()} {self.group_col} groups" if len(self.by_group_) else ""
        table.attrs["fit_line"] = (
            f"{self.n_leads_:,} leads, {len(self.stages_)} stages ({' > '.join(self.stages_)}){groups}; "
            f"{_pct(o['conversion_from_first'].iloc[-1])} of the leads at {self.stages_[0]} reached {self.stages_[-1]}."
        )
        table.attrs["notes"] = list(self.notes_)
        return table

    def sentences(self) -> dict[str, str]:
        """``funnel``: overall conversion and the biggest drop-off; ``groups``: which transitions
        differ significantly between groups, best vs worst. Markdown, names escaped."""
        self._check_fitted()
        o = self.overall_
        first, last = self.stages_[0], self.stages_[-1]
        n0 = int(o["leads"].iloc[0])
        R = ~np.isnan(self._D)
        reached = int((R[:, 0] & R[:, -1]).sum())
        text = f"Of the {n0:,} leads at {esc(first)}, {reached:,} ({_pct(reached / n0 if n0 else np.nan)}) reached {esc(last)}."
        loss = 1.0 - o["conversion_from_previous"].to_numpy(dtype=float)[1:]
        if np.isfinite(loss).any():
            k = int(np.nanargmax(loss))
            lost, base = int(o["drop_off"].iloc[k]), int(o["leads"].iloc[k])
            text += (
                f" The biggest drop-off is from {esc(self.stages_[k])} to {esc(self.stages_[k + 1])}: "
                f"{_pct(loss[k])} of the leads there did not move on ({lost:,} of {base:,})."
            )
        return {"funnel": text, "groups": self._groups_sentence()}

    def _groups_sentence(self) -> str:
        t = self.tests_
        col = esc(self.group_col) if self.group_col is not None else "group"
        if t.empty or t["p_value"].isna().all():
            return f"Conversion was not compared between {col} groups (fewer than two groups at every step)."
        sig = t[t["significant"]].sort_values("p_adjusted", kind="stable")
        level = f"{100 * self.alpha:g} %"
        if sig.empty:
            return (
                f"No step's conversion differs significantly between {col} groups (Holm-adjusted, {level} level; "
                f"smallest adjusted {_p(t['p_adjusted'].min())})."
            )
        parts = []
        for i, r in enumerate(sig.itertuples(index=False)):
            head = "Conversion" if i == 0 else "conversion"
            parts.append(
                f"{head} from {esc(r.from_stage)} to {esc(r.to_stage)} differs between {col} groups (chi-square "
                f"{r.chi2:.1f}, {r.dof} df, Holm-adjusted {_p(r.p_adjusted)}, Cramér's V {r.cramers_v:.2f}): "
                f"{esc(r.best_group)} converts best ({_pct(r.best_conversion)}), {esc(r.worst_group)} worst "
                f"({_pct(r.worst_conversion)})"
            )
        text = "; ".join(parts) + "."
        rest = t[~t["significant"] & t["p_value"].notna()]
        if len(rest):
            steps = ", ".join(
                f"{esc(a)} to {esc(b)}" for a, b in rest[["from_stage", "to_stage"]].itertuples(index=False)
            )
            text += f" No significant difference ({level} level) from {steps}."
        return text


_TEST_COLUMNS = [
    "from_stage", "to_stage", "leads", "groups", "chi2", "dof", "p_value", "p_adjusted", "significant",
    "cramers_v", "min_expected", "best_group", "best_conversion", "worst_group", "worst_conversion",
    "days_h", "days_p_value",
]  # fmt: skip


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.1f} %"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
