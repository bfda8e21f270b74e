"""Reading an input file into DuckDB as text: sniffing (format, encoding, delimiter, header, date
format) and the readers for delimited text, runs of whitespace, Parquet and Excel.

Every reader leaves the same two relations: ``raw`` (``_line`` plus one VARCHAR column per file
column) and ``rejects`` (``line, reason, raw_line`` of rows that could not even be split into
fields). The checks in :mod:`helpers.contracts.checks` work on those.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from . import textscan
from .kinds import ContractError, file_label, sql_ident, sql_literal

_q, _lit = sql_ident, sql_literal

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y%m%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%dT%H:%M:%S%z",
)
_DAY_FIRST = {"%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"}
_MONTH_FIRST = {"%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y"}


#: DuckDB's own limit on one line of delimited text; longer records are read (with a larger
#: limit) and set aside, so one huge field does not fail the whole file.
MAX_LINE_BYTES = 2_000_000


@dataclass
class Source:
    """What the sniffing and reading found out about a file."""

    format: str  # csv | whitespace | parquet | excel
    delimiter: str | None = None
    header: bool = True
    encoding: str = "utf-8"
    encoding_detected: bool = False
    compression: str | None = None  # gzip | zstd
    read_path: Path | None = None  # a temporary UTF-8 copy when the file is in another encoding
    sheets: tuple[str, ...] = ()  # every sheet of an Excel file
    sheets_read: tuple[str, ...] = ()
    long_lines: bool = False  # records over MAX_LINE_BYTES were read and are to be set aside
    timestamp_zones: dict = field(default_factory=dict)  # Parquet column -> time zone of its values
    native_types: dict = field(default_factory=dict)  # Parquet column -> DuckDB type, also in tables.native
    first_line: str | None = None  # the first non-blank line, when sampled through Spark

    def cleanup(self) -> None:
        if self.read_path is not None:
            self.read_path.unlink(missing_ok=True)
            self.read_path = None


@dataclass(frozen=True)
class Tables:
    """Names of the DuckDB relations of one load. They derive from the input's name only, so
    loading again under the same name replaces them instead of adding new ones."""

    base: str

    PARTS = ("raw", "native", "body", "text", "lines", "frame", "gaps", "rejects", "rej_errors", "rej_scans")
    PARTS += ("checked", "accepted", "quarantine")  # what stays after the load: the results

    def __getattr__(self, part: str) -> str:
        if part not in Tables.PARTS:
            raise AttributeError(part)
        return f"{self.base}_{part}"


# --------------------------------------------------------------------------------------------
# Sniffing


def check_text(path: Path, encoding: str | None, compression: str | None = None) -> tuple[str, bytes]:
    """The encoding to use and the start of the (decompressed) file; raise if it is not text.

    ``encoding=None`` expects UTF-8 (with or without BOM); ``"auto"`` detects UTF-8, CP1252 or
    Latin-1 (:func:`helpers.contracts.textscan.detect_encoding`); anything else is used as given."""
    head = textscan.head_bytes(path, compression)
    if not head.strip():
        raise ContractError(f"File {file_label(path)} is empty: expected a header row and at least one data row.")
    if encoding and str(encoding).lower() != "auto":
        textscan.normal_encoding(encoding)
        return encoding, head
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", head
    if b"\x00" in head[:4096]:
        raise ContractError(
            f"File {file_label(path)} is not text (it contains NUL bytes): expected a CSV, Parquet or Excel file."
        )
    if encoding:  # "auto"
        return textscan.detect_encoding(head), head
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as err:
        guess = textscan.detect_encoding(head)
        raise ContractError(
            f"File {file_label(path)} is not valid UTF-8 text (byte 0x{head[err.start]:02x} at offset {err.start}): "
            f"it looks like {guess}; pass encoding='{guess}' (or encoding='auto' to detect; in a notebook, "
            "the encoding parameter), or save it as UTF-8."
        ) from None
    return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), head


def sample_lines(head: bytes, encoding: str, n: int = 200) -> list[str]:
    """The first ``n`` non-blank lines of the start of a file."""
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[:n]


def detect_delimiter(lines: Sequence[str]) -> str:
    """The delimiter of delimited text: ``,``, ``;``, ``\\t``, ``|``, or ``"whitespace"`` (runs of blanks).

    A candidate wins when it splits the lines into the same number (> 1) of fields most
    consistently; quoted text is ignored when counting.
    """
    unquoted = [re.sub(r'"[^"]*"', "", line) for line in lines]
    best, best_score = None, 0.0
    for delim in (",", ";", "\t", "|"):
        counts = [line.count(delim) for line in unquoted]
        if not counts or max(counts) == 0:
            continue
        values, freq = np.unique(counts, return_counts=True)
        mode = values[np.argmax(freq)]
        if mode == 0:
            continue
        score = freq.max() / len(counts) + 0.001 * mode
        if score > best_score:
            best, best_score = delim, score
    if best is not None and best_score >= 0.5:
        return best
    ws = [len(line.split()) for line in lines]
    if ws and max(ws) > 1:
        return "whitespace"
    return best or ","


def _looks_like_value(token: str) -> bool:
    token = token.strip().strip('"')
    if not token:
        return False
    if re.fullmatch(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?", token):
        return True
    return bool(re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?", token))


def detect_header(first_line: str, delimiter: str) -> bool:
    """A first line with any number- or date-like field is data, not a header."""
    fields = first_line.split() if delimiter == "whitespace" else first_line.split(delimiter)
    return not any(_looks_like_value(f) for f in fields)


def sniff(path: Path, fmt: str | None, delimiter: str | None, header: bool | None, encoding: str | None) -> Source:
    """Format by extension (``.csv.gz``/``.csv.zst`` are compressed text); for text, the encoding,
    delimiter and header (each unless given)."""
    suffix = textscan.inner_suffix(path)
    compression = textscan.compression_of(path)
    fmt = fmt or {".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}.get(
        suffix, "csv"
    )
    if fmt in ("parquet", "excel"):
        if path.stat().st_size == 0:
            raise ContractError(f"File {file_label(path)} is empty: expected a {fmt} file with rows.")
        return Source(format=fmt, header=True)
    enc, head = check_text(path, encoding, compression)
    lines = sample_lines(head, enc)
    if not lines:
        raise ContractError(f"File {file_label(path)} is empty: expected a header row and at least one data row.")
    if delimiter in (" ", r"\s+", "whitespace"):
        delimiter = "whitespace"
    delim = delimiter or detect_delimiter(lines)
    has_header = detect_header(lines[0], delim) if header is None else bool(header)
    return Source(
        format="whitespace" if delim == "whitespace" else "csv",
        delimiter=delim,
        header=has_header,
        encoding=enc,
        encoding_detected=str(encoding).lower() == "auto",
        compression=compression,
    )


def choose_date_format(con, raw: str, col: str, path: Path) -> str:
    """The format in :data:`DATE_FORMATS` that parses most of a sample of ``col``; an error when
    none fits or when day-first and month-first fit equally well."""
    sample = [
        r[0]
        for r in con.sql(
            f"SELECT trim({_q(col)}) FROM {_q(raw)} WHERE nullif(trim({_q(col)}), '') IS NOT NULL LIMIT 2000"
        ).fetchall()
    ]
    if not sample:
        return "%Y-%m-%d"
    scores = {}
    for fmt in DATE_FORMATS:
        ok = 0
        for s in sample[:500]:
            try:
                datetime.strptime(s, fmt)
                ok += 1
            except ValueError:
                pass
        scores[fmt] = ok
    best = max(scores.values())
    if best == 0:
        examples = ", ".join(repr(s) for s in sample[:3])
        raise ContractError(
            f"File {file_label(path)}, column '{col}': no known date format fits the values (e.g. {examples}); "
            "pass date_format='...' (strftime codes such as %d/%m/%Y)."
        )
    winners = [f for f, s in scores.items() if s == best]
    if any(w in _DAY_FIRST for w in winners) and any(w in _MONTH_FIRST for w in winners):
        raise ContractError(
            f"File {file_label(path)}, column '{col}': dates such as {sample[0]!r} could be day-first or "
            "month-first; pass date_format='%d/%m/%Y' or '%m/%d/%Y'."
        )
    return winners[0]


def read_raw(con, path: Path, source: Source, tables: Tables, sheet, timezone: str | None = None) -> str | None:
    """Expose the file as text columns plus ``_line`` in ``tables.raw``, and rows that could not
    even be split into fields in ``tables.rejects`` (line, reason, raw_line).

    ``_line`` orders the rows; the returned relation name, if any, holds the ``(g, before)``
    steps that turn it into the true line (for delimited text: past rejected lines, empty lines
    and records spanning lines; for stacked Excel sheets: the row in its own sheet)."""
    from . import columnar

    if getattr(con, "dialect", "duckdb") == "spark":
        from . import spark_readers

        return spark_readers.read_raw(con, path, source, tables, sheet, timezone)
    p = _lit(str(path))
    raw = tables.raw
    empty_rejects = no_rejects(tables.rejects, "TABLE")
    try:
        if source.format == "parquet":
            columnar.read_parquet(con, path, source, raw, timezone, tables.native)
            con.sql(empty_rejects)
        elif source.format == "excel":
            gaps = columnar.read_excel(con, path, source, tables, sheet)
            con.sql(empty_rejects)
            return gaps
        else:
            if textscan.needs_transcoding(source.encoding):
                source.read_path = textscan.transcode(path, source.encoding, source.compression)
                p = _lit(str(source.read_path))
            if source.format == "whitespace":
                _read_whitespace(con, p, source, tables)
            else:
                return _read_delimited(con, p, path, source, tables)
    except duckdb.Error as err:
        msg = str(err).split("\n")[0]
        if source.format == "csv" and source.compression != "zstd":
            quote_error(path, source)  # a quote that never closes also breaks the reader's sniffing
        if "unicode" in msg.lower() or "utf" in msg.lower():
            raise ContractError(
                f"File {file_label(path)} is not valid {source.encoding} text ({msg}); save it as UTF-8 or pass encoding=."
            ) from None
        raise ContractError(f"File {file_label(path)} could not be read as {source.format}: {msg}") from None
    except (ValueError, OSError) as err:
        if isinstance(err, ContractError):
            raise
        raise ContractError(f"File {file_label(path)} could not be read as {source.format}: {err}") from None
    return None


def _csv_into(con, p: str, source: Source, tables: Tables, max_line: int) -> None:
    opts = (
        f"delim={_lit(source.delimiter)}, header={'true' if source.header else 'false'}, all_varchar=true, "
        f"encoding='utf-8', quote='\"', escape='\"', "
        f"store_rejects=true, ignore_errors=true, rejects_table={_lit(tables.rej_errors)}, "
        f"rejects_scan={_lit(tables.rej_scans)}, null_padding=false, skip=0"
    )
    if max_line > MAX_LINE_BYTES:
        opts += f", max_line_size={max_line}, buffer_size={max(2 * max_line, 32 << 20)}"
    if source.compression and source.read_path is None:
        opts += f", compression={_lit(source.compression)}"
    con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(tables.body)} AS SELECT * FROM read_csv({p}, {opts})")


def _read_delimited(con, p: str, path: Path, source: Source, tables: Tables) -> str | None:
    raw, rejects, body = tables.raw, tables.rejects, tables.body
    rej_table, rej_scan = tables.rej_errors, tables.rej_scans
    max_line = MAX_LINE_BYTES
    while True:  # a record over the limit: read again with room for it, and set it aside later
        try:
            _csv_into(con, p, source, tables, max_line)
            break
        except duckdb.Error as err:
            found = re.search(r"Maximum line size of \d+ bytes exceeded\. Actual Size:\s*(\d+)", str(err))
            if not found or max_line >= 1 << 30:
                raise
            max_line = min(1 << 30, max(2 * max_line, int(found.group(1)) + 1024))
            source.long_lines = True
            for name in (rej_table, rej_scan, body):
                con.sql(f"DROP TABLE IF EXISTS {_q(name)}")
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(rejects)} AS
            SELECT CAST(line AS BIGINT) AS line,
                   CASE WHEN bool_or(error_type = 'MISSING COLUMNS') THEN
                          'too few fields (expected ' || max(expected) || ', found ' || min(found) FILTER (WHERE error_type = 'MISSING COLUMNS') || ')'
                        WHEN bool_or(error_type = 'TOO MANY COLUMNS') THEN
                          'too many fields (expected ' || max(expected) || ', found ' || max(found) || ')'
                        ELSE string_agg(DISTINCT lower(error_type) || ' (' || error_message || ')', '; ') END AS reason,
                   trim(any_value(csv_line), chr(13) || chr(10)) AS raw_line
              FROM (SELECT *, TRY_CAST(regexp_extract(error_message, 'Columns: (\\d+)', 1) AS BIGINT) AS expected,
                           TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT) AS found
                      FROM {_q(rej_table)}) GROUP BY line"""
    )
    con.sql(f"DROP TABLE IF EXISTS {_q(rej_table)}")
    con.sql(f"DROP TABLE IF EXISTS {_q(rej_scan)}")
    reject_lines = np.sort(
        np.array([r[0] for r in con.sql(f"SELECT line FROM {_q(rejects)}").fetchall()], dtype="int64")
    )
    n_body = con.sql(f"SELECT count(*) FROM {_q(body)}").fetchall()[0][0]
    offset = 1 if source.header else 0
    cols = list(con.sql(f"SELECT * FROM {_q(body)} LIMIT 0").columns)
    col_sql = ", ".join(_q(c) for c in cols)
    # Until a row fails a rule its line only orders rows, so parsed record k gets k + offset here;
    # the few quarantined rows get their true line from the gaps table.
    con.sql(f"CREATE OR REPLACE TEMP VIEW {_q(raw)} AS SELECT rowid + 1 + {offset} AS _line, {col_sql} FROM {_q(body)}")
    true_lines = reconcile(path, source, n_body, reject_lines)
    if true_lines is not None:  # empty lines or records spanning lines: map every row to its line
        units, rows = true_lines
        if len(reject_lines):
            fix = pd.DataFrame({"unit": reject_lines, "true_line": units[reject_lines - 1]})
            con.register(tables.frame, fix)
            con.sql(
                f"""UPDATE {_q(rejects)} SET line = f.true_line FROM {_q(tables.frame)} f WHERE {_q(rejects)}.line = f.unit"""
            )
            con.unregister(tables.frame)
        extra = rows - (np.arange(1, len(rows) + 1, dtype="int64") + offset)
        change = np.flatnonzero(np.diff(np.concatenate(([0], extra))) != 0)
        if not len(change):
            return None
        gaps = pd.DataFrame({"g": change.astype("int64"), "before": extra[change]})
        con.register(tables.gaps, gaps)
        return tables.gaps
    if len(reject_lines):
        # Parsed row k (1-based) sits on line k + offset + #{rejected lines before it}.
        g = reject_lines - np.arange(1, len(reject_lines) + 1) - offset
        gaps = pd.DataFrame({"g": g, "before": np.arange(1, len(g) + 1, dtype="int64")})
        gaps = gaps.groupby("g", as_index=False)["before"].max()
        con.register(tables.gaps, gaps)
        return tables.gaps
    return None


def no_rejects(rejects: str, kind: str) -> str:
    """SQL for an empty rejects relation (files that carry their own columns: Parquet, Excel)."""
    return (
        f"CREATE OR REPLACE TEMP {kind} {_q(rejects)} AS SELECT CAST(NULL AS BIGINT) AS line, "
        "CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS raw_line WHERE false"
    )


def record_count_error(path, found: int, held: int) -> ContractError:
    """The reader's records and the file's own records disagree (a quote spanning lines)."""
    return ContractError(
        f"File {file_label(path)}: the reader found {found:,} records but the file's lines hold {held:,}; "
        "check the quotes in the file (a quote opens a value that may span lines)."
    )


def quote_error(path: Path, source: Source) -> None:
    """Raise the error of a quote that never closes, if the file has one."""
    where = source.read_path or path
    records = textscan.map_records(where, None if source.read_path else source.compression, source.delimiter or ",")
    if records.open_quote_line is not None:
        count = textscan.count_lines(where, None if source.read_path else source.compression)
        raise ContractError(
            f'File {file_label(path)}, line {records.open_quote_line:,}: a quote (") opens there and never closes, '
            f"so the rest of the file ({count.lines - records.open_quote_line:,} more lines) would be read as one "
            "value. Fix or remove that quote and load again."
        )


def reconcile(path: Path, source: Source, n_body: int, reject_lines: np.ndarray):
    """Check the reader's records against the file's own lines.

    Returns ``None`` when every record is one line and no line is empty (line numbers follow
    from the rejected lines alone); else ``(units, rows)``: the file line of each of the
    reader's lines (its line numbering counts a record spanning lines once) and the file line
    of each parsed row. Raises when the two disagree: a quote that never closes, or one that
    swallows lines that look like records."""
    where = source.read_path or path
    compression = None if source.read_path else source.compression
    if compression == "zstd":  # DuckDB reads it; the bytes cannot be scanned here
        return None
    found = n_body + len(reject_lines)
    count = textscan.count_lines(where, compression)
    header = 1 if source.header else 0
    if count.empty == 0 and count.lines - header == found:
        return None
    records = textscan.map_records(where, compression, source.delimiter or ",")
    label = file_label(path)
    if records.open_quote_line is not None:
        after = count.lines - records.open_quote_line
        raise ContractError(
            f'File {label}, line {records.open_quote_line:,}: a quote (") opens there and never closes, so the '
            f"rest of the file ({after:,} more lines) would be read as one value; the reader found {found:,} records "
            f"in {count.lines - header - count.empty:,} data lines. Fix or remove that quote and load again."
        )
    if records.swallowed is not None:
        opened, inside = records.swallowed
        raise ContractError(
            f'File {label}, line {opened:,}: a quote (") opens there and closes only lines later, so line '
            f"{inside:,}, which looks like a record of its own, would be read as part of one value "
            f"(the reader found {found:,} records in {count.lines - header - count.empty:,} data lines). "
            "Fix or remove that quote and load again."
        )
    data = records.records[header:]
    if len(data) != found:
        raise record_count_error(path, found, len(data))
    rejected = records.units[reject_lines - 1] if len(reject_lines) else np.zeros(0, dtype="int64")
    rows = np.setdiff1d(data, rejected, assume_unique=True)
    return records.units, rows


def _read_whitespace(con, p: str, source: Source, tables: Tables) -> None:
    """Fields separated by runs of blanks: split each line in DuckDB."""
    text, lines = tables.text, tables.lines
    comp = f", compression={_lit(source.compression)}" if source.compression and source.read_path is None else ""
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(text)} AS
            SELECT line FROM read_csv({p}, columns={{'line': 'VARCHAR'}}, delim='\\x01', header=false, quote='',
                                     escape='', auto_detect=false, encoding='utf-8'{comp})"""
    )
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(lines)} AS
            SELECT rowid + 1 AS _line, line, regexp_split_to_array(trim(line), '\\s+') AS parts FROM {_q(text)}"""
    )
    con.sql(f"DROP TABLE {_q(text)}")
    con.sql(f"DELETE FROM {_q(lines)} WHERE line IS NULL OR trim(line) = ''")
    first = next(iter(con.sql(f"SELECT _line, parts FROM {_q(lines)} ORDER BY _line LIMIT 1").fetchall()), None)
    if first is None:
        con.sql(f"DROP TABLE {_q(lines)}")
        raise ContractError("File is empty: expected a header row and at least one data row.")
    if source.header:
        names = [str(x) for x in first[1]]
        con.sql(f"DELETE FROM {_q(lines)} WHERE _line = {first[0]}")
    else:
        names = [f"column{i}" for i in range(len(first[1]))]
    split_fields(con, "TABLE", lines, tables, names)
    con.sql(f"DROP TABLE {_q(lines)}")


def split_fields(con, kind: str, lines: str, tables: Tables, names: Sequence[str]) -> None:
    """From ``lines`` (``_line, line, parts``: a line split at runs of blanks), the rows with one
    part per column as ``tables.raw`` and the others as ``tables.rejects`` (a TABLE or VIEW each;
    the SQL also runs on Spark)."""
    n = len(names)
    picks = ", ".join(f"parts[{i + 1}] AS {_q(c)}" for i, c in enumerate(names))  # lists are 1-based
    con.sql(
        f"CREATE OR REPLACE TEMP {kind} {_q(tables.raw)} AS SELECT _line, {picks} FROM {_q(lines)} "
        f"WHERE array_length(parts) = {n}"
    )
    con.sql(
        f"""CREATE OR REPLACE TEMP {kind} {_q(tables.rejects)} AS
            SELECT _line AS line,
                   CASE WHEN array_length(parts) < {n} THEN 'too few fields' ELSE 'too many fields' END
                   || ' (expected {n}, found ' || array_length(parts) || ')' AS reason,
                   line AS raw_line
              FROM {_q(lines)} WHERE array_length(parts) <> {n}"""
    )


def drop_intermediate(con, tables: Tables) -> None:
    """Drop what reading left behind (the file's raw text, rejects, gaps), keeping the results."""
    for kind, name in (
        ("VIEW", tables.raw),
        ("VIEW", tables.native),
        ("TABLE", tables.raw),
        ("TABLE", tables.body),
        ("TABLE", tables.rejects),
        ("TABLE", tables.text),
        ("TABLE", tables.lines),
        ("TABLE", tables.rej_errors),
        ("TABLE", tables.rej_scans),
    ):
        try:
            con.sql(f"DROP {kind} IF EXISTS {_q(name)}")
        except duckdb.Error:  # a view where a table was expected, or the reverse
            pass
    for name in (tables.gaps, tables.frame):
        try:
            con.unregister(name)
        except Exception:
            pass
