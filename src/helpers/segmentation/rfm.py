"""RFM scores and named segments.

**Scores** (1 = worst, ``bins`` = best) are quantile scores with a rule for ties that never
depends on row order: a customer's score is one plus the number of whole ``1/bins`` fractions of
customers that are strictly *worse* than them,

    score = 1 + floor(bins * worse / n),

where ``worse`` counts customers with a longer recency (R), fewer purchase days (F) or a lower
spend (M). Customers with equal values therefore always share a score: the score of the first of
them in sorted order. When one value is shared by a large group (most customers buy once, so
their F is equal), the group gets one score and some scores above it may be empty; the report
shows the score distribution so that this is visible.

**Segments** come from the R score and the FM score (the mean of F and M, rounded half up), both
rescaled to 1-5 when ``bins`` is not 5. The default map is a 5 x 5 grid (rows R, columns FM):

    R\\FM  1               2                    3                    4                 5
    5     New             Potential loyalists  Potential loyalists  Champions         Champions
    4     Promising       Potential loyalists  Potential loyalists  Loyal             Champions
    3     About to sleep  About to sleep       Need attention       Loyal             Loyal
    2     Hibernating     Hibernating          At risk              At risk           Cannot lose them
    1     Lost            Lost                 At risk              Cannot lose them  Cannot lose them

An analyst changes it with a mapping (:func:`segment_map`): a key that names a default segment
renames it (``{"Champions": "VIP"}``); a key that is a two-character pattern over the grid's
codes, R then FM (``"5[4-5]"``, ``"1."``), gives the matching cells that name, over the default.
Segments are ranked: the default ones in the order of :data:`DEFAULT_MAP` (best first: Champions
... At risk, Cannot lose them, Hibernating, Lost; a customer who stops buying moves down it), and
every grid cell carries the rank of its default segment, so a segment the analyst defines by
patterns ranks at the mean of its cells' ranks (a renamed segment keeps its rank). The rank orders
segments in tables and decides whether a customer who changed segment moved up (upgraded), down
(slipped) or sideways (another segment of the same rank).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

GRID = 5  # the segment map's scale
#: The default segments, best first (the order is their rank), with the cells (R then FM) of each.
DEFAULT_MAP: dict[str, tuple[str, ...]] = {
    "Champions": ("5[45]", "45"),
    "Loyal": ("44", "3[45]"),
    "Potential loyalists": ("[45][23]",),
    "New": ("51",),
    "Promising": ("41",),
    "Need attention": ("33",),
    "About to sleep": ("3[12]",),
    "At risk": ("2[34]", "13"),
    "Cannot lose them": ("25", "1[45]"),
    "Hibernating": ("2[12]",),
    "Lost": ("1[12]",),
}
ACTIONS = {
    "Champions": "Reward them: early access, loyalty perks; ask for reviews and referrals.",
    "Loyal": "Upsell higher-value products; invite to the loyalty programme.",
    "Potential loyalists": "Offer membership or a loyalty programme; recommend related products.",
    "New": "Onboard well: welcome series, first-month support, a reason to come back.",
    "Promising": "Build the habit: targeted offers on what they bought; brand awareness.",
    "Need attention": "Time-limited offers based on past purchases before they drift away.",
    "About to sleep": "Reconnect with popular products and a modest discount.",
    "At risk": "Personal win-back: what changed? Renewals and tailored offers.",
    "Cannot lose them": "Win them back now: personal contact, best offers; they were worth a lot.",
    "Hibernating": "Low-cost reactivation: relevant products, special offers; do not overspend.",
    "Lost": "Only cheap, broad reactivation; otherwise let them go.",
}
CUSTOM_ACTION = "Set by the analyst's segment map: decide the treatment from the segment's profile."
_PATTERN = re.compile(r"^(\[[1-5\-]+\]|[1-5.])(\[[1-5\-]+\]|[1-5.])$")


def _boundaries(reference: np.ndarray, bins: int) -> np.ndarray:
    """The ``bins - 1`` reference values a score must beat: with the reference sorted ascending
    (``s``, ``m`` values), ``1 + floor(bins * worse / m) > j`` exactly when at least
    ``ceil(j * m / bins)`` reference values are strictly smaller, i.e. when the value is greater
    than ``s[ceil(j * m / bins) - 1]``. Order statistics found by partitioning, O(m), not a sort."""
    m = reference.size
    at = np.array([-(-j * m // bins) - 1 for j in range(1, bins)], dtype=np.int64)
    return np.partition(reference, at)[at]


def quantile_scores(values, bins: int = 5, higher_is_better: bool = True, reference=None) -> np.ndarray:
    """Scores 1..``bins`` by the rule of the module doc (ties share the lower score; no
    dependence on row order). ``higher_is_better=False`` for recency (fewer days is better).

    ``reference``: the customers whose quantiles set the score boundaries (default: ``values``
    themselves); a value then scores by how many reference customers are strictly worse."""
    if int(bins) != bins or not 2 <= bins <= 9:
        raise ValueError(f"rfm_bins must be a whole number from 2 to 9, not {bins!r}")
    x = np.asarray(values, dtype=float)
    ref = x if reference is None else np.asarray(reference, dtype=float)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    if np.isnan(x).any() or np.isnan(ref).any():
        raise ValueError("RFM values must not be missing")
    if ref.size == 0:
        raise ValueError("the reference customers for the score boundaries are empty")
    key, ref_key = (x, ref) if higher_is_better else (-x, -ref)
    # 1 + the number of boundaries the value is strictly above (above every one: the top score)
    return 1 + np.searchsorted(_boundaries(ref_key, int(bins)), key, side="left").astype(np.int64)


def score(rfm: pd.DataFrame, bins: int = 5, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """``rfm`` (``recency_days, frequency, monetary``) with ``r_score, f_score, m_score`` and
    ``fm_score`` (mean of F and M, rounded half up) added. ``reference``: another RFM table whose
    quantiles set the score boundaries (e.g. the later snapshot, so that two snapshots are scored
    alike); default ``rfm`` itself."""
    out = rfm.copy(deep=False)  # the RFM columns shared (copy-on-write), the scores added
    ref = rfm if reference is None else reference
    for col, name, better in (
        ("recency_days", "r_score", False),
        ("frequency", "f_score", True),
        ("monetary", "m_score", True),
    ):
        out[name] = quantile_scores(out[col], bins, better, None if reference is None else ref[col])
    out["fm_score"] = np.floor((out["f_score"] + out["m_score"]) / 2 + 0.5).astype(np.int64)
    return out


def to_grid(scores, bins: int) -> np.ndarray:
    """Scores 1..``bins`` rescaled to the map's 1..5 (rounded half up)."""
    s = np.asarray(scores, dtype=float)
    if bins == GRID:
        return s.astype(np.int64)
    return np.floor(1 + (s - 1) * (GRID - 1) / (bins - 1) + 0.5).astype(np.int64)


class SegmentMap:
    """Grid cell (R, FM on 1..5) -> segment name, with each segment's rank and action."""

    def __init__(self, cells: Mapping[str, str], actions: Mapping[str, str]):
        self.cells = dict(cells)  # "RF" code -> name, all 25 codes
        names = list(dict.fromkeys(self.cells.values()))
        cell_rank = {
            c: len(DEFAULT_MAP) - i for i, ps in enumerate(DEFAULT_MAP.values()) for p in ps for c in _codes(p)
        }
        rank = {n: float(np.mean([cell_rank[c] for c, m in self.cells.items() if m == n])) for n in names}
        self.order = sorted(names, key=lambda n: (-rank[n], n))  # best first; never depends on the mapping's order
        self.rank = rank
        self.actions = {n: actions.get(n, CUSTOM_ACTION) for n in names}

    def assign(self, r_score, fm_score, bins: int = 5) -> pd.Series:
        """Segment name per customer from the R and FM scores (scale 1..``bins``)."""
        r = to_grid(r_score, bins)
        fm = to_grid(fm_score, bins)
        if r.size and (min(r.min(), fm.min()) < 1 or max(r.max(), fm.max()) > GRID):
            raise ValueError(f"R and FM scores must lie between 1 and {bins}")
        position = {n: i for i, n in enumerate(self.order)}
        lookup = np.array([position[self.cells[f"{r_}{f_}"]] for r_ in range(1, GRID + 1) for f_ in range(1, GRID + 1)])
        codes = lookup[(r - 1) * GRID + (fm - 1)]
        cat = pd.Categorical.from_codes(codes, categories=self.order, ordered=True)
        return pd.Series(cat, index=getattr(r_score, "index", None))

    def grid(self) -> pd.DataFrame:
        """The map as a table: rows R 5..1, columns FM 1..5."""
        rows = {r: [self.cells[f"{r}{f}"] for f in range(1, GRID + 1)] for r in range(GRID, 0, -1)}
        return pd.DataFrame.from_dict(rows, orient="index", columns=[f"FM {f}" for f in range(1, GRID + 1)]).rename(
            index=lambda r: f"R {r}"
        )


def _codes(pattern: str) -> list[str]:
    every = [f"{r}{f}" for r in range(1, GRID + 1) for f in range(1, GRID + 1)]
    return [c for c in every if re.fullmatch(pattern, c)]


def segment_map(overrides: Mapping[str, str] | None = None) -> SegmentMap:
    """The default map (module doc) changed by ``overrides``: keys naming a default segment
    rename it; keys that are two-character patterns over the codes (R then FM: ``"5[4-5]"``,
    ``"1."``) assign the matching cells a name. Patterns are applied first, renames after."""
    cells = {c: name for name, patterns in DEFAULT_MAP.items() for p in patterns for c in _codes(p)}
    assert len(cells) == GRID * GRID, "the default map covers every cell"
    actions = dict(ACTIONS)
    overrides = dict(overrides or {})
    renames = {}
    for key, name in overrides.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"segment_names: the name for {key!r} must be a non-empty text, not {name!r}")
        key = str(key).strip()
        if key in DEFAULT_MAP:
            renames[key] = name.strip()
        elif _PATTERN.match(key) and _codes(key):
            for code in _codes(key):
                cells[code] = name.strip()
        else:
            raise ValueError(
                f"segment_names: {key!r} is neither a default segment ({', '.join(DEFAULT_MAP)}) nor a pattern of "
                "two characters over the R and FM scores 1-5, e.g. '5[4-5]' or '1.'"
            )
    for old, new in renames.items():
        cells = {c: (new if n == old else n) for c, n in cells.items()}
        if old in actions:
            actions[new] = actions[old]
    return SegmentMap(cells, actions)


def segment_table(customers: pd.DataFrame, smap: SegmentMap, segment_col: str = "rfm_segment") -> pd.DataFrame:
    """Per segment (best first): customers, their share, revenue and its share, mean recency,
    frequency and spend, and the recommended action. Empty segments are listed with zeros."""
    g = customers.groupby(segment_col, observed=False)
    t = pd.DataFrame(
        {
            "customers": g.size(),
            "revenue": g["monetary"].sum(),
            "recency_days_mean": g["recency_days"].mean(),
            "frequency_mean": g["frequency"].mean(),
            "monetary_mean": g["monetary"].mean(),
        }
    ).reindex(smap.order)
    t["customers"] = t["customers"].fillna(0).astype(np.int64)
    t["revenue"] = t["revenue"].fillna(0.0)
    n, total = t["customers"].sum(), t["revenue"].sum()
    t.insert(1, "share_of_customers_pct", 100 * t["customers"] / n if n else 0.0)
    t.insert(3, "share_of_revenue_pct", 100 * t["revenue"] / total if total else 0.0)
    t["action"] = [smap.actions[s] for s in t.index]
    t.index = pd.Index(list(t.index), name="segment")  # plain text (a categorical column groups to categories)
    return t.reset_index()


def score_counts(scored: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Customers per score (rows 1..``bins``) for R, F and M: shows where ties left a score empty."""
    out = pd.DataFrame(
        {
            name: scored[col].value_counts().reindex(range(1, bins + 1), fill_value=0)
            for name, col in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score"))
        }
    )
    out.index.name = "score"
    return out.reset_index()
