"""Readable names for customer clusters, derived from each cluster's profile.

Each feature is judged by how far the cluster's mean lies from the mean of the customers *outside*
it, in the transformed space (``log1p``, then standardised over all customers, so one unit is one
standard deviation). Judging against the rest rather than against everyone matters for a large
cluster: one that holds most customers is close to the overall average by construction, yet can
differ clearly from the others. With z the cluster's mean and s its share of customers, the
difference from the rest is z / (1 - s) (the overall mean is 0):

* ``recency_days``: z <= -0.5 "Recent", z >= 0.5 "Lapsed", else "Mid-recency";
* ``frequency``: z >= 0.5 "frequent"; z <= -0.5 "one-off" when the cluster's median frequency is 1,
  else "infrequent"; in between "occasional";
* ``monetary``: z >= 0.5 "high spend", z <= -0.5 "low spend", else "mid spend";
* any other feature ``f``: "high f", "low f", "mid f" on the same cut-offs.

The words are joined in feature order, e.g. "Recent, frequent, high spend". Names are unique:
clusters sharing a name get, in brackets, the comparison on the feature where their means differ
most ("higher spend" for the highest of them, "lower spend" for the lowest); any name still shared
then gets " (1)", " (2)", ... in cluster order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CUT", "cluster_names"]

#: Cut-off in standard deviations (of the transformed feature) for "high" / "low".
CUT = 0.5

# feature -> (word when z is high, word when z is low) for the tie-break comparison
_COMPARE = {
    "recency_days": ("less recent", "more recent"),
    "frequency": ("more frequent", "less frequent"),
    "monetary": ("higher spend", "lower spend"),
}


def _word(feature: str, z: float, median: float) -> str:
    high, low = z >= CUT, z <= -CUT
    if feature == "recency_days":
        return "Lapsed" if high else "Recent" if low else "Mid-recency"
    if feature == "frequency":
        if high:
            return "frequent"
        if low:
            return "one-off" if median == 1 else "infrequent"
        return "occasional"
    if feature == "monetary":
        return "high spend" if high else "low spend" if low else "mid spend"
    return f"{'high' if high else 'low' if low else 'mid'} {feature}"


def cluster_names(
    z_means: np.ndarray, medians: np.ndarray, features: Sequence[str], sizes: Sequence[int] | None = None
) -> list[str]:
    """One unique name per cluster (rows of ``z_means``/``medians``, one column per feature; ``z_means``
    in the transformed space, ``medians`` in the original units; ``sizes``: customers per cluster,
    None = judge against the overall mean). See the module docstring."""
    z_means = np.asarray(z_means, dtype=float)
    if sizes is not None:
        share = np.asarray(sizes, dtype=float) / max(float(np.sum(sizes)), 1.0)
        z_means = z_means / np.maximum(1.0 - share, 1e-12)[:, None]  # the difference from the other customers
    names = []
    for zs, meds in zip(z_means, np.asarray(medians, dtype=float)):
        name = ", ".join(_word(f, z, m) for f, z, m in zip(features, zs, meds))
        names.append(name[:1].upper() + name[1:])
    for members in _shared(names):
        spread = np.ptp(z_means[members], axis=0)
        j = int(np.argmax(spread))
        if spread[j] <= 0:
            continue
        high, low = _COMPARE.get(features[j], (f"higher {features[j]}", f"lower {features[j]}"))
        zs = z_means[members, j]
        names[members[int(np.argmax(zs))]] += f" ({high})"
        names[members[int(np.argmin(zs))]] += f" ({low})"
    for members in _shared(names):
        for i, c in enumerate(members, start=1):
            names[c] += f" ({i})"
    return names


def _shared(names: list[str]) -> list[list[int]]:
    """Groups of cluster indices (in cluster order) that share a name."""
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        groups.setdefault(n, []).append(i)
    return [g for g in groups.values() if len(g) > 1]
