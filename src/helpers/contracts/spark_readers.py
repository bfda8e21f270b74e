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
- Data where it lives (:class:`Location`: ``s3a://``, ``abfss://``, ``hdfs://``, ``file://`` URIs,
  and folders such as a partitioned Parquet dataset): Spark reads it; nothing is copied here. The
  first lines are sampled through Spark to detect the delimiter and header; there are no local
  bytes to reconcile, so a ``line`` is the record's position as Spark reads the data (for one
  file, its data row), and a quote that never closes shows as rows set aside, not as a stop.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import textscan
from .kinds import ContractError, file_label, sql_ident, sql_literal
from .readers import Source, Tables, no_rejects, quote_error, record_count_error, split_fields

_q, _lit = sql_ident, sql_literal
_LOW_BITS = (1 << 33) - 1
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class Location:
    """A file or folder that Spark reads where it lives, named by its URI. Has the parts of a
    ``Path`` that the contracts use to name and sniff it (``name``, ``suffix``, ``suffixes``)."""

    def __init__(self, uri: str) -> None:
        self.uri = str(uri)
        self.name = self.uri.rstrip("/").rsplit("/", 1)[-1]
        self.suffixes = [f".{part}" for part in self.name.split(".")[1:]]
        self.suffix = self.suffixes[-1] if self.suffixes else ""

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"Location({self.uri!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Location) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)


def is_uri(path) -> bool:
    """``s3a://bucket/x``, ``file:///data/x``: a location with a scheme."""
    return isinstance(path, Location) or bool(_SCHEME.match(str(path)))


def _uri(path) -> str:
    return path.uri if isinstance(path, Location) else Path(path).resolve().as_uri()


def sniff_location(con, where: Location, fmt, delimiter, header, encoding) -> Source:
    """What :func:`helpers.contracts.readers.sniff` finds, from the first lines Spark reads."""
    from .readers import detect_delimiter, detect_header

    compression = textscan.compression_of(where)  # type: ignore[arg-type]
    suffix = textscan.inner_suffix(where)  # type: ignore[arg-type]
    known = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".txt": "csv"}
    fmt = fmt or known.get(suffix) or ("parquet" if not suffix else "csv")
    if fmt == "excel":
        raise ContractError(f"File {file_label(where)}: Excel files are read on this machine only; copy it here.")
    if fmt == "parquet":
        return Source(format="parquet", header=True)
    enc = "utf-8" if encoding in (None, "auto") else str(encoding)
    rows = con.session.read.option("encoding", enc).text(where.uri).limit(400).collect()
    lines = [r[0].lstrip("\ufeff") for r in rows if r[0] and r[0].strip()][:200]
    if not lines:
        raise ContractError(f"File {file_label(where)} is empty: expected a header row and at least one data row.")
    if delimiter in (" ", r"\s+", "whitespace"):
        delimiter = "whitespace"
    delim = delimiter or detect_delimiter(lines)
    return Source(
        format="whitespace" if delim == "whitespace" else "csv",
        delimiter=delim,
        header=detect_header(lines[0], delim) if header is None else bool(header),
        encoding=enc,
        compression=compression,
        first_line=lines[0],
    )


def with_line(session, frame, start: int = 1):
    """``frame`` with ``_line``: the record's ordinal in the file plus ``start - 1``, cached."""
    from pyspark.sql import functions as F

    frame = frame.withColumn("_mid", F.monotonically_increasing_id())
    if frame.rdd.getNumPartitions() == 1:  # a small file: the id is already the ordinal
        out = frame.withColumn("_line", (F.col("_mid") + F.lit(start)).cast("long")).drop("_mid").cache()
        out.count()
        return out
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


def _header_names(source: Source, path) -> list[str]:
    if source.first_line is not None:  # sampled through Spark (data where it lives)
        first = source.first_line
    else:
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
        encoding="UTF-8" if source.read_path or source.first_line is None else source.encoding,
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
    where = source.read_path or path
    compression = None if source.read_path else source.compression
    local = not isinstance(path, Location)  # data where it lives has no local bytes to scan
    if local and frame.where("_corrupt IS NOT NULL AND instr(_corrupt, '\"') > 0").limit(1).count():
        quote_error(path, source)
    gaps = None
    if local and compression != "zstd":
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
                raise record_count_error(path, n_records, len(data))
            gaps = _gaps(con, tables, data, header)
    con.view(tables.body, frame, owned=True)
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
    numbered = with_line(session, text, start=1)
    frame = numbered.withColumn("line", F.regexp_replace("value", "\r$", "")).drop("value")
    frame = frame.where("line IS NOT NULL AND trim(line) <> ''").withColumn("parts", F.split(F.trim("line"), r"\s+"))
    first = frame.orderBy("_line").select("_line", "parts").limit(1).collect()
    if not first:
        raise ContractError("File is empty: expected a header row and at least one data row.")
    if source.header:
        names = [str(x) for x in first[0]["parts"]]
        frame = frame.where(F.col("_line") != first[0]["_line"])
    else:
        names = [f"column{i}" for i in range(len(first[0]["parts"]))]
    con.view(tables.lines, frame, cache=True)
    numbered.unpersist()
    split_fields(con, "VIEW", tables.lines, tables, names)


def _read_parquet(con, path: Path, source: Source, tables: Tables, timezone: str | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    session = con.session
    zones = {}
    try:  # the zones Arrow stored with the columns (a local file only)
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
    con.view(tables.raw, with_line(session, frame.select(*casts), start=1), owned=True)
    con.sql(no_rejects(tables.rejects, "VIEW"))


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
            con.sql(no_rejects(tables.rejects, "VIEW"))
            return gaps
        if source.compression == "zstd":
            raise ContractError(
                f"File {file_label(path)}: zstd-compressed text is read on DuckDB only; "
                "decompress it or use gzip for the Spark engine."
            )
        if textscan.needs_transcoding(source.encoding) and not isinstance(path, Location):
            source.read_path = textscan.transcode(path, source.encoding, source.compression)
        if source.format == "whitespace":
            _read_whitespace(con, path, source, tables)
            return None
        return _read_delimited(con, path, source, tables)
    except PySparkException as err:
        msg = str(err).split("\n")[0]
        raise ContractError(f"File {file_label(path)} could not be read as {source.format} on Spark: {msg}") from None
