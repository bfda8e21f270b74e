"""Media transforms shared by the channel models and the spend simulator.

- :func:`geometric_adstock`: the carry-over of spend into later periods;
- :func:`logistic_saturation`: diminishing returns of (scaled) adstocked spend.
"""

from __future__ import annotations

import numpy as np

__all__ = ["geometric_adstock", "logistic_saturation"]


def geometric_adstock(x: np.ndarray, alpha: float, l_max: int = 8, normalize: bool = True) -> np.ndarray:
    """Geometric adstock along axis 0: y_t = sum_{l=0}^{l_max-1} w_l x_{t-l}, w_l = alpha^l
    (divided by sum w when ``normalize``); spend before the first period counts as zero."""
    x = np.asarray(x, dtype=float)
    w = alpha ** np.arange(l_max)
    if normalize:
        w = w / w.sum()
    return np.convolve(x, w)[: x.size]


def logistic_saturation(x: np.ndarray, lam: float) -> np.ndarray:
    """(1 - exp(-lam x)) / (1 + exp(-lam x)), which is tanh(lam x / 2)."""
    return np.tanh(lam * np.asarray(x, dtype=float) / 2.0)
