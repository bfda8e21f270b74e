"""Reading an input file on Spark: the same two relations as the DuckDB readers.

``tables.raw`` (``_line`` plus one string column per file column) and ``tables.rejects``
(``line, reason, raw_line``), so that the checks (:mod:`helpers.contracts.checks`, whose SQL
runs on Spark through :class:`helpers.core.spark.SparkConnection`) do not care which engine read
the file.

- Delimited text is read with every column as a string in ``PERMISSIVE`` mode with a corrupt
  record column: a record with too few or too many fields keeps its raw text there, and is
  set aside as ``too few fields (expected n, found m)`` like DuckDB's rejects. Fields are
  counted outside quotes.
- Lines: Spark keeps no line numbers, so each record gets its ordinal from
  ``monotonically_increasing_id`` (partition id in the high bits, position in the low ones)
  plus the partition's offset, which keeps the file's order for one file. Records that span
  lines (a quoted field holding a newline) and empty lines are found by the same byte scan of
  the file as on DuckDB (:mod:`helpers.contracts.textscan`); then the file is read again in
  ``multiLine`` mode and the rows set aside get their true line.
- A quote that never closes raises the same ContractError as on DuckDB.
- Parquet: columns cast to text, timestamps with a time zone as the wall-clock time in that
  zone. Excel: read by pandas (sheets are small) and handed to Spark.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from . import textscan
from .kinds import ContractError, file_label, sql_ident, sql_literal
from .readers import Source, Tables, quote_error

_q, _lit = sql_ident, sql_literal
_LOW_BITS = (1 << 33) - 1


def _uri(path: Path) -> str:
    return Path(path).resolve().as_uri()


def with_line(session, frame, start: int = 1):
    """``frame`` with ``_line``: the record's ordinal in the file plus ``start - 1``, cached."""
    from pyspark.sql import functions as F

    frame = frame.withColumn("_mid", F.monotonically_increasing_id())
    frame = frame.withColumn("_pid", F.shiftright("_mid", 33)).cache()
    counts = sorted((int(r[0]), int(r[1])) for r in frame.groupBy("_pid").count().collect())
    offsets, total = [], 0
    for pid, n in counts:
        offsets.append((pid, total))
        total += n
    if not offsets:
        offsets = [(0, 0)]
    off = session.createDataFrame(offsets, "_pid long, _off long")
    out = frame.join(F.broadcast(off), "_pid").withColumn(
        "_line", (F.col("_off") + F.col("_mid").bitwiseAND(F.lit(_LOW_BITS)) + F.lit(start)).cast("long")
    )
    out = out.drop("_mid", "_pid", "_off").cache()
    out.count()
    frame.unpersist()
    return out


def _header_names(source: Source, path: Path) -> list[str]:
    head = textscan.head_bytes(source.read_path or path, None if source.read_path else source.compression)
    enc = "utf-8" if source.read_path else source.encoding
    text = head.decode(enc, errors="replace").lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    fields = next(csv.reader(io.StringIO(first), delimiter=source.delimiter or ","), [])
    if source.header:
        return [f.strip() or f"column{i}" for i, f in enumerate(fields)]
    return [f"column{i}" for i in range(len(fields))]


def _csv(session, path: Path, source: Source, names: list[str], multiline: bool):
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(n, StringType()) for n in names] + [StructField("_corrupt", StringType())])
    reader = session.read.options(
        sep=source.delimiter or ",",
        header="true" if source.header else "false",
        mode="PERMISSIVE",
        columnNameOfCorruptRecord="_corrupt",
        encoding="UTF-8",
        quote='"',
        escape='"',
        multiLine="true" if multiline else "false",
        enforceSchema="true",
    )
    return reader.schema(schema).csv(_uri(source.read_path or path))


def _gaps(con, tables: Tables, data: np.ndarray, header: int) -> str | None:
    """The ``(g, before)`` steps from a record's ordinal to its file line (as the DuckDB reader's)."""
    extra = data - (np.arange(1, len(data) + 1, dtype="int64") + header)
    change = np.flatnonzero(np.diff(np.concatenate(([0], extra))) != 0)
    if not len(change):
        return None
    con.register(tables.gaps, pd.DataFrame({"g": change.astype("int64"), "before": extra[change].astype("int64")}))
    return tables.gaps


def gap_join(gaps: str | None, ordinal: str, alias: str = "gp") -> str:
    """A range join that adds ``before`` of the last gap step below ``ordinal`` (Spark has no ASOF join)."""
    if not gaps:
        return ""
    return (
        f"LEFT JOIN (SELECT g, before, lead(g) OVER (ORDER BY g) AS g_next FROM {_q(gaps)}) {alias} "
        f"ON {ordinal} > {alias}.g AND ({alias}.g_next IS NULL OR {ordinal} <= {alias}.g_next)"
    )


def _read_delimited(con, path: Path, source: Source, tables: Tables) -> str | None:
    session = con.session
    names = _header_names(source, path)
    header = 1 if source.header else 0
    frame = with_line(session, _csv(session, path, source, names, multiline=False), start=1 + header)
    n_records = frame.count()
    bad_quotes = frame.where("_corrupt IS NOT NULL AND instr(_corrupt, '\"') > 0").limit(1).count()
    where = source.read_path or path
    compression = None if source.read_path else source.compression
    if bad_quotes and compression != "zstd":
        quote_error(path, source)
    gaps = None
    if compression != "zstd":
        count = textscan.count_lines(where, compression)
        if not (count.empty == 0 and count.lines - header == n_records):
            records = textscan.map_records(where, compression, source.delimiter or ",")
            if records.open_quote_line is not None:
                quote_error(path, source)
            data = np.asarray(records.records[header:], dtype="int64")
            if len(data) != n_records:  # records span lines: read them whole
                frame.unpersist()
                frame = with_line(session, _csv(session, path, source, names, multiline=True), start=1 + header)
                n_records = frame.count()
            if len(data) != n_records:
                raise ContractError(
                    f"File {file_label(path)}: the reader found {n_records:,} records but the file's lines hold "
                    f"{len(data):,}; check the quotes in the file (a quote opens a value that may span lines)."
                )
            gaps = _gaps(con, tables, data, header)
    con.view(tables.body, frame)
    con._cached[tables.body] = frame
    cols = ", ".join(_q(n) for n in names)
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(tables.raw)} AS SELECT _line, {cols} FROM {_q(tables.body)} WHERE _corrupt IS NULL"
    )
    n = len(names)
    delim = _lit(source.delimiter or ",")
    found = f"array_length(string_split(regexp_replace(_corrupt, '\"[^\"]*\"', '', 'g'), {delim}))"
    line = f"_line - {header}"
    fix = " + coalesce(gp.before, 0)" if gaps else ""
    con.sql(
        f"""CREATE OR REPLACE TEMP VIEW {_q(tables.rejects)} AS
            SELECT CAST(b._line{fix} AS BIGINT) AS line,
                   CASE WHEN b.found < {n} THEN 'too few fields (expected {n}, found ' || b.found || ')'
                        ELSE 'too many fields (expected {n}, found ' || b.found || ')' END AS reason,
                   b._corrupt AS raw_line
              FROM (SELECT _line, _corrupt, {found} AS found FROM {_q(tables.body)} WHERE _corrupt IS NOT NULL) b
              {gap_join(gaps, "b." + line)}"""
    )
    return gaps


def _read_whitespace(con, path: Path, source: Source, tables: Tables) -> None:
    from pyspark.sql import functions as F

    session = con.session
    text = session.read.option("lineSep", "\n").text(_uri(source.read_path or path))
    frame = with_line(session, text, start=1)
    frame = frame.withColumn("line", F.regexp_replace("value", "\r$", "")).drop("value")
    frame = frame.where("line IS NOT NULL AND trim(line) <> ''").withColumn("parts", F.split(F.trim("line"), r"\s+"))
    first = frame.orderBy("_line").select("_line", "parts").limit(1).collect()
    if not first:
        raise ContractError("File is empty: expected a header row and at least one data row.")
    if source.header:
        names = [str(x) for x in first[0]["parts"]]
        frame = frame.where(F.col("_line") != first[0]["_line"])
    else:
        names = [f"column{i}" for i in range(len(first[0]["parts"]))]
    n = len(names)
    con.view(tables.lines, frame, cache=True)
    picks = ", ".join(f"parts[{i + 1}] AS {_q(c)}" for i, c in enumerate(names))  # DuckDB's 1-based lists
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(tables.raw)} AS SELECT _line, {picks} FROM {_q(tables.lines)} "
        f"WHERE array_length(parts) = {n}"
    )
    con.sql(
        f"""CREATE OR REPLACE TEMP VIEW {_q(tables.rejects)} AS
            SELECT _line AS line,
                   CASE WHEN array_length(parts) < {n} THEN 'too few fields' ELSE 'too many fields' END
                   || ' (expected {n}, found ' || array_length(parts) || ')' AS reason,
                   line AS raw_line
              FROM {_q(tables.lines)} WHERE array_length(parts) <> {n}"""
    )


def _read_parquet(con, path: Path, source: Source, tables: Tables, timezone: str | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    session = con.session
    zones = {}
    try:
        for f in pq.read_schema(path):
            if pa.types.is_timestamp(f.type) and f.type.tz:
                zones[f.name] = f.type.tz
    except Exception:  # Spark reads it; the Arrow metadata is a bonus
        pass
    frame = session.read.parquet(_uri(path))
    casts = []
    for f in frame.schema.fields:
        col = F.col(f"`{f.name}`")
        if f.name in zones or (timezone and f.dataType.typeName() == "timestamp"):
            zone = timezone or zones.get(f.name) or "UTC"
            zones[f.name] = zone
            col = F.from_utc_timestamp(col, zone)
        casts.append(col.cast("string").alias(f.name))
    source.timestamp_zones = {c: z for c, z in zones.items() if c in frame.columns}
    con.view(tables.raw, with_line(session, frame.select(*casts), start=1), cache=True)
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(tables.rejects)} AS SELECT CAST(NULL AS BIGINT) AS line, "
        "CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS raw_line WHERE false"
    )


def read_raw(con, path: Path, source: Source, tables: Tables, sheet, timezone: str | None = None) -> str | None:
    """The Spark counterpart of :func:`helpers.contracts.readers.read_raw`."""
    from pyspark.errors import PySparkException

    from . import columnar

    try:
        if source.format == "parquet":
            _read_parquet(con, path, source, tables, timezone)
            return None
        if source.format == "excel":
            gaps = columnar.read_excel(con, path, source, tables, sheet)
            con.sql(
                f"CREATE OR REPLACE TEMP VIEW {_q(tables.rejects)} AS SELECT CAST(NULL AS BIGINT) AS line, "
                "CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS raw_line WHERE false"
            )
            return gaps
        if source.compression == "zstd":
            raise ContractError(
                f"File {file_label(path)}: zstd-compressed text is read on DuckDB only; "
                "decompress it or use gzip for the Spark engine."
            )
        if textscan.needs_transcoding(source.encoding):
            source.read_path = textscan.transcode(path, source.encoding, source.compression)
        if source.format == "whitespace":
            _read_whitespace(con, path, source, tables)
            return None
        return _read_delimited(con, path, source, tables)
    except PySparkException as err:
        msg = str(err).split("\n")[0]
        raise ContractError(f"File {file_label(path)} could not be read as {source.format} on Spark: {msg}") from None
