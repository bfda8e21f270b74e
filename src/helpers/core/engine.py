"""The data engine: DuckDB embedded (the default) or Spark, each shared with Ibis.

Files are read and checked by the engine (see ``helpers.contracts``); heavy aggregations are
Ibis expressions over the same connection, so the same code runs on DuckDB here and on Spark
(:mod:`helpers.core.spark`) when data outgrows one machine. Notebooks only ever receive the
small pandas tables that come out.

Which engine: the notebook parameter ``engine`` (``"duckdb"`` or ``"spark"``), else the
environment variable ``WORKBENCH_ENGINE``, else DuckDB. One engine of each kind per process.

Memory: DuckDB is capped at ``memory_limit`` (e.g. ``"2GB"``), taken from the argument, else the
environment variable ``WORKBENCH_MEMORY_LIMIT``, else DuckDB's default (80 % of RAM). Above the
cap DuckDB spills to ``temp_directory``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

MEMORY_LIMIT_ENV = "WORKBENCH_MEMORY_LIMIT"
THREADS_ENV = "WORKBENCH_THREADS"
#: Where DuckDB spills when it runs out of memory (the runner gives each kernel its own folder and
#: removes it after the run); default a folder per process in the system's temporary folder.
TEMP_DIR_ENV = "WORKBENCH_DUCKDB_TEMP"
ENGINE_ENV = "WORKBENCH_ENGINE"
ENGINES = ("duckdb", "spark")


@dataclass
class Engine:
    """One DuckDB connection and the Ibis backend that runs on it."""

    name = "duckdb"
    memory_limit: str | None = None
    threads: int | None = None
    temp_directory: str | None = None
    con: duckdb.DuckDBPyConnection = field(init=False, repr=False)
    _ibis: Any = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        limit = self.memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or None
        threads = self.threads or (int(os.environ[THREADS_ENV]) if os.environ.get(THREADS_ENV) else None)
        config: dict[str, Any] = {}
        if limit:
            config["memory_limit"] = str(limit)
            self.memory_limit = str(limit)
        if threads:
            config["threads"] = int(threads)
        config["temp_directory"] = (
            self.temp_directory
            or os.environ.get(TEMP_DIR_ENV)
            or os.path.join(tempfile.gettempdir(), f"workbench-duckdb-{os.getpid()}")
        )
        # Memory a finished query freed goes back to the system: with DuckDB's defaults (flush
        # above 128 MiB / 512 MiB) a 10-million-row report kept 0.4 GB more at its peak.
        config["allocator_flush_threshold"] = "16MiB"
        config["allocator_bulk_deallocation_flush_threshold"] = "16MiB"
        self.con = duckdb.connect(config=config)
        try:  # no progress bars in logs and reports (inside Jupyter DuckDB may refuse the setting)
            self.con.sql("SET enable_progress_bar = false")
        except duckdb.Error:
            pass

    @property
    def ibis(self):
        """The Ibis DuckDB backend over this connection (created on first use)."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def table(self, name: str):
        """An Ibis table expression for a table or view in this connection."""
        return self.ibis.table(name)

    def execute(self, expr) -> pd.DataFrame:
        """Run an Ibis expression here and return a pandas DataFrame."""
        return self.ibis.execute(expr)

    def configure(self, memory_limit: str | None = None, threads: int | None = None) -> None:
        """Change the memory cap or thread count of the live connection (``None``: environment or
        DuckDB's default)."""
        limit = memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or None
        threads = threads or (int(os.environ[THREADS_ENV]) if os.environ.get(THREADS_ENV) else None)
        self.con.execute(f"SET memory_limit = '{limit}'" if limit else "RESET memory_limit")
        self.con.execute(f"SET threads = {int(threads)}" if threads else "RESET threads")
        self.memory_limit = str(limit) if limit else None
        self.threads = int(threads) if threads else None

    def describe(self) -> str:
        """What ran the queries, for a report's provenance (``DuckDB 1.4.2``)."""
        return f"DuckDB {duckdb.__version__}"

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    """The process's SparkSession, a DuckDB-like connection over it (for the contracts' SQL) and
    Ibis's pyspark backend (for the heavy aggregations). See :mod:`helpers.core.spark`."""

    name = "spark"

    def __init__(self) -> None:
        from . import spark

        self.session = spark.spark_session()
        self.con = spark.SparkConnection(self.session)
        self._ibis = None

    @property
    def ibis(self):
        """Ibis's pyspark backend on the session (created on first use)."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.pyspark.connect(self.session)
        return self._ibis

    table = Engine.table
    execute = Engine.execute

    def configure(self, memory_limit: str | None = None, threads: int | None = None) -> None:
        """Nothing to change on a running session: Spark's memory and cores are set when it
        starts (``WORKBENCH_SPARK_CONF``, ``SPARK_MASTER``)."""

    def describe(self) -> str:
        return f"Spark {self.session.version} on {self.session.sparkContext.master}"

    def close(self) -> None:
        self.con.close()


_default: Engine | SparkEngine | None = None
_engines: dict[str, Engine | SparkEngine] = {}


def engine_name(requested: str | None = None) -> str:
    """``requested``, else ``WORKBENCH_ENGINE``, else ``"duckdb"``; a ValueError for others."""
    name = (requested or os.environ.get(ENGINE_ENV) or "duckdb").strip().lower()
    if name not in ENGINES:
        source = "engine" if requested else ENGINE_ENV
        raise ValueError(f"{source} must be one of {', '.join(ENGINES)}, not {name!r}.")
    return name


def default_engine() -> Engine | SparkEngine:
    """The process-wide engine (created on first use with the environment's settings)."""
    global _default
    if _default is None:
        _default = set_default_engine()
    return _default


def set_default_engine(
    memory_limit: str | None = None, threads: int | None = None, engine: str | None = None
) -> Engine | SparkEngine:
    """Choose and configure the process-wide engine, e.g. from a notebook's ``engine`` and
    ``memory_limit`` parameters (``engine=None``: ``WORKBENCH_ENGINE``, else DuckDB).

    An existing engine is kept and re-configured, never closed: in JupyterLab an analyst re-runs
    the setup cell, and tables loaded earlier in the session must stay usable."""
    global _default
    name = engine_name(engine)
    if name not in _engines:
        _engines[name] = Engine(memory_limit=memory_limit, threads=threads) if name == "duckdb" else SparkEngine()
    else:
        _engines[name].configure(memory_limit=memory_limit, threads=threads)
    _default = _engines[name]
    return _default


# Heavy aggregations written as Ibis expressions register here with a sample schema, so a test
# can compile every one of them for Spark and keep them portable.
PORTABLE_EXPRESSIONS: dict[str, tuple[Any, dict[str, str]]] = {}


def portable(schema: dict[str, str]):
    """Register an Ibis expression builder ``f(table) -> expr`` as one that must compile for Spark.

    ``schema`` is an example input schema (column -> Ibis type) used to build the expression
    in the portability test.
    """

    def register(func):
        PORTABLE_EXPRESSIONS[f"{func.__module__}.{func.__qualname__}"] = (func, schema)
        return func

    return register


class Materialised:
    """An Ibis expression computed once into a temporary table of its own backend, for an
    analysis that aggregates the same intermediate several times (e.g. purchase days, read by
    the CLV summaries, tracking and cohorts): ``with Materialised(expr, "wb_days") as days: ...``
    gives ``days``, an Ibis table over the stored rows, and drops the table on exit. DuckDB
    stores it as a TEMP table (spilling above ``memory_limit``); Spark as a cached temporary view."""

    def __init__(self, expr, name: str):
        self.expr = expr
        self.name = name
        self.backend = expr._find_backend()
        self.table = None

    def __enter__(self):
        sql = str(self.backend.compile(self.expr))
        if self.backend.name == "duckdb":
            self.backend.con.execute(f'CREATE OR REPLACE TEMP TABLE "{self.name}" AS {sql}')
        else:  # pyspark
            frame = self.backend._session.sql(sql).cache()
            frame.createOrReplaceTempView(self.name)
        self.table = self.backend.table(self.name)
        return self.table

    def __exit__(self, *exc) -> None:
        if self.backend.name == "duckdb":
            self.backend.con.execute(f'DROP TABLE IF EXISTS "{self.name}"')
        else:
            self.backend._session.catalog.uncacheTable(self.name)
            self.backend._session.catalog.dropTempView(self.name)
