"""Media transforms shared by the channel models and the spend simulator.

Adstock (the carry-over of spend into later periods; 1-D series, zero spend before the first
period, ``l_max`` lags 0..l_max-1):

- :func:`geometric_adstock`: weights alpha^l;
- :func:`weibull_adstock`: weights from a Weibull distribution, Robyn's shape/scale convention.

Saturation (diminishing returns of adstocked, scaled spend x >= 0, values in [0, 1)):

- :func:`logistic_saturation`: (1 - exp(-lam x)) / (1 + exp(-lam x));
- :func:`hill_saturation`: x^slope / (x^slope + half^slope).

:func:`geometric_weights` and :func:`weibull_weights` give the lag weights themselves.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "geometric_adstock",
    "geometric_weights",
    "hill_saturation",
    "logistic_saturation",
    "weibull_adstock",
    "weibull_weights",
]


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


def geometric_weights(alpha: float, l_max: int = 8, normalize: bool = True) -> np.ndarray:
    """The lag weights of :func:`geometric_adstock`: alpha^l, l = 0..l_max-1 (summing to 1 when
    ``normalize``)."""
    w = float(alpha) ** np.arange(l_max, dtype=float)
    return w / w.sum() if normalize else w


def weibull_weights(
    shape: float, scale: float, l_max: int = 8, kind: str = "pdf", normalize: bool = True
) -> np.ndarray:
    """Lag weights w_0..w_{l_max-1} of a Weibull adstock, in Robyn's convention.

    ``scale`` is a fraction of the window: the Weibull scale is lambda = 1 + scale * (l_max - 1),
    i.e. the scale-quantile of the lags 1..l_max (Robyn rounds lambda to a whole lag; it is not
    rounded here, so the weights change smoothly with ``scale``). With F and f the Weibull(shape,
    lambda) distribution and density functions:

    - ``kind="cdf"``: w_0 = 1, w_l = prod_{j=1..l} (1 - F(j)) (a decay whose rate changes with
      the lag; always decreasing);
    - ``kind="pdf"``: w_l = f(l + 1) / max_j f(j + 1) (the peak can come after the spend: a lagged
      effect; Robyn min-max-normalises over a window as long as the series, where the minimum is
      about 0, so over a short window we divide by the maximum only).

    ``shape == 0`` or ``scale == 0`` keeps the spend where it is (w = 1, 0, 0, ...), as in Robyn.
    With ``normalize`` the weights are then divided by their sum (adstocked spend stays in spend
    units, as for the normalised geometric adstock).
    """
    if kind not in ("pdf", "cdf"):
        raise ValueError(f"kind must be 'pdf' or 'cdf', got {kind!r}")
    if not (shape >= 0 and scale >= 0) or l_max < 1:
        raise ValueError(f"need shape >= 0, scale >= 0 and l_max >= 1; got shape={shape}, scale={scale}, l_max={l_max}")
    if shape == 0 or scale == 0:
        w = np.zeros(l_max)
        w[0] = 1.0
        return w
    lam = 1.0 + scale * (l_max - 1)
    lags = np.arange(1, l_max + 1, dtype=float)
    if kind == "cdf":
        survival_log = -((lags[:-1] / lam) ** shape)  # log(1 - F(j)), j = 1..l_max-1
        w = np.exp(np.concatenate([[0.0], np.cumsum(survival_log)]))
    else:
        z = lags / lam
        logf = np.log(shape / lam) + (shape - 1.0) * np.log(z) - z**shape
        w = np.exp(logf - logf.max())
    return w / w.sum() if normalize else w


def weibull_adstock(
    x: np.ndarray, shape: float, scale: float, l_max: int = 8, kind: str = "pdf", normalize: bool = True
) -> np.ndarray:
    """Weibull adstock: y_t = sum_{l=0}^{l_max-1} w_l x_{t-l} with the weights of
    :func:`weibull_weights` (Robyn's convention, see there); spend before the first period counts
    as zero."""
    x = np.asarray(x, dtype=float)
    return np.convolve(x, weibull_weights(shape, scale, l_max, kind, normalize))[: x.size]


def hill_saturation(x: np.ndarray, half: float, slope: float) -> np.ndarray:
    """Hill curve x^slope / (x^slope + half^slope) for x >= 0: 0 at x = 0, 1/2 at x = ``half`` (in
    the units of x), tending to 1; ``slope`` > 1 makes it S-shaped."""
    x = np.asarray(x, dtype=float)
    if not (half > 0 and slope > 0):
        raise ValueError(f"hill_saturation needs half > 0 and slope > 0; got half={half}, slope={slope}")
    pos = x > 0
    safe = np.where(pos, x, 1.0)
    return np.where(pos, 1.0 / (1.0 + (half / safe) ** slope), 0.0)
