"""A simulated satisfaction survey with a known structural model, for checking PLS path models.

``simulate_index_survey(n, seed)`` draws ``n`` respondents from a recursive structural model of
standardised latent constructs (default: the ECSI-style bank model, six constructs) measured by
reflective items:

* exogenous constructs are independent N(0, 1); an endogenous construct ``η_j = Σ β_ij η_i + ζ_j``
  over its predecessors, with ``var(ζ_j) = 1 - β'Φβ`` so every construct has variance 1 (``Φ`` the
  implied correlations of the predecessors; a model explaining more than all variance is refused);
* item ``x = λ η + sqrt(1 - λ²) ε`` (ε standard normal), so ``λ`` is the item's true loading;
* with ``scale=(lo, hi)`` the items are put on a rating scale: ``round(lo + 0.7 (hi - lo) +
  0.2 (hi - lo) x)`` clipped to ``[lo, hi]`` (a realistic top-heavy spread with some ceiling); with
  ``scale=None`` they stay continuous (nothing lost to rounding or clipping);
* ``missing`` blanks that share of the answers at random (its own random stream).

PLS path estimates are close to the true ``β`` when blocks are reliable, slightly attenuated
otherwise (PLS-PM is consistent only "at large": as items per block grow). The truth has the paths
(``"A->B"``), the loadings and the blocks; ``details["latent"]`` the latent values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from helpers.core import simulate as sim
from helpers.core.simulate import SyntheticData

from .spec import build_spec

__all__ = ["DEFAULT_ITEMS", "DEFAULT_PATHS", "simulate_index_survey"]

#: The bank/ECSI-style structural model: (from, to) -> true standardised path coefficient.
DEFAULT_PATHS = {
    ("IMAG", "EXPE"): 0.55,
    ("IMAG", "SAT"): 0.20,
    ("IMAG", "LOY"): 0.25,
    ("EXPE", "QUAL"): 0.60,
    ("EXPE", "VAL"): 0.15,
    ("QUAL", "VAL"): 0.55,
    ("QUAL", "SAT"): 0.25,
    ("VAL", "SAT"): 0.40,
    ("SAT", "LOY"): 0.50,
}
#: Items per construct of the default model.
DEFAULT_ITEMS = {"IMAG": 5, "EXPE": 5, "QUAL": 5, "VAL": 4, "SAT": 4, "LOY": 4}


def simulate_index_survey(
    n: int,
    seed: int | None = 0,
    *,
    paths: Mapping[tuple[str, str], float] | None = None,
    items: int | Mapping[str, int] | None = None,
    loading: float | Mapping[str, float] = 0.85,
    scale: tuple[int, int] | None = (0, 10),
    missing: float = 0.0,
) -> SyntheticData:
    """Simulate the survey (see the module docstring). ``items``: per construct or one number for
    all (default :data:`DEFAULT_ITEMS`, else 4); ``loading``: one true loading for every item, or
    per construct. The frame has ``respondent_id`` and the items ``<construct lower-case><k>``."""
    n = sim.check_rows(n, "n")
    paths = dict(DEFAULT_PATHS if paths is None else paths)
    constructs = list(dict.fromkeys(c for pair in paths for c in pair))
    if items is None:
        counts = {c: DEFAULT_ITEMS.get(c, 4) for c in constructs}
    elif isinstance(items, Mapping):
        counts = {c: int(items.get(c, 4)) for c in constructs}
    else:
        counts = dict.fromkeys(constructs, int(items))
    lam = {c: float(loading[c] if isinstance(loading, Mapping) else loading) for c in constructs}
    for c, v in lam.items():
        if not 0 < abs(v) <= 1:
            raise ValueError(f"The loading of construct {c!r} must be in (0, 1], got {v!r}.")
    if not 0 <= missing < 1:
        raise ValueError(f"missing must be a share in [0, 1), got {missing!r}.")
    blocks = {c: [f"{c.lower()}{i}" for i in range(1, counts[c] + 1)] for c in constructs}
    spec = build_spec(blocks, list(paths))  # checks the model (no cycle, every construct linked)

    k = len(constructs)
    B = np.zeros((k, k))
    for (a, b), beta in paths.items():
        B[constructs.index(a), constructs.index(b)] = beta
    order = _topological(spec.adjacency)
    rng = sim.rng(seed)
    phi = np.eye(k)
    eta = np.empty((n, k))
    done: list[int] = []
    for j in order:
        pred = spec.predecessors(j)
        if pred.size:
            beta = B[pred, j]
            explained = float(beta @ phi[np.ix_(pred, pred)] @ beta)
            if explained >= 1:
                raise ValueError(
                    f"The paths into {constructs[j]!r} would explain {explained:.2f} of its variance (more than all "
                    "of it); make them smaller."
                )
            eta[:, j] = eta[:, pred] @ beta + np.sqrt(1 - explained) * rng.standard_normal(n)
            for i in done:
                phi[i, j] = phi[j, i] = float(beta @ phi[pred, i])
        else:
            eta[:, j] = rng.standard_normal(n)
        done.append(j)

    columns: dict[str, np.ndarray] = {}
    for j, c in enumerate(constructs):
        for item in blocks[c]:
            x = lam[c] * eta[:, j] + np.sqrt(1 - lam[c] ** 2) * rng.standard_normal(n)
            if scale is not None:
                lo, hi = scale
                x = np.clip(np.round(lo + 0.7 * (hi - lo) + 0.2 * (hi - lo) * x), lo, hi)
            columns[item] = x
    frame = pd.DataFrame(columns)
    if missing > 0:
        blank = sim.rng(seed, sim.STREAM_MESSY).random(frame.shape) < missing
        frame = frame.mask(blank)
    frame.insert(0, "respondent_id", [f"R{i:07d}" for i in range(1, n + 1)])
    truth = sim.truth_dict(
        paths={f"{a}->{b}": float(v) for (a, b), v in paths.items()},
        loadings={item: lam[c] for c in constructs for item in blocks[c]},
        blocks=blocks,
        scale=list(scale) if scale is not None else None,
        latent_correlations={
            f"{constructs[i]}~{constructs[j]}": float(phi[i, j]) for i in range(k) for j in range(i + 1, k)
        },
    )
    return SyntheticData("pls_survey", frame, truth, {"latent": pd.DataFrame(eta, columns=constructs)})


def _topological(adjacency: np.ndarray) -> list[int]:
    """Construct positions so that every path goes from an earlier to a later one."""
    indegree = adjacency.sum(axis=0).astype(int)
    ready = [j for j in range(len(indegree)) if indegree[j] == 0]
    order = []
    while ready:
        j = ready.pop(0)
        order.append(j)
        for child in np.flatnonzero(adjacency[j]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(int(child))
    return order
