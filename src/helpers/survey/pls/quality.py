"""Measurement quality of a fitted PLS path model: reliability, AVE, HTMT, Fornell-Larcker, GoF.

All from the item correlation matrix ``R`` of the data the model used (after mean replacement or
listwise deletion) and the PLS loadings; ``k`` is the number of items of a block.

* ``alpha``: *standardised* Cronbach's alpha as R plspm reports it, on z-scores:
  ``k/(k-1) · (ΣR - k)/ΣR`` over the block's correlation matrix, negative values floored at 0.
* ``rho_dg``: Dillon-Goldstein's rho as R plspm computes it, from the items' correlations ``c`` with
  the block's *first principal component* (not the PLS construct): ``(Σc)² / ((Σc)² + k - Σc²)``.
* ``rho_c``: composite reliability from the PLS loadings ``λ`` (seminr's ``rhoC``, SmartPLS):
  ``(Σλ)² / ((Σλ)² + Σ(1 - λ²))``.
* ``ave``: average variance extracted, the mean squared PLS loading (plspm's block communality).
* ``eig_1st``, ``eig_2nd``: the two largest eigenvalues of the block's correlation matrix
  (unidimensionality: the first should exceed 1 and the second should not).

alpha, rho_dg and rho_c are NaN for formative (Mode B) blocks, where internal consistency is not
expected; for them ``ave`` is only the mean communality. A one-item block has alpha = rho = 1.

* HTMT (Henseler, Ringle and Sarstedt 2015): for constructs i and j the mean correlation between
  items of i and items of j, over the geometric mean of the mean correlation among i's items and
  among j's (signed correlations, as published; a one-item block's own mean is 1). Values above
  0.85-0.90 suggest the two constructs are not distinct. Meant for reflective blocks.
* Fornell-Larcker: the construct correlations with ``sqrt(AVE)`` on the diagonal; discriminant
  validity wants each diagonal value above the correlations in its row and column.
* GoF (Tenenhaus et al. 2005, as plspm): ``sqrt(mean communality x mean R²)``, the communality
  averaged over the items of blocks with more than one item, R² over the endogenous constructs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .spec import ModelSpec

__all__ = ["fornell_larcker", "gof", "htmt", "reliability"]


def reliability(R: np.ndarray, loadings: np.ndarray, spec: ModelSpec) -> pd.DataFrame:
    """One row per construct: ``construct, mode, items, alpha, rho_dg, rho_c, ave, eig_1st,
    eig_2nd``, indexed by construct (see the module docstring)."""
    rows = []
    for j, c in enumerate(spec.constructs):
        b = spec.positions[j]
        k = b.size
        lam = loadings[b]
        Rb = R[np.ix_(b, b)]
        eig = np.linalg.eigvalsh(Rb)[::-1]
        row = {
            "construct": c,
            "mode": spec.modes[c],
            "items": k,
            "alpha": np.nan,
            "rho_dg": np.nan,
            "rho_c": np.nan,
            "ave": float(np.mean(lam**2)),
            "eig_1st": float(eig[0]),
            "eig_2nd": float(eig[1]) if k > 1 else np.nan,
        }
        if spec.modes[c] == "A":
            if k == 1:
                row.update(alpha=1.0, rho_dg=1.0, rho_c=1.0)
            else:
                total = Rb.sum()
                row["alpha"] = max(0.0, k / (k - 1) * (total - k) / total)
                vals, vecs = np.linalg.eigh(Rb)
                corr = vecs[:, -1] * np.sqrt(vals[-1])
                row["rho_dg"] = float(corr.sum() ** 2 / (corr.sum() ** 2 + k - (corr**2).sum()))
                row["rho_c"] = float(lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("construct", drop=False).rename_axis(None)


def htmt(R: np.ndarray, spec: ModelSpec) -> pd.DataFrame:
    """The heterotrait-monotrait ratio for every pair of constructs (symmetric, NaN diagonal)."""
    k = len(spec.constructs)
    mono = np.empty(k)
    for j, b in enumerate(spec.positions):
        if b.size == 1:
            mono[j] = 1.0
        else:
            Rb = R[np.ix_(b, b)]
            mono[j] = (Rb.sum() - b.size) / (b.size * (b.size - 1))
    out = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            het = R[np.ix_(spec.positions[i], spec.positions[j])].mean()
            denom = mono[i] * mono[j]
            out[i, j] = out[j, i] = het / np.sqrt(denom) if denom > 0 else np.nan
    return pd.DataFrame(out, index=list(spec.constructs), columns=list(spec.constructs))


def fornell_larcker(phi: np.ndarray, ave: np.ndarray, spec: ModelSpec) -> pd.DataFrame:
    """Construct correlations with ``sqrt(AVE)`` on the diagonal."""
    out = phi.copy()
    np.fill_diagonal(out, np.sqrt(ave))
    return pd.DataFrame(out, index=list(spec.constructs), columns=list(spec.constructs))


def gof(loadings: np.ndarray, r2: np.ndarray, spec: ModelSpec) -> float:
    """Tenenhaus et al.'s goodness of fit, as R plspm computes it (see the module docstring)."""
    multi = np.concatenate([b for b in spec.positions if b.size > 1] or [np.empty(0, dtype=np.intp)])
    endo = r2[np.isfinite(r2)]
    if multi.size == 0 or endo.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(loadings[multi] ** 2) * np.mean(endo)))
