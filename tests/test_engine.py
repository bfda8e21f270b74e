"""The data engine: memory cap honoured, and every heavy aggregation compiles for Spark."""

from __future__ import annotations

import importlib
import pkgutil

import ibis
import pytest
from ibis.config import Config

import helpers
from helpers.core.engine import PORTABLE_EXPRESSIONS, Engine


def _import_all_helpers():
    for mod in pkgutil.walk_packages(helpers.__path__, "helpers."):
        if mod.name.split(".")[-1] in {"__main__", "cli"}:
            continue
        importlib.import_module(mod.name)


_import_all_helpers()


class _PysparkDefaults(Config):
    treat_nan_as_null: bool = False


@pytest.fixture(autouse=True)
def _pyspark_options(monkeypatch):
    """Ibis's pyspark compiler reads ``ibis.options.pyspark``, which only the backend module (it needs
    the pyspark package and Java) registers. Without it, give the compiler the backend's default
    (NaN kept distinct from NULL) so the SQL is exactly what the backend would run."""
    if getattr(ibis.options, "pyspark", None) is None:
        monkeypatch.setattr(ibis.options, "pyspark", _PysparkDefaults())


def test_memory_limit_comes_from_argument_or_environment(monkeypatch):
    eng = Engine(memory_limit="512MB")
    assert eng.con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0] in {"512.0 MiB", "488.2 MiB"}
    eng.close()
    monkeypatch.setenv("WORKBENCH_MEMORY_LIMIT", "1GB")
    eng = Engine()
    assert eng.memory_limit == "1GB"
    assert "MiB" in eng.con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    eng.close()


def test_there_are_portable_expressions_to_check():
    assert len(PORTABLE_EXPRESSIONS) >= 5, sorted(PORTABLE_EXPRESSIONS)


@pytest.mark.parametrize("dialect", ["pyspark", "databricks"])
@pytest.mark.parametrize("name", sorted(PORTABLE_EXPRESSIONS))
def test_every_registered_aggregation_compiles_for_spark(name, dialect):
    build, schema = PORTABLE_EXPRESSIONS[name]
    expr = build(ibis.table(schema, name="input"))
    sql = ibis.to_sql(expr, dialect=dialect)
    assert "SELECT" in sql.upper()
    # ordered aggregations are rejected by the pyspark backend: collect and sort arrays instead
    assert "WITHIN GROUP" not in sql.upper()
    assert "GROUP_CONCAT" not in sql.upper()


def test_materialised_expression_is_stored_once_and_dropped_after_use():
    from helpers.core.engine import Materialised

    eng = Engine()
    eng.con.execute("CREATE TEMP TABLE src AS SELECT range AS a FROM range(5)")
    src = eng.table("src")
    with Materialised(src.mutate(b=src.a * 2), "wb_test_m") as m:
        eng.con.execute("DELETE FROM src")  # stored: later changes to the source do not reach it
        assert sorted(m.execute()["b"]) == [0, 2, 4, 6, 8]
    assert eng.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'wb_test_m'").fetchall() == [(0,)]
    with pytest.raises(RuntimeError, match="boom"), Materialised(src, "wb_test_m2"):
        raise RuntimeError("boom")
    assert eng.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'wb_test_m2'").fetchall() == [(0,)]
    eng.close()
