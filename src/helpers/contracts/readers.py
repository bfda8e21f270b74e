"""Reading an input file into DuckDB as text: sniffing (format, encoding, delimiter, header, date
format) and the readers for delimited text, runs of whitespace, Parquet and Excel.

Every reader leaves the same two relations: ``raw`` (``_line`` plus one VARCHAR column per file
column) and ``rejects`` (``line, reason, raw_line`` of rows that could not even be split into
fields). The checks in :mod:`helpers.contracts.checks` work on those.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from .kinds import ContractError, file_label, sql_ident, sql_literal

_q, _lit = sql_ident, sql_literal

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y%m%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d/%m/%y",
    "%m/%d/%y",
)
_DAY_FIRST = {"%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"}
_MONTH_FIRST = {"%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y"}


@dataclass
class Source:
    """What the sniffing found out about a file."""

    format: str  # csv | whitespace | parquet | excel
    delimiter: str | None = None
    header: bool = True
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Tables:
    """Names of the DuckDB relations of one load. They derive from the input's name only, so
    loading again under the same name replaces them instead of adding new ones."""

    base: str

    PARTS = ("raw", "body", "text", "lines", "frame", "gaps", "rejects", "rej_errors", "rej_scans")
    PARTS += ("checked", "accepted", "quarantine")  # what stays after the load: the results

    def __getattr__(self, part: str) -> str:
        if part not in Tables.PARTS:
            raise AttributeError(part)
        return f"{self.base}_{part}"


# --------------------------------------------------------------------------------------------
# Sniffing


def check_text(path: Path, encoding: str | None) -> str:
    """Return the encoding to use, or raise if the start of the file is not text."""
    with open(path, "rb") as fh:
        head = fh.read(4 << 20)
    if not head.strip():
        raise ContractError(f"File {file_label(path)} is empty: expected a header row and at least one data row.")
    if encoding:
        return encoding
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head[:4096]:
        raise ContractError(
            f"File {file_label(path)} is not text (it contains NUL bytes): expected a CSV, Parquet or Excel file."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as err:
        raise ContractError(
            f"File {file_label(path)} is not valid UTF-8 text (byte 0x{head[err.start]:02x} at offset {err.start}): "
            "save it as UTF-8, or pass encoding='latin-1' if that is what it is."
        ) from None
    return "utf-8"


def sample_lines(path: Path, encoding: str, n: int = 200) -> list[str]:
    """The first ``n`` non-blank lines."""
    lines = []
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line.strip():
                lines.append(line)
            if len(lines) >= n:
                break
    return lines


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
    """Format by extension; for text, the encoding, delimiter and header (each unless given)."""
    suffix = path.suffix.lower()
    fmt = fmt or {".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}.get(
        suffix, "csv"
    )
    if fmt in ("parquet", "excel"):
        if path.stat().st_size == 0:
            raise ContractError(f"File {file_label(path)} is empty: expected a {fmt} file with rows.")
        return Source(format=fmt, header=True)
    enc = check_text(path, encoding)
    lines = sample_lines(path, enc)
    if not lines:
        raise ContractError(f"File {file_label(path)} is empty: expected a header row and at least one data row.")
    if delimiter in (" ", r"\s+", "whitespace"):
        delimiter = "whitespace"
    delim = delimiter or detect_delimiter(lines)
    has_header = detect_header(lines[0], delim) if header is None else bool(header)
    return Source(
        format="whitespace" if delim == "whitespace" else "csv", delimiter=delim, header=has_header, encoding=enc
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


def sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _duckdb_encoding(enc: str) -> str:
    enc = enc.lower().replace("_", "-")
    return {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1", "utf16": "utf-16"}.get(enc, enc)


# --------------------------------------------------------------------------------------------
# Readers


def read_raw(con, path: Path, source: Source, tables: Tables, sheet) -> str | None:
    """Expose the file as text columns plus ``_line`` in ``tables.raw``, and rows that could not
    even be split into fields in ``tables.rejects`` (line, reason, raw_line).

    ``_line`` is the 1-based line in the file, except for delimited files with rejected lines:
    then it is the record's position plus the header, and the returned relation name holds the
    ``(g, before)`` gaps that turn it into the true line for quarantined rows."""
    p = _lit(str(path))
    raw, rejects = tables.raw, tables.rejects
    empty_rejects = (
        f"CREATE OR REPLACE TEMP TABLE {_q(rejects)} AS SELECT NULL::BIGINT AS line, NULL::VARCHAR AS reason, "
        "NULL::VARCHAR AS raw_line WHERE false"
    )
    try:
        if source.format == "parquet":
            cols = con.sql(f"SELECT * FROM read_parquet({p}) LIMIT 0").columns
            casts = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in cols)
            con.sql(
                f"CREATE OR REPLACE TEMP TABLE {_q(raw)} AS SELECT file_row_number + 1 AS _line, {casts} "
                f"FROM read_parquet({p}, file_row_number=true)"
            )
            con.sql(empty_rejects)
        elif source.format == "excel":
            frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, header=0 if source.header else None)
            frame.columns = [str(c) for c in frame.columns]
            frame.insert(0, "_line", np.arange(len(frame), dtype="int64") + (2 if source.header else 1))
            con.register(tables.frame, frame)
            try:
                con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(raw)} AS SELECT * FROM {_q(tables.frame)}")
            finally:
                con.unregister(tables.frame)
            con.sql(empty_rejects)
        elif source.format == "whitespace":
            _read_whitespace(con, p, source, tables)
        else:
            return _read_delimited(con, p, source, tables)
    except duckdb.Error as err:
        msg = str(err).split("\n")[0]
        if "unicode" in msg.lower() or "utf" in msg.lower():
            raise ContractError(
                f"File {file_label(path)} is not valid {source.encoding} text ({msg}); save it as UTF-8 or pass encoding=."
            ) from None
        raise ContractError(f"File {file_label(path)} could not be read as {source.format}: {msg}") from None
    except (ValueError, OSError) as err:
        raise ContractError(f"File {file_label(path)} could not be read as {source.format}: {err}") from None
    return None


def _read_delimited(con, p: str, source: Source, tables: Tables) -> str | None:
    raw, rejects, body = tables.raw, tables.rejects, tables.body
    rej_table, rej_scan = tables.rej_errors, tables.rej_scans
    opts = (
        f"delim={_lit(source.delimiter)}, header={'true' if source.header else 'false'}, all_varchar=true, "
        f"encoding={_lit(_duckdb_encoding(source.encoding))}, quote='\"', escape='\"', "
        f"store_rejects=true, ignore_errors=true, rejects_table={_lit(rej_table)}, rejects_scan={_lit(rej_scan)}, "
        "null_padding=false, skip=0"
    )
    con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(body)} AS SELECT * FROM read_csv({p}, {opts})")
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(rejects)} AS
            SELECT CAST(line AS BIGINT) AS line,
                   CASE WHEN bool_or(error_type = 'MISSING COLUMNS') THEN
                          'too few fields (expected ' || max(expected) || ', found ' || min(found) FILTER (WHERE error_type = 'MISSING COLUMNS') || ')'
                        WHEN bool_or(error_type = 'TOO MANY COLUMNS') THEN
                          'too many fields (expected ' || max(expected) || ', found ' || max(found) || ')'
                        ELSE string_agg(DISTINCT lower(error_type) || ' (' || error_message || ')', '; ') END AS reason,
                   any_value(csv_line) AS raw_line
              FROM (SELECT *, TRY_CAST(regexp_extract(error_message, 'Columns: (\\d+)', 1) AS BIGINT) AS expected,
                           TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT) AS found
                      FROM {_q(rej_table)}) GROUP BY line"""
    )
    con.sql(f"DROP TABLE IF EXISTS {_q(rej_table)}")
    con.sql(f"DROP TABLE IF EXISTS {_q(rej_scan)}")
    # DuckDB keeps file order; line numbers of parsed rows skip the header and rejected lines.
    reject_lines = np.sort(
        np.array([r[0] for r in con.sql(f"SELECT line FROM {_q(rejects)}").fetchall()], dtype="int64")
    )
    offset = 1 if source.header else 0
    cols = list(con.sql(f"SELECT * FROM {_q(body)} LIMIT 0").columns)
    col_sql = ", ".join(_q(c) for c in cols)
    # Until a row fails a rule its line only orders rows, so parsed record k gets k + offset here;
    # the few quarantined rows get their true line (past rejected lines) from the gaps table.
    con.sql(f"CREATE OR REPLACE TEMP VIEW {_q(raw)} AS SELECT rowid + 1 + {offset} AS _line, {col_sql} FROM {_q(body)}")
    if len(reject_lines):
        # Parsed row k (1-based) sits on line k + offset + #{rejected lines before it}.
        g = reject_lines - np.arange(1, len(reject_lines) + 1) - offset
        gaps = pd.DataFrame({"g": g, "before": np.arange(1, len(g) + 1, dtype="int64")})
        gaps = gaps.groupby("g", as_index=False)["before"].max()
        con.register(tables.gaps, gaps)
        return tables.gaps
    return None


def _read_whitespace(con, p: str, source: Source, tables: Tables) -> None:
    """Fields separated by runs of blanks: split each line in DuckDB."""
    raw, text, lines = tables.raw, tables.text, tables.lines
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(text)} AS
            SELECT line FROM read_csv({p}, columns={{'line': 'VARCHAR'}}, delim='\\x01', header=false, quote='',
                                     escape='', auto_detect=false, encoding={_lit(_duckdb_encoding(source.encoding))})"""
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
    n = len(names)
    picks = ", ".join(f"parts[{i + 1}] AS {_q(c)}" for i, c in enumerate(names))
    con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(raw)} AS SELECT _line, {picks} FROM {_q(lines)} WHERE len(parts) = {n}")
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(tables.rejects)} AS
            SELECT _line AS line,
                   CASE WHEN len(parts) < {n} THEN 'too few fields' ELSE 'too many fields' END
                   || ' (expected {n}, found ' || len(parts) || ')' AS reason,
                   line AS raw_line
              FROM {_q(lines)} WHERE len(parts) <> {n}"""
    )
    con.sql(f"DROP TABLE {_q(lines)}")


def drop_intermediate(con, tables: Tables) -> None:
    """Drop what reading left behind (the file's raw text, rejects, gaps), keeping the results."""
    for kind, name in (
        ("VIEW", tables.raw),
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
