"""The whole survey analysis for the notebook: ``SurveyAnalysis(...).fit(responses)``.

Steps, each a tested module of this package; a step whose inputs are not given is skipped and
``skipped_`` says why in a sentence:
1. Cleaning (:mod:`.data`): missing codes, empty, duplicate, speeding and straight-lining
   respondents, counted.
2. Weighting (:mod:`.weighting`): raking to ``weight_targets``; from then on every estimate and
   test uses the weights and the effective base.
3. Headline scores (:mod:`.scores`): NPS with its Wald margin of error, CSAT as top-two-box share
   with a Wilson interval.
4. Item blocks: satisfaction index (0-100), answer distributions, reliability (:mod:`.reliability`).
5. Key drivers (:mod:`.drivers`): relative weights, Shapley/LMG, importance-performance, actions.
   A driver may be a column or the name of an item block (its per-respondent mean).
6. Groups (:mod:`.significance`, :mod:`.scores`): NPS by group with pairwise tests, crosstabs
   with significance letters, the outcome compared across groups.
7. Waves (:mod:`.waves`) and expectation gaps (:mod:`.gaps`).
8. The satisfaction-index model (:mod:`.index_model`): a PLS path model of ``index_model``'s
   constructs, 0-100 index scores by wave and group, construct-level importance-performance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.core.registry import key_part
from helpers.survey import data, drivers, gaps, group_tests, reliability, scores, significance, waves, weighting
from helpers.survey.index_model import IndexModelSection

__all__ = ["SurveyAnalysis", "slug"]


slug = key_part  # metric key parts (helpers.core.registry.key_part)


def _skip(section: str, what: str) -> str:
    return f"{section} skipped: {what}."


class SurveyAnalysis:
    """Cleaning, weighting, scores, reliability, drivers, groups, waves and gaps in one fit.

    Column parameters may be None (the section that needs them is skipped). ``item_groups``:
    block -> item columns; ``item_scale``: the items' (min, max), inferred from the answers when
    None; ``csat_scale_max``: the top of the CSAT scale (top-two box = the two highest points);
    ``expectation_pattern``: how an item's expectation (or importance) column is named, e.g.
    ``"importance_{item}"`` or ``"{item} - Importance"``; ``min_base``: effective base below
    which a group is shown but not tested; ``correction``: ``"holm"`` or ``"bh"``; ``nps_interval``:
    ``"adjusted_wald"`` adds the adjusted-Wald interval beside the Wald one (the metrics keep Wald);
    ``straightline_min_items``: grids this long or longer are checked for straight-lining (None:
    no check). ``index_model`` (construct -> item columns) with ``index_paths`` (``[from, to]``
    pairs), ``index_modes``, ``index_scheme``, ``index_scaled``, ``index_missing``,
    ``index_bootstrap`` and ``index_target``: the PLS index model (:mod:`.index_model`)."""

    def __init__(
        self,
        id_col: str | None = None,
        nps_col: str | None = None,
        csat_col: str | None = None,
        csat_scale_max: int | None = None,
        item_groups: Mapping[str, Sequence[str]] | None = None,
        item_scale: Sequence[float] | None = None,
        outcome_col: str | None = None,
        driver_cols: Sequence[str] | None = None,
        group_cols: Sequence[str] | None = None,
        wave_col: str | None = None,
        weight_targets: Mapping[str, Mapping[str, float]] | None = None,
        missing_codes: Sequence[float] | None = None,
        duration_col: str | None = None,
        speeder_ratio: float | None = None,
        expectation_pattern: str | None = None,
        straightline_min_items: int | None = 5,
        min_base: int = 30,
        correction: str = "holm",
        nps_interval: str = "wald",
        index_model: Mapping[str, Sequence[str]] | None = None,
        index_paths: Sequence[Sequence[str]] | None = None,
        index_modes: Mapping[str, str] | None = None,
        index_scheme: str = "path",
        index_scaled: bool = True,
        index_missing: str = "mean",
        index_bootstrap: int = 500,
        index_target: str | None = None,
    ):
        self.id_col = id_col
        self.nps_col = nps_col
        self.csat_col = csat_col
        self.csat_scale_max = csat_scale_max
        self.item_groups = {k: list(v) for k, v in (item_groups or {}).items()}
        self.item_scale = item_scale
        self.outcome_col = outcome_col
        self.driver_cols = list(driver_cols or [])
        self.group_cols = list(group_cols or [])
        self.wave_col = wave_col
        self.weight_targets = weight_targets
        self.missing_codes = missing_codes
        self.duration_col = duration_col
        self.speeder_ratio = speeder_ratio
        self.expectation_pattern = expectation_pattern
        self.straightline_min_items = straightline_min_items
        self.min_base = min_base
        self.correction = correction
        self.nps_interval = nps_interval
        self.index = None
        if index_model:
            self.index = IndexModelSection(
                model=index_model,
                paths=index_paths or [],
                modes=index_modes,
                scheme=index_scheme,
                scaled=index_scaled,
                missing=index_missing,
                # the 0-100 index rescales from the stated answer scale (else each block's observed range)
                scale=tuple(item_scale) if item_scale is not None else None,
                groups=[c for c in (wave_col, *self.group_cols) if c],
                target=index_target,
                bootstrap=index_bootstrap,
            )

    # ------------------------------------------------------------------------------------
    def answer_columns(self) -> list[str]:
        """Every column holding answers (items, NPS, CSAT, outcome, drivers that are columns)."""
        cols = [c for items in self.item_groups.values() for c in items]
        cols += [c for c in (self.nps_col, self.csat_col, self.outcome_col) if c]
        cols += [c for c in self.driver_cols if c not in self.item_groups]
        cols += self.index.items() if self.index is not None else []
        return list(dict.fromkeys(cols))

    def contract_scales(self) -> dict[str, tuple[float, float]]:
        """The answer scale of each column the contract can check: NPS 0-10, CSAT 1-max, items
        ``item_scale`` (columns of unknown scale are not checked)."""
        out: dict[str, tuple[float, float]] = {}
        if self.item_scale is not None:
            lo, hi = self.item_scale
            for c in self.answer_columns():
                out[c] = (float(lo), float(hi))
        if self.csat_col and self.csat_scale_max:
            out[self.csat_col] = (float(self.item_scale[0]) if self.item_scale else 0.0, float(self.csat_scale_max))
        if self.nps_col:
            out[self.nps_col] = (0.0, 10.0)
        return out

    def fit(self, responses: pd.DataFrame) -> SurveyAnalysis:
        """``responses``: the accepted rows of the responses contract (pandas)."""
        self.skipped_: dict[str, str] = {}
        answers = self.answer_columns()
        grids = self.item_groups
        id_col = self.id_col
        if id_col and id_col not in responses.columns and "respondent_id" in responses.columns:
            id_col = "respondent_id"  # the contract names the id column respondent_id
        self.cleaning_ = data.clean_responses(
            responses,
            answer_cols=answers,
            id_col=id_col,
            missing_codes=self.missing_codes,
            duration_col=self.duration_col,
            speeder_ratio=self.speeder_ratio,
            grids=grids if self.straightline_min_items else None,
            straightline_min_items=self.straightline_min_items or 0,
        )
        r = self.cleaning_.responses
        if len(r) < 3:
            raise ValueError(f"Only {len(r)} respondents are left after cleaning: too few to analyse.")
        items = [c for b in self.item_groups.values() for c in b]
        self.scale_ = (
            tuple(self.item_scale) if self.item_scale is not None else (data.infer_scale(r, items) if items else None)
        )
        for block, cols in self.item_groups.items():  # block scores: usable as drivers
            r[f"__block_{block}"] = r[cols].mean(axis=1)
        self.responses_ = r
        self._weight(r)
        w = self.weights_
        self.nps_ = scores.nps(r[self.nps_col].dropna(), weights=_aligned(w, r[self.nps_col])) if self.nps_col else None
        self.nps_adjusted_ = None  # the adjusted-Wald interval, shown beside the Wald one when asked for
        if self.nps_col and self.nps_interval == "adjusted_wald":
            v = r[self.nps_col]
            self.nps_adjusted_ = scores.nps(v.dropna(), weights=_aligned(w, v), method="adjusted_wald")
        if self.nps_col:
            self.nps_components_ = scores.nps_components(r[self.nps_col].dropna(), weights=_aligned(w, r[self.nps_col]))
        else:
            self.skipped_["nps"] = _skip("NPS is", "no `nps_col` was given")
        if self.csat_col and self.csat_scale_max:
            v = r[self.csat_col]
            self.csat_ = scores.top_box(v.dropna(), self.csat_scale_max, weights=_aligned(w, v))
        else:
            self.csat_ = None
            self.skipped_["csat"] = _skip("CSAT is", "no `csat_col` and `csat_scale_max` were given")
        self._blocks(r, w)
        self._drivers(r, w)
        self._groups(r, w)
        self._waves(r, w)
        self._gaps(r, w)
        self._index(r)
        return self

    def _index(self, r: pd.DataFrame) -> None:
        self.index_ = None
        if self.index is None:
            self.skipped_["index"] = _skip(
                "The satisfaction-index model is", "no `index_model` (constructs and their items) was given"
            )
            return
        self.index_ = self.index.fit(r)

    def _weight(self, r: pd.DataFrame) -> None:
        self.weighting_ = None
        self.weights_ = None
        if not self.weight_targets:
            self.skipped_["weighting"] = _skip(
                "Weighting is", "no `weight_targets` were given, so every respondent counts once"
            )
            return
        self.weighting_ = weighting.rake(r, self.weight_targets)
        self.weights_ = self.weighting_.weights.to_numpy(dtype=float)

    def _blocks(self, r: pd.DataFrame, w) -> None:
        self.indices_ = self.distributions_ = self.reliability_ = None
        self.reliability_details_ = {}
        if not self.item_groups:
            self.skipped_["blocks"] = _skip("Item blocks are", "no `item_groups` were given")
            return
        rows, dists, means = [], {}, []
        for block, cols in self.item_groups.items():
            est = scores.satisfaction_index(r, cols, scale=self.scale_, weights=w)
            rows.append(
                {"block": block, "items": len(cols), "index": est.value, "low": est.low, "high": est.high, "n": est.n}
            )
            for item in cols:
                m = scores.mean_ci(r[item], weights=w)
                means.append({"block": block, "item": item, "mean": m.value, "low": m.low, "high": m.high, "n": m.n})
            dists[block] = scores.likert_distribution(r, cols, scale=tuple(int(x) for x in self.scale_), weights=w)
        self.indices_ = pd.DataFrame(rows)
        self.item_means_ = pd.DataFrame(means)
        self.distributions_ = dists
        multi = {b: c for b, c in self.item_groups.items() if len(c) >= 2}
        if multi:
            self.reliability_, self.reliability_details_ = reliability.reliability_table(r, multi, weights=w)
        else:
            self.skipped_["reliability"] = _skip("Reliability is", "no item block has two or more items")

    def _drivers(self, r: pd.DataFrame, w) -> None:
        self.drivers_ = None
        if not (self.outcome_col and self.driver_cols):
            self.skipped_["drivers"] = _skip("Key drivers are", "`outcome_col` and `driver_cols` were not both given")
            return
        cols = [f"__block_{d}" if d in self.item_groups else d for d in self.driver_cols]
        frame = r[[self.outcome_col, *cols]].rename(columns={f"__block_{d}": d for d in self.driver_cols})
        self.drivers_ = drivers.KeyDriverAnalysis(self.outcome_col, self.driver_cols).fit(frame, weights=w)
        # performance: the weighted means over the respondents the drivers were fitted on (as in actions())
        self.importance_performance_ = self.drivers_.importance_performance(scale=self.scale_)

    def _groups(self, r: pd.DataFrame, w) -> None:
        self.group_results_ = {}
        if not self.group_cols:
            self.skipped_["groups"] = _skip("Group differences are", "no `group_cols` were given")
            return
        for g in self.group_cols:
            out = {}
            if self.nps_col:
                out["nps"] = scores.scores_by_group(r, self.nps_col, g, "nps", weights=w)
                out["nps_pairs"] = scores.pairwise_differences(
                    r, self.nps_col, g, "nps", weights=w, correction=self.correction
                )
                labelled = r.assign(**{"NPS group": _nps_category(r[self.nps_col])})
                out["crosstab"] = significance.crosstab(
                    labelled, "NPS group", g, weights=w, correction=self.correction, min_base=self.min_base
                )
            target = self.outcome_col or (self.csat_col if self.csat_col else None)
            if target:
                out["comparison"] = group_tests.compare_groups(
                    r, target, g, weights=w, correction=self.correction, min_base=self.min_base
                )
            self.group_results_[g] = out

    def _waves(self, r: pd.DataFrame, w) -> None:
        self.wave_trends_ = {}
        if not self.wave_col:
            self.skipped_["waves"] = _skip("Trends across waves are", "no `wave_col` was given")
            return
        if r[self.wave_col].nunique() < 2:
            self.skipped_["waves"] = _skip("Trends across waves are", f"`{self.wave_col}` holds a single wave")
            return
        if self.nps_col:
            self.wave_trends_["NPS"] = waves.wave_trend(r, self.nps_col, self.wave_col, "nps", weights=w)
        if self.csat_col and self.csat_scale_max:
            self.wave_trends_["CSAT"] = waves.wave_trend(
                r, self.csat_col, self.wave_col, "top_box", weights=w, scale_max=self.csat_scale_max
            )
        if self.outcome_col and self.outcome_col not in (self.nps_col, self.csat_col):
            self.wave_trends_[self.outcome_col] = waves.wave_trend(
                r, self.outcome_col, self.wave_col, "mean", weights=w
            )

    def _gaps(self, r: pd.DataFrame, w) -> None:
        self.gaps_ = None
        if not self.expectation_pattern:
            self.skipped_["gaps"] = _skip("Expectation gaps are", "no `expectation_pattern` was given")
            return
        pairs = {}
        for item in self.answer_columns():
            expected = self.expectation_pattern.format(item=item)
            if expected in r.columns and expected != item:
                pairs[item] = (expected, item)
        if not pairs:
            self.skipped_["gaps"] = _skip(
                "Expectation gaps are", f"no answer column has a partner named like `{self.expectation_pattern}`"
            )
            return
        dims = {b: [i for i in cols if i in pairs] for b, cols in self.item_groups.items()}
        dims = {b: items for b, items in dims.items() if items}
        self.gaps_ = gaps.expectation_gaps(r, pairs, dimensions=dims or None, weights=w, correction=self.correction)

    # ------------------------------------------------------------------------------------
    def metrics(self) -> dict:
        """Key figures with the dotted names of ``metrics.json`` (declared in ``survey/domain.py``)."""
        c = self.cleaning_
        out: dict = {"respondents": c.respondents}
        for row in c.steps.itertuples():
            out[f"cleaning.{slug(row.step)}"] = int(row.set_aside)
        out["cleaning.missing_codes_replaced"] = int(c.missing_codes_replaced.sum())
        if self.nps_ is not None:
            out.update({"nps": self.nps_.value, "nps_moe": self.nps_.moe, "nps_se": self.nps_.se})
        if self.csat_ is not None:
            out.update({"csat.top_box": self.csat_.value, "csat.low": self.csat_.low, "csat.high": self.csat_.high})
        if self.reliability_ is not None:
            for row in self.reliability_.itertuples():
                out[f"alpha.{slug(row.block)}"] = float(row.alpha_raw)
                out[f"alpha_standardized.{slug(row.block)}"] = float(row.alpha_standardized)
        if self.indices_ is not None:
            for row in self.indices_.itertuples():
                out[f"block_index.{slug(row.block)}"] = float(row.index)
        if self.drivers_ is not None:
            d = self.drivers_
            out["drivers.r2"] = float(d.r2_)
            for col, v in d.relative_weights_.items():
                out[f"drivers.relative_weight.{slug(col)}"] = float(v)
            for col, v in d.shapley_.items():
                out[f"drivers.shapley.{slug(col)}"] = float(v)
        if self.index_ is not None:
            out.update(self.index_.metrics())
        if self.weighting_ is not None:
            out["weighting.efficiency"] = float(self.weighting_.efficiency)
            out["weighting.effective_base"] = float(self.weighting_.n_eff)
        return out

    def summary_figures(self, input_name: str = "responses") -> dict[str, str]:
        figs = {"respondents": "Respondents analysed"}
        if self.nps_ is not None:
            figs["nps"] = f"NPS (± {self.nps_.moe:.1f} points, 95 %)"
        if self.csat_ is not None:
            figs["csat.top_box"] = f"Satisfied (top two boxes of {self.csat_scale_max})"
        if self.drivers_ is not None:
            figs["drivers.r2"] = "Outcome variation the drivers explain (R²)"
        if self.weighting_ is not None:
            figs["weighting.efficiency"] = "Weighting efficiency"
        figs[f"rows.{input_name}.quarantined_share"] = "Rows set aside"
        return figs

    def headline_table(self) -> pd.DataFrame:
        """NPS and CSAT with their 95 % intervals, margins of error and bases (CSAT in %)."""
        rows = []
        for name, est, unit, factor in (
            ("NPS", self.nps_, "points", 1.0),
            ("NPS, adjusted-Wald interval", self.nps_adjusted_, "points", 1.0),
            (f"CSAT (top two of {self.csat_scale_max})", self.csat_, "% satisfied", 100.0),
        ):
            if est is not None:
                rows.append(
                    {
                        "score": name,
                        "value": factor * est.value,
                        "low": factor * est.low,
                        "high": factor * est.high,
                        "moe": factor * est.moe,
                        "unit": unit,
                        "n": est.n,
                        "n_eff": est.n_eff,
                    }
                )
        return pd.DataFrame(rows, columns=["score", "value", "low", "high", "moe", "unit", "n", "n_eff"])

    @property
    def performance_label(self) -> str:
        """The importance-performance map's y-axis label (performance is 0-100 when the scale is known)."""
        if self.scale_ is not None:
            return f"Performance (0-100: the {self.scale_[0]:g}-{self.scale_[1]:g} scale rescaled)"
        return "Performance (mean answer)"

    def nps_mix(self) -> pd.Series:
        """Shares (%) of detractors, passives and promoters, in that order."""
        c = self.nps_components_
        return pd.Series({k.capitalize(): 100 * c[k] for k in ("detractors", "passives", "promoters")})

    def wave_sentence(self, label: str) -> str:
        """The trend of ``label`` ("NPS", "CSAT" or the outcome column) in words."""
        unit = {"NPS": "points", "CSAT": "%"}.get(label, "mean")
        return waves.wave_sentence(self.wave_trends_[label], label, unit)

    def gap_sentence(self) -> str:
        return gaps.gap_sentence(self.gaps_[0]) if self.gaps_ is not None else self.skipped_.get("gaps", "")

    def actions(self, k: int = 3) -> list[str]:
        """The three actions the driver analysis points to (empty without drivers)."""
        return self.drivers_.actions(k, scale=self.scale_) if self.drivers_ is not None else []

    def summary_findings(self) -> list[str]:
        """The actions the drivers point to; without drivers, the headline scores in words."""
        found = self.actions(3)
        if len(found) < 3 and self.nps_ is not None:
            found.append(_nps_sentence(self.nps_))
        if len(found) < 3 and self.csat_ is not None:
            found.append(_csat_sentence(self.csat_, self.csat_scale_max))
        return found[:3]


def _aligned(weights, values: pd.Series):
    """The weights of the rows where ``values`` is not missing (None without weights)."""
    if weights is None:
        return None
    return np.asarray(weights, dtype=float)[values.notna().to_numpy()]


def _nps_category(values: pd.Series) -> pd.Series:
    cat = pd.Series(
        np.where(values >= 9, "Promoter", np.where(values >= 7, "Passive", "Detractor")), index=values.index
    )
    return cat.where(values.notna())


def _nps_sentence(est: scores.Estimate) -> str:
    return (
        f"NPS is **{est.value:.0f}** points, with a 95 % margin of error of ± {est.moe:.1f} points "
        f"({est.low:.0f} to {est.high:.0f}) on an effective base of {est.n_eff:,.0f}."
    )


def _csat_sentence(est: scores.Estimate, scale_max: int) -> str:
    return (
        f"**{100 * est.value:.0f} %** of respondents are satisfied (the top two points of the 1-{scale_max} "
        f"scale; 95 % interval {100 * est.low:.0f}-{100 * est.high:.0f} %)."
    )
