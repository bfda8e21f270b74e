"""The satisfaction-index section of the survey report: a PLS path model (:mod:`.pls`) of the
analyst's constructs, turned into what a stakeholder reads.

``IndexModelSection(model=..., paths=...).fit(responses)`` fits :class:`~.pls.PLSPathModel` on
the cleaned responses (missing codes already made missing), bootstraps it (``bootstrap``
resamples, seeded) and keeps:

- ``paths_``: each path with its coefficient, bootstrap standard error, t value, percentile 95 %
  interval and whether the interval excludes 0;
- ``indices_``: the mean 0-100 index of each construct (ACSI convention: the model's weights on
  the items' own scale, items rescaled from ``scale``) with a t interval; ``by_group_``: the
  same per wave or group column given;
- ``ipma_``: the construct-level importance-performance map for ``target`` (default: the
  construct the model ends in, e.g. loyalty);
- ``quality_``: per construct alpha (standardised, as R plspm), Dillon-Goldstein rho, AVE and R²;
  ``htmt_`` and the fit's GoF.

The model is fitted on the respondents as they are, unweighted (survey weights are not used by
the path model); :meth:`findings` says so when the rest of the report is weighted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.core.registry import key_part
from helpers.reporting.text import esc
from helpers.survey.pls import PLSPathModel

__all__ = ["HTMT_CEILING", "IndexModelSection"]

#: HTMT above this suggests two constructs are not measured apart (Henseler et al. 2015, liberal bound).
HTMT_CEILING = 0.90


def _pairs(paths) -> list[tuple[str, str]]:
    """``[[from, to], ...]`` (as a notebook parameter arrives) as tuples; names the bad entry."""
    out = []
    for p in paths or []:
        if isinstance(p, str) or len(p) != 2:
            raise ValueError(f"index_paths: each path is a pair [from, to]; got {p!r}.")
        out.append((str(p[0]), str(p[1])))
    return out


class IndexModelSection:
    """The PLS index model for the report (see the module doc). ``model``: construct -> item
    columns; ``paths``: ``[from, to]`` pairs; ``modes``: construct -> "A"/"B"; ``scheme``,
    ``scaled``, ``missing`` as :class:`~.pls.PLSPathModel`; ``scale``: the items' (min, max) for
    the 0-100 index (None: each block's observed range); ``groups``: columns to break the index
    down by (e.g. the wave); ``target``: the construct of the importance-performance map;
    ``bootstrap``: resamples for standard errors and intervals (0: none); ``seed``."""

    def __init__(
        self,
        model: Mapping[str, Sequence[str]],
        paths: Sequence[Sequence[str]],
        modes: Mapping[str, str] | None = None,
        scheme: str = "path",
        scaled: bool = True,
        missing: str = "mean",
        scale: Sequence[float] | None = None,
        groups: Sequence[str] = (),
        target: str | None = None,
        bootstrap: int = 500,
        seed: int = 0,
    ):
        self.model = model
        self.paths = paths
        self.modes = modes
        self.scheme = scheme
        self.scaled = scaled
        self.missing = missing
        self.scale = scale
        self.groups = groups
        self.target = target
        self.bootstrap = bootstrap
        self.seed = seed

    def items(self) -> list[str]:
        """Every item column of the model, in block order."""
        return list(dict.fromkeys(c for cols in (self.model or {}).values() for c in cols))

    def fit(self, responses: pd.DataFrame) -> IndexModelSection:
        if isinstance(self.bootstrap, bool) or not isinstance(self.bootstrap, int | np.integer) or self.bootstrap < 0:
            raise ValueError(f"index_bootstrap must be a whole number >= 0 (got {self.bootstrap!r}).")
        pls = PLSPathModel(
            blocks={k: list(v) for k, v in self.model.items()},
            paths=_pairs(self.paths),
            modes=self.modes,
            scheme=self.scheme,
            scaled=bool(self.scaled),
            missing=self.missing,
        ).fit(responses)
        self.model_ = pls
        self.target_ = self.target or _final_construct(pls)
        if self.target_ not in pls.spec_.constructs:
            raise ValueError(f"index_target {self.target_!r} is not a construct of index_model.")
        scale = tuple(self.scale) if self.scale is not None else None
        self.boot_ = pls.bootstrap(n=int(self.bootstrap), seed=self.seed) if self.bootstrap else None
        self.paths_ = self._paths_table()
        self.indices_ = pls.index_means(scale=scale)
        self.by_group_ = {
            g: pls.index_means(groups=responses[g].astype("string"), scale=scale)
            for g in self.groups
            if g in responses.columns and responses[g].nunique() >= 2
        }
        self.ipma_ = pls.importance_performance(self.target_, scale=scale)
        rel = pls.reliability_[["alpha", "rho_dg", "ave"]]
        self.quality_ = rel.join(pls.r2_.rename("r2"), how="left")
        self.htmt_ = pls.htmt_
        self.gof_ = float(pls.gof_)
        return self

    def _paths_table(self) -> pd.DataFrame:
        pls = self.model_
        B = pls.path_coefficients_
        rows = [(a, b, float(B.loc[a, b])) for a, b in _pairs(self.paths)]
        out = pd.DataFrame(rows, columns=["from", "to", "coefficient"])
        if self.boot_ is not None:
            boot = self.boot_.paths[["from", "to", "se", "t", "ci_low", "ci_high"]]
            out = out.merge(boot, on=["from", "to"], how="left")
            out["significant"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
        return out

    # ------------------------------------------------------------------------------------
    def metrics(self) -> dict:
        """``index.<construct>`` (mean 0-100), ``pls.path.<from>.<to>``, ``pls.r2.<construct>``, ``pls.gof``."""
        out: dict = {}
        for row in self.indices_.itertuples():
            out[f"index.{key_part(row.construct)}"] = float(row.mean)
        p = self.paths_
        for a, b, coefficient in zip(p["from"], p["to"], p["coefficient"]):
            out[f"pls.path.{key_part(a)}.{key_part(b)}"] = float(coefficient)
        for construct, r2 in self.model_.r2_.items():
            out[f"pls.r2.{key_part(construct)}"] = float(r2)
        out["pls.gof"] = self.gof_
        return out

    def findings(self, weighted: bool = False) -> dict[str, str]:
        """Sentences for the report, from this fit's numbers: ``fit``, ``paths``, ``ipma``,
        ``validity`` and ``note`` (convergence, weights, failed resamples; may be empty). Names
        from the data are escaped (Markdown)."""
        pls = self.model_
        t = esc(self.target_)
        r2 = pls.r2_.get(t, np.nan)
        fit = (
            f"The model explains **{r2:.0%}** of the variation in {t} (R²) and has a goodness of fit of "
            f"{self.gof_:.2f} (0-1; {pls.n_:,} respondents, {self.scheme} weighting scheme"
            f"{', items standardised' if self.scaled else ', items on their own scale'})."
        )
        p = self.paths_
        if "significant" in p:
            strong = p[p["significant"]].sort_values("coefficient", key=np.abs, ascending=False)
            weak = p[~p["significant"]]
            parts = [
                f"{len(strong)} of {len(p)} paths have a 95 % bootstrap interval that excludes zero"
                + (f"; the strongest is {_path(strong.iloc[0])}" if len(strong) else "")
            ]
            if len(weak):
                parts.append(
                    "these cannot be told apart from zero: "
                    + ", ".join(f"{esc(r['from'])} → {esc(r['to'])}" for _, r in weak.iterrows())
                )
            paths = "; ".join(parts) + f" ({self.boot_.n_resamples - self.boot_.n_failed:,} resamples)."
        else:
            top = p.reindex(p["coefficient"].abs().sort_values(ascending=False).index).iloc[0]
            paths = f"The strongest path is {_path(top)} (no bootstrap was run, so no intervals)."
        ip = self.ipma_
        first = ip[ip["quadrant"] == "Fix first"]
        lead = ip.iloc[0]
        ipma = (
            f"{esc(lead['construct'])} has the largest total effect on {t} ({lead['importance']:.2f} standard deviations "
            f"per standard deviation; its index is {lead['performance']:.0f} of 100)."
        )
        if len(first):
            ipma += (
                f" Fix first: {', '.join(map(esc, first['construct']))}, more important than the average driver and "
                "performing below the average."
            )
        else:
            ipma += " No driver is both more important and worse-performing than average."
        h = self.htmt_.where(np.triu(np.ones(self.htmt_.shape, dtype=bool), 1))
        high = h.stack()
        high = high[high > HTMT_CEILING]
        low_ave = self.quality_["ave"][self.quality_["ave"] < 0.5].dropna()
        checks = []
        if len(high):
            checks.append(
                "HTMT above "
                + f"{HTMT_CEILING:.2f} for "
                + ", ".join(f"{esc(a)}/{esc(b)} ({v:.2f})" for (a, b), v in high.items())
                + ": these constructs may not be measured apart"
            )
        if len(low_ave):
            checks.append(
                "AVE below 0.5 for "
                + ", ".join(f"{esc(c)} ({v:.2f})" for c, v in low_ave.items())
                + ": the items share less than half their variance with their construct"
            )
        validity = (
            "Reliability and discriminant validity: " + "; ".join(checks) + "."
            if checks
            else f"Every block's AVE is at least 0.5 and every HTMT at most {HTMT_CEILING:.2f}: the constructs are measured reliably and apart."
        )
        notes = []
        if not pls.converged_:
            notes.append(pls.note_)
        if weighted:
            notes.append("The index model is fitted unweighted: the survey weights are not used by the path model.")
        if self.boot_ is not None and self.boot_.n_failed:
            notes.append(f"{self.boot_.n_failed:,} bootstrap resamples could not be estimated and are left out.")
        if pls.n_dropped_:
            notes.append(f"{pls.n_dropped_:,} respondents with a missing answer are left out (listwise).")
        if pls.n_imputed_:
            notes.append(f"{pls.n_imputed_:,} missing answers were replaced by the item's mean.")
        return {"fit": fit, "paths": paths, "ipma": ipma, "validity": validity, "note": " ".join(notes)}


def _path(row) -> str:
    return f"{esc(row['from'])} → {esc(row['to'])} ({row['coefficient']:.2f})"


def _final_construct(pls: PLSPathModel) -> str:
    """The construct the model ends in: no path leaves it; of several, the one with the most
    constructs leading to it (then the last named)."""
    spec = pls.spec_
    adj = spec.adjacency
    sinks = [j for j in range(len(spec.constructs)) if not adj[j].any() and adj[:, j].any()]
    if not sinks:
        return spec.constructs[-1]
    reach = (np.linalg.matrix_power(np.eye(len(adj)) + adj, len(adj)) > 0).sum(axis=0)
    best = max(sinks, key=lambda j: (reach[j], j))
    return spec.constructs[best]
