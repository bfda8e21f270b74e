"""Spark as the engine: one shared SparkSession per process, and a DuckDB-like connection over it.

The data contracts write their reads, casts and rules as SQL in DuckDB's dialect. On Spark the
same statements go through :class:`SparkConnection`, which parses each one with sqlglot,
rewrites the few functions Spark spells differently (full-match regular expressions, ``isinf``,
``try_strptime`` with strftime codes, which become Java datetime patterns) and runs it with
``spark.sql``. ``CREATE TEMP TABLE`` becomes a cached temporary view, ``CREATE TEMP VIEW`` a
lazy one, ``DROP`` drops the view and frees its cache. Heavy aggregations do not come through
here: they are Ibis expressions, run by Ibis's pyspark backend on the same session.

Settings (environment, read when the session starts):

- ``SPARK_MASTER``: where to run, default ``local[2]`` (e.g. ``spark://host:7077``, ``yarn``,
  ``k8s://https://...``).
- ``WORKBENCH_SPARK_CONF``: more ``spark.*`` settings, ``key=value`` pairs separated by ``;``
  or new lines (e.g. ``spark.driver.memory=8g;spark.sql.shuffle.partitions=200``). They
  override the defaults in :data:`DEFAULT_CONF`, chosen for one machine: few shuffle
  partitions, no web UI, dates in UTC, and SQL that returns NULL instead of failing on a bad
  cast, as DuckDB's ``TRY_CAST`` does.

Java 17 comes from the system (Debian: ``openjdk-17-jre-headless``); pyspark from the
``spark`` extra (``pip install -e ".[spark]"`` or ``make setup-spark``).
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

import pandas as pd

SPARK_MASTER_ENV = "SPARK_MASTER"
SPARK_CONF_ENV = "WORKBENCH_SPARK_CONF"
DEFAULT_MASTER = "local[2]"
DEFAULT_CONF = {
    "spark.app.name": "workbench",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.caseSensitive": "true",
}
INSTALL_HINT = 'pip install -e ".[spark]" (or make setup-spark)'
JAVA_HINT = "sudo apt-get install openjdk-17-jre-headless (Debian/Ubuntu), or set JAVA_HOME"


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot start here (pyspark or Java missing); the message says how to get it."""


def spark_conf() -> dict[str, str]:
    """The session's settings: :data:`DEFAULT_CONF`, then ``WORKBENCH_SPARK_CONF``."""
    conf = dict(DEFAULT_CONF)
    for part in os.environ.get(SPARK_CONF_ENV, "").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise ValueError(
                f"{SPARK_CONF_ENV}: expected spark.key=value pairs separated by ';', got {part.strip()!r}."
            )
        conf[key.strip()] = value.strip()
    return conf


def master() -> str:
    return os.environ.get(SPARK_MASTER_ENV) or DEFAULT_MASTER


def check_available() -> None:
    """Raise :class:`EngineUnavailable` naming what is missing (pyspark, Java)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailable(f"The Spark engine needs pyspark, which is not installed: {INSTALL_HINT}.") from None
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))):
        raise EngineUnavailable(f"The Spark engine needs Java 17, which was not found: {JAVA_HINT}.")


_lock = threading.Lock()
_session = None


def spark_session():
    """The process's one SparkSession (started on first use with :func:`master` and :func:`spark_conf`)."""
    global _session
    with _lock:
        if _session is None:
            check_available()
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.master(master())
            for key, value in spark_conf().items():
                builder = builder.config(key, value)
            _session = builder.getOrCreate()
            _session.sparkContext.setLogLevel("FATAL")  # errors reach Python as exceptions
        return _session


# --------------------------------------------------------------------------------------------
# DuckDB SQL on Spark


def to_spark_sql(node) -> str:
    """Spark SQL for a sqlglot expression parsed from DuckDB's dialect."""
    from sqlglot import exp

    def rewrite(n):
        if isinstance(n, exp.RegexpFullMatch):
            pattern = n.expression
            if isinstance(pattern, exp.Literal):
                pattern = exp.Literal.string(f"^(?:{pattern.this})$")
            else:
                pattern = exp.func("concat", exp.Literal.string("^(?:"), pattern, exp.Literal.string(")$"))
            return exp.RegexpLike(this=n.this, expression=pattern)
        if isinstance(n, exp.IsInf):
            return exp.EQ(this=exp.Abs(this=n.this), expression=exp.cast(exp.Literal.string("Infinity"), "double"))
        if isinstance(n, exp.Anonymous) and n.name.lower() == "timezone":  # wall clock in a zone
            zone, value = n.expressions
            return exp.func("from_utc_timestamp", value, zone)  # the session's time zone is UTC
        if isinstance(n, exp.Interval) and isinstance(n.this, exp.Paren):
            return exp.Interval(this=n.this.this, unit=n.args.get("unit"))
        if isinstance(n, exp.Anonymous) and n.name.lower() == "try_strptime":
            value, fmt = n.expressions  # to_timestamp gives NULL on failure with ANSI mode off
            if not isinstance(fmt, exp.Literal):
                return exp.StrToTime(this=value, format=fmt)
            return exp.Anonymous(this="to_timestamp", expressions=[value, exp.Literal.string(java_format(fmt.this))])
        return n

    # a rewritten node's own arguments are not visited again, so rewrite until nothing changes
    for _ in range(8):
        before = node.sql(dialect="duckdb")
        node = node.transform(rewrite)
        if node.sql(dialect="duckdb") == before:
            break
    return node.sql(dialect="spark")


#: strftime codes -> Java datetime pattern letters (single letters parse one or two digits, as
#: strftime and DuckDB do); %z takes +02:00, +0200 and Z.
JAVA_CODES = {
    "Y": "yyyy", "y": "yy", "m": "M", "d": "d", "H": "H", "I": "h", "M": "m", "S": "s", "f": "SSSSSS",
    "p": "a", "b": "MMM", "B": "MMMM", "a": "EEE", "A": "EEEE", "j": "D", "z": "[XXX][XX]", "%": "%",
}  # fmt: skip


def java_format(strftime: str) -> str:
    """The Java datetime pattern Spark parses like ``strftime``: ``%d/%m/%Y`` -> ``d/M/yyyy``,
    ``%Y-%m-%dT%H:%M:%S%z`` -> ``yyyy-M-d'T'H:m:s[XXX][XX]`` (letters that are text are quoted)."""
    out, i = [], 0
    while i < len(strftime):
        ch = strftime[i]
        if ch == "%" and i + 1 < len(strftime):
            code = strftime[i + 1]
            if code not in JAVA_CODES:
                raise ValueError(f"strftime code %{code} has no Spark equivalent here (format {strftime!r}).")
            out.append(JAVA_CODES[code])
            i += 2
            continue
        out.append(f"'{ch}'" if ch.isalpha() else ("''" if ch == "'" else ch))
        i += 1
    return "".join(out)


class SparkResult:
    """What :meth:`SparkConnection.sql` returns for a query: duckdb-like ``df()``, ``fetchall()``,
    ``columns`` and ``to_arrow_reader()``; ``frame`` is the Spark DataFrame."""

    def __init__(self, frame) -> None:
        self.frame = frame

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def df(self) -> pd.DataFrame:
        return self.frame.toPandas()

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self.frame.collect()]

    def to_arrow_reader(self, batch_size: int = 100_000):
        import pyarrow as pa

        table = self.frame.toArrow()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_size))


class SparkConnection:
    """The subset of a DuckDB connection the contracts use, on a SparkSession (see module doc)."""

    dialect = "spark"

    def __init__(self, session) -> None:
        self.session = session
        self._cached: dict[str, Any] = {}

    def sql(self, query: str, params: Any = None) -> SparkResult | None:
        import sqlglot
        from sqlglot import exp

        if params:
            raise ValueError("SparkConnection.sql takes no parameters; quote literals with sql_literal.")
        node = sqlglot.parse_one(query, read="duckdb")
        if isinstance(node, exp.Create):
            name = node.find(exp.Table).name
            frame = self.session.sql(to_spark_sql(node.expression))
            kind = str(node.args.get("kind") or "").upper()
            self.drop(name)
            if kind == "TABLE":  # materialised once, like DuckDB's temp table
                frame = frame.cache()
                frame.count()
                self._cached[name] = frame
            frame.createOrReplaceTempView(name)
            return None
        if isinstance(node, exp.Drop):
            for table in node.find_all(exp.Table):
                self.drop(table.name)
            return None
        return SparkResult(self.session.sql(to_spark_sql(node)))

    execute = sql

    def drop(self, name: str) -> None:
        frame = self._cached.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.session.catalog.dropTempView(name)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """A small pandas table as a temporary view (gaps, Excel rows)."""
        self.drop(name)
        frame = frame.copy()
        for col in frame.columns:  # missing text is NULL, not the string "nan"; plain objects for Arrow
            if not pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        self.session.createDataFrame(frame).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.drop(name)

    def view(self, name: str, frame, cache: bool = False, owned: bool = False) -> None:
        """A Spark DataFrame as a temporary view: cached and counted now when ``cache``; ``owned``:
        the frame is already cached, and its cache is freed with the view."""
        self.drop(name)
        if cache:
            frame = frame.cache()
            frame.count()
        if cache or owned:
            self._cached[name] = frame
        frame.createOrReplaceTempView(name)

    def close(self) -> None:
        for name in list(self._cached):
            self.drop(name)
