"""Fixtures shared across test modules: the data engine and the bundled CDNOW data.

Module-scoped fixtures give each test module its own engine (tests in a module share it, as
they would share a notebook's connection); the CDNOW files are read once per session and each
test module gets its own copy (module-scoped, so module-scoped fixtures can build on them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from helpers.core.engine import Engine

# Each pytest-xdist worker gets its share of the cores. OpenMP and BLAS pools sized for the whole
# machine oversubscribe it when two workers fit models at once (scikit-learn's gradient boosting
# ran 50x slower: OpenMP threads spin-waiting for cores the other worker holds).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max(1, (os.cpu_count() or 1) // _WORKERS))

# Report previews start a browser after every runner batch: off for the tests that only need the
# reports (tests/test_browser.py turns them on where previews are what it tests).
os.environ.setdefault("WORKBENCH_PREVIEWS", "0")

DATA = Path(__file__).resolve().parents[1] / "data"
CDNOW = DATA / "cdnow"


@pytest.fixture(scope="module")
def engine():
    """A DuckDB engine of the module's own (closed after the module's tests)."""
    eng = Engine()
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def _cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="session")
def _cdnow_transactions() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_sample_transactions.csv", dtype={"customer_id": str}, parse_dates=["date"])


@pytest.fixture(scope="module")
def cdnow_summary(_cdnow_summary) -> pd.DataFrame:
    """The published calibration summary of the CDNOW sample (2,357 customers): ``ID, x, t_x, T, zbar``."""
    return _cdnow_summary.copy()


@pytest.fixture(scope="module")
def cdnow_transactions(_cdnow_transactions) -> pd.DataFrame:
    """The CDNOW 1/10 sample's 6,919 purchases: ``customer_id`` (text), ``date``, ``quantity``,
    ``amount``, ``master_id``."""
    return _cdnow_transactions.copy()


# the three CLV models fitted to the published CDNOW summary (weeks), shared by the model tests


@pytest.fixture(scope="module")
def bg(cdnow_summary):
    from helpers.clv import BetaGeoModel

    return BetaGeoModel().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])


@pytest.fixture(scope="module")
def pnbd(cdnow_summary):
    from helpers.clv import ParetoNBDModel

    return ParetoNBDModel().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])


@pytest.fixture(scope="module")
def gg(cdnow_summary):
    from helpers.clv import GammaGammaModel

    repeat = cdnow_summary[cdnow_summary["x"] > 0]
    return GammaGammaModel().fit(repeat["x"], repeat["zbar"])


@pytest.fixture
def stable_helpers(tmp_path_factory, monkeypatch):
    """Helper code is part of a run's key, and other people edit src/helpers while tests run:
    hash a stable stand-in package instead, so that "unchanged" really is unchanged."""
    from helpers.runner import common

    fake = tmp_path_factory.mktemp("helpers_pkg")
    (fake / "__init__.py").write_text("")
    monkeypatch.setattr(common, "HELPERS_DIR", fake)
    return fake
