"""The Gauss hypergeometric function behind the Pareto/NBD likelihood (helpers.clv.models.hyp2f1):
closed forms in each evaluation range, agreement between the three methods where they overlap,
and the Pareto/NBD integral against direct numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from helpers.clv.models.hyp2f1 import hyp_cf, hyp_quad, hyp_series, log_hyp_1pq
from helpers.clv.models.pareto_nbd import _pareto_log_I


@pytest.mark.parametrize("z", [0.0, 1e-6, 0.3, 0.49, 0.51, 0.9, 0.99, 0.9985, 1 - 1e-6, 1 - 1e-12])
def test_hypergeometric_matches_closed_forms_in_series_fraction_and_quadrature_ranges(z):
    """2F1(1,1;2;z) = -log(1-z)/z and 2F1(1,2;3;z) = 2(-log(1-z) - z)/z^2: z <= 0.5 uses the power
    series, then the continued fraction, and for 1 - z < 1e-3 (with small Q) quadrature."""
    logF, _, _, dz = log_hyp_1pq(np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([z, z]))
    if z == 0.0:
        np.testing.assert_allclose(logF, 0.0, atol=1e-15)
        return
    L = -np.log1p(-z)
    f1 = L / z
    f2 = 2 * (L - z) / z**2 if z > 1e-3 else 1 + 2 * z / 3 + z**2 / 2  # series for tiny z
    np.testing.assert_allclose(logF, np.log([f1, f2]), rtol=1e-11, atol=1e-13)
    # d/dz log F for 2F1(1,1;2;z): (1/(1-z) - L/z) / (z f1)
    assert dz[0] == pytest.approx((1 / (1 - z) - L / z) / (z * f1), rel=1e-8)


def test_hypergeometric_methods_agree_with_each_other_on_hard_parameters():
    """Series, continued fraction and quadrature (values and all three derivatives) agree where
    their ranges overlap, for P, Q from 0.05 to 3000."""
    rng = np.random.default_rng(7)
    P = np.exp(rng.uniform(math.log(0.05), math.log(3000), 400))
    Q = np.exp(rng.uniform(math.log(0.05), math.log(3000), 400))
    keep = P + Q > 1.05
    P, Q = P[keep], Q[keep]
    z = rng.uniform(0.3, 0.5, P.size)
    series, cf = hyp_series(P, Q, z), hyp_cf(P, Q, z)
    z2 = 1 - np.exp(rng.uniform(math.log(2e-3), math.log(0.5), P.size))
    cf2, quad = hyp_cf(P, Q, z2), hyp_quad(P, Q, 1 - z2)
    assert cf[4].all() and cf2[4].all()
    for j in range(4):
        np.testing.assert_allclose(cf[j], series[j], rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(cf2[j], quad[j], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    "x,t,r,alpha,s,beta",
    [
        (0, 0.0, 0.55, 10.6, 0.61, 11.7),  # CDNOW-like, x = 0
        (200, 5.0, 0.5, 100.0, 0.6, 0.5),  # alpha >> beta, large x (z near 1)
        (150, 0.5, 0.5, 0.05, 0.6, 80.0),  # alpha << beta, large x (z near 1)
        (3, 2.0, 0.5, 8.0, 25.0, 7.5),  # alpha > beta, large s
        (2, 1.0, 0.2, 1.0, 15000.0, 5e6),  # alpha << beta, huge s (continued-fraction / quadrature)
    ],
)
def test_pareto_integral_matches_direct_numerical_integration(x, t, r, alpha, s, beta):
    """log I(t), I(t) = int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du, against scipy quad."""
    logI, grad = _pareto_log_I(np.array([float(x)]), np.array([t]), r, alpha, s, beta)

    def log_f(u):
        return -(r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u)

    scale = min(alpha + t, beta + t) / (r + x + s + 1)  # decay length near u = t
    g0 = log_f(t)
    # integrate over w = log(u - t) on [-60, 60]: both tails are below e^-60 there
    total = integrate.quad(
        lambda w: np.exp(log_f(t + np.exp(w)) - g0 + w),
        -60.0,
        60.0,
        points=[math.log(scale)],
        epsabs=0,
        epsrel=1e-12,
        limit=500,
    )[0]
    assert logI[0] == pytest.approx(g0 + math.log(total), rel=1e-9, abs=1e-9)
    # gradient against central differences of the same function (log I can be ~1e5 in size, so
    # a relative step of 1e-4 balances round-off against truncation)
    theta = np.array([r, alpha, s, beta])
    h = 1e-4
    for j in range(4):
        up, dn = theta.copy(), theta.copy()
        up[j] *= 1 + h
        dn[j] *= 1 - h
        f_up = _pareto_log_I(np.array([float(x)]), np.array([t]), *up)[0][0]
        f_dn = _pareto_log_I(np.array([float(x)]), np.array([t]), *dn)[0][0]
        fd = (f_up - f_dn) / (2 * h * theta[j])
        assert grad[0, j] * theta[j] == pytest.approx(fd * theta[j], rel=1e-5, abs=1e-5)
