"""Data contracts: the one door through which every notebook reads an input file.

``load(path, kind, ...)`` reads a CSV (delimiter detected: comma, semicolon, tab, pipe or runs
of whitespace), Parquet or Excel file, checks every row against the contract of its ``kind``
inside DuckDB (typed casts, no raw text held in pandas) and splits the rows in two:

- accepted rows, typed, available as an Ibis table (``result.table``) for heavy aggregation or
  as a pandas DataFrame with a fixed schema (``result.to_pandas()``);
- rows that break the contract, set aside with their original values, their line in the file
  and a ``reason`` (``result.quarantine``; written to ``quarantine/<name>.csv`` in the run
  directory). Nothing is dropped silently: ``rows_read == rows_accepted + rows_quarantined``.

A problem with the whole file (missing, empty, undecodable, a required column absent) raises
``ContractError`` with one sentence naming the file, the column and what was expected.

Kinds and their columns (contract name: meaning):

- ``transactions``: customer_id, date, amount (currency units; negative = return);
  optional order_id, channel, quantity.
- ``customers``: customer_id (unique); optional signup_date, region, age_band,
  acquisition_channel; other columns are kept as text attributes.
- ``responses``: one row per respondent; optional respondent_id; answer columns named by
  ``items`` are numbers on the scale ``scale=(min, max)``; other columns kept as text.
- ``journeys``: path (touchpoints joined by ``" > "``), conversions, optional nulls
  (paths that did not convert) and conversion_value.
- ``spend``: date, one spend column per channel (``channels``, >= 0) and optional kpi.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from helpers import reporting
from helpers.core.engine import Engine, default_engine

__all__ = ["CONTRACTS", "KINDS", "Contract", "ContractError", "Field", "LoadResult", "load", "validate"]


class ContractError(ValueError):
    """A whole-file problem: the file cannot be read as the kind of data it should be."""


@dataclass(frozen=True)
class Field:
    """One column of a contract.

    type: ``id`` (text, trimmed, not empty), ``text``, ``date``, ``number`` (float),
    ``integer``, ``count`` (integer >= 0).
    """

    name: str
    type: str
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Contract:
    kind: str
    fields: tuple[Field, ...]
    description: str
    keep_extra: bool = True
    unique: str | None = None


CONTRACTS: dict[str, Contract] = {
    "transactions": Contract(
        "transactions",
        (
            Field("customer_id", "id", description="customer identifier"),
            Field("date", "date", description="purchase date"),
            Field("amount", "number", description="order value in currency units; negative for returns"),
            Field("order_id", "id", required=False, nullable=True, description="order identifier"),
            Field("channel", "text", required=False, nullable=True, description="sales channel"),
            Field("quantity", "integer", required=False, nullable=True, description="items in the order"),
        ),
        "one row per purchase",
    ),
    "customers": Contract(
        "customers",
        (
            Field("customer_id", "id", description="customer identifier, unique"),
            Field("signup_date", "date", required=False, nullable=True, description="first contact or signup"),
            Field("region", "text", required=False, nullable=True),
            Field("age_band", "text", required=False, nullable=True),
            Field("acquisition_channel", "text", required=False, nullable=True),
        ),
        "one row per customer",
        unique="customer_id",
    ),
    "responses": Contract(
        "responses",
        (Field("respondent_id", "id", required=False, nullable=True, description="respondent identifier"),),
        "one row per respondent, one column per question",
    ),
    "journeys": Contract(
        "journeys",
        (
            Field("path", "id", description="touchpoints in order, joined by ' > '"),
            Field("conversions", "count", description="journeys on this path that converted"),
            Field("nulls", "count", required=False, nullable=True, description="journeys that did not convert"),
            Field("conversion_value", "number", required=False, nullable=True, minimum=0.0),
        ),
        "one row per distinct path",
    ),
    "spend": Contract(
        "spend",
        (
            Field("date", "date", description="period start (e.g. week)"),
            Field("kpi", "number", required=False, nullable=True, description="outcome, e.g. revenue"),
        ),
        "one row per period, one spend column per channel",
    ),
}
KINDS = tuple(CONTRACTS)

_DATE_FORMATS = (
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
_PANDAS_DTYPES = {
    "id": "string",
    "text": "string",
    "date": "datetime64[ns]",
    "number": "float64",
    "integer": "Int64",
    "count": "Int64",
}


def _q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _lit(value: str) -> str:
    """Quote an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


# --------------------------------------------------------------------------------------------
# Reading the file


@dataclass
class _Source:
    """What the sniffing found out about a file."""

    format: str  # csv | whitespace | parquet | excel
    delimiter: str | None = None
    header: bool = True
    encoding: str = "utf-8"


def _file_label(path: Path) -> str:
    return f"'{path}'"


def _check_text(path: Path, encoding: str | None) -> str:
    """Return the encoding to use, or raise if the start of the file is not text."""
    with open(path, "rb") as fh:
        head = fh.read(4 << 20)
    if not head.strip():
        raise ContractError(f"File {_file_label(path)} is empty: expected a header row and at least one data row.")
    if encoding:
        return encoding
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head[:4096]:
        raise ContractError(
            f"File {_file_label(path)} is not text (it contains NUL bytes): expected a CSV, Parquet or Excel file."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as err:
        raise ContractError(
            f"File {_file_label(path)} is not valid UTF-8 text (byte 0x{head[err.start]:02x} at offset {err.start}): "
            "save it as UTF-8, or pass encoding='latin-1' if that is what it is."
        ) from None
    return "utf-8"


def _sample_lines(path: Path, encoding: str, n: int = 200) -> list[str]:
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


def _detect_header(first_line: str, delimiter: str) -> bool:
    """A first line with any number- or date-like field is data, not a header."""
    fields = first_line.split() if delimiter == "whitespace" else first_line.split(delimiter)
    return not any(_looks_like_value(f) for f in fields)


def _sniff(path: Path, fmt: str | None, delimiter: str | None, header: bool | None, encoding: str | None) -> _Source:
    suffix = path.suffix.lower()
    fmt = fmt or {".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}.get(
        suffix, "csv"
    )
    if fmt in ("parquet", "excel"):
        if path.stat().st_size == 0:
            raise ContractError(f"File {_file_label(path)} is empty: expected a {fmt} file with rows.")
        return _Source(format=fmt, header=True)
    enc = _check_text(path, encoding)
    lines = _sample_lines(path, enc)
    if not lines:
        raise ContractError(f"File {_file_label(path)} is empty: expected a header row and at least one data row.")
    if delimiter in (" ", r"\s+", "whitespace"):
        delimiter = "whitespace"
    delim = delimiter or detect_delimiter(lines)
    has_header = _detect_header(lines[0], delim) if header is None else bool(header)
    return _Source(
        format="whitespace" if delim == "whitespace" else "csv", delimiter=delim, header=has_header, encoding=enc
    )


def _duckdb_encoding(enc: str) -> str:
    enc = enc.lower().replace("_", "-")
    return {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1", "utf16": "utf-16"}.get(enc, enc)


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class LoadResult:
    """An input file read and checked against its contract.

    ``rows_read == rows_accepted + rows_quarantined`` always holds. ``table`` (Ibis) and
    ``to_pandas()`` give the accepted rows with the contract's column names and types;
    ``quarantine`` the rows set aside (``line`` in the file, ``reason``, original values).
    """

    name: str
    kind: str
    path: Path
    engine: Engine = field(repr=False)
    accepted_table: str = field(repr=False)
    quarantine_table: str = field(repr=False)
    columns: dict[str, str]
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    sha256: str
    date_format: str | None
    source: _Source = field(repr=False)
    quarantine_path: Path | None = None
    schema: dict[str, str] = field(default_factory=dict)

    @property
    def table(self):
        """Accepted rows as an Ibis table expression (runs on the engine)."""
        return self.engine.table(self.accepted_table).drop("_line")

    def to_pandas(self) -> pd.DataFrame:
        """Accepted rows as pandas, with a fixed schema (see ``schema``)."""
        df = self.engine.con.sql(f"SELECT * FROM {_q(self.accepted_table)} ORDER BY _line").df()
        return coerce_schema(df.drop(columns="_line"), self.schema)

    @property
    def quarantine(self) -> pd.DataFrame:
        """Rows set aside: ``line`` (1-based, in the file), ``reason`` and the original values."""
        return self.engine.con.sql(f"SELECT * FROM {_q(self.quarantine_table)} ORDER BY line").df()

    @property
    def reasons(self) -> pd.DataFrame:
        """How many rows were set aside for each reason (a row may break several rules)."""
        return self.engine.con.sql(
            f"""SELECT reason, count(*) AS rows FROM
                (SELECT unnest(string_split(reason, '; ')) AS reason FROM {_q(self.quarantine_table)})
                GROUP BY reason ORDER BY rows DESC, reason"""
        ).df()

    @property
    def provenance(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "file": self.path.name,
            "kind": self.kind,
            "sha256": self.sha256,
            "bytes": self.path.stat().st_size,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_file": str(self.quarantine_path) if self.quarantine_path else None,
            "read_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def metrics(self) -> dict[str, int]:
        return {
            f"rows.{self.name}.read": self.rows_read,
            f"rows.{self.name}.accepted": self.rows_accepted,
            f"rows.{self.name}.quarantined": self.rows_quarantined,
        }

    def describe(self) -> str:
        """One sentence for a report: what was read, accepted and set aside, and why."""
        text = (
            f"{self.path.name}: {self.rows_read:,} rows read, {self.rows_accepted:,} accepted, "
            f"{self.rows_quarantined:,} set aside"
        )
        if self.rows_quarantined:
            top = self.reasons.head(3)
            text += " (" + "; ".join(f"{r.reason}: {r.rows:,}" for r in top.itertuples()) + ")"
        return text + "."


def coerce_schema(df: pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    """Give ``df`` the fixed pandas dtypes of ``schema`` (column -> contract type)."""
    out = df.copy()
    for col, typ in schema.items():
        if col not in out.columns:
            continue
        dtype = _PANDAS_DTYPES[typ]
        if typ == "date":
            out[col] = pd.to_datetime(out[col]).astype(dtype)
        else:
            out[col] = out[col].astype(dtype)
    return out


# --------------------------------------------------------------------------------------------
# Loading and checking


_counter = 0


def _next_id() -> int:
    global _counter
    _counter += 1
    return _counter


def _resolve_columns(
    file_columns: list[str],
    contract: Contract,
    mapping: Mapping[str, Any],
    path: Path,
    kind: str,
    required: Sequence[str],
) -> dict[str, str]:
    """Contract name -> file column, honouring ``mapping``; raise when a required one is absent."""
    lower = {c.strip().lower(): c for c in file_columns}
    resolved: dict[str, str] = {}
    names = [f.name for f in contract.fields] + [n for n in mapping if n not in {f.name for f in contract.fields}]
    for name in names:
        wanted = mapping.get(name, name)
        if wanted is None:
            continue
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            if 0 <= wanted < len(file_columns):
                resolved[name] = file_columns[wanted]
                continue
            wanted = str(wanted)
        hit = wanted if wanted in file_columns else lower.get(str(wanted).strip().lower())
        if hit is not None:
            resolved[name] = hit
        elif name in required:
            how = f"'{wanted}'" + (f" (mapped from contract column '{name}')" if wanted != name else "")
            raise ContractError(
                f"File {_file_label(path)} has no column {how}, which the {kind} contract requires; "
                f"columns found: {', '.join(file_columns) or 'none'}. Map the right column with the "
                f"notebook's column parameters (e.g. {name.split('_')[0]}_col=...)."
            )
    return resolved


def _date_expr(col: str, fmt: str) -> str:
    if fmt == "%Y-%m-%d":  # ISO dates: a plain cast (which ignores blanks around) is several times faster
        return f"TRY_CAST({col} AS DATE)"
    return f"CAST(try_strptime(trim({col}), {_lit(fmt)}) AS DATE)"


def _t(name: str) -> str:
    """The column holding the typed value of contract column ``name`` while checking."""
    return _q("__t_" + name)


def _choose_date_format(con, raw: str, col: str, path: Path) -> str:
    sample = [
        r[0]
        for r in con.sql(
            f"SELECT trim({_q(col)}) FROM {_q(raw)} WHERE nullif(trim({_q(col)}), '') IS NOT NULL LIMIT 2000"
        ).fetchall()
    ]
    if not sample:
        return "%Y-%m-%d"
    scores = {}
    for fmt in _DATE_FORMATS:
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
            f"File {_file_label(path)}, column '{col}': no known date format fits the values (e.g. {examples}); "
            "pass date_format='...' (strftime codes such as %d/%m/%Y)."
        )
    winners = [f for f, s in scores.items() if s == best]
    day_first = {"%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"}
    month_first = {"%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y"}
    if any(w in day_first for w in winners) and any(w in month_first for w in winners):
        raise ContractError(
            f"File {_file_label(path)}, column '{col}': dates such as {sample[0]!r} could be day-first or "
            "month-first; pass date_format='%d/%m/%Y' or '%m/%d/%Y'."
        )
    return winners[0]


def _rules(
    contract_fields: Sequence[Field], resolved: Mapping[str, str], date_formats: Mapping[str, str]
) -> tuple[list[str], list[str], dict[str, str]]:
    """SQL for the typed values (as ``__t_<name>``), the failure reasons (which refer to those
    typed values and the raw text) and the output schema.

    Casts are the checks: a value that does not cast is either blank (``missing``) or broken;
    the raw text is only looked at again for rows whose cast failed.
    """
    typed_selects, reasons, schema = [], [], {}
    for f in contract_fields:
        if f.name not in resolved:
            continue
        src = _q(resolved[f.name])
        t = _t(f.name)
        missing = _lit(f"{f.name}: missing")
        if f.type in ("id", "text"):
            typed_selects.append(f"nullif(trim({src}), '') AS {t}")
            if not f.nullable:
                reasons.append(f"CASE WHEN {t} IS NULL THEN {missing} END")
        else:
            if f.type == "date":
                typed, broken = _date_expr(src, date_formats[f.name]), f"not a date in format {date_formats[f.name]}"
                extra = None
            elif f.type == "number":
                typed, broken = f"TRY_CAST({src} AS DOUBLE)", "not a number"
                extra = f"isnan({t}) OR isinf({t})"
            else:  # integer, count: whole numbers, also when written as 3.0
                typed, broken = f"TRY_CAST({src} AS DOUBLE)", "not a whole number"
                extra = f"{t} <> floor({t}) OR abs({t}) > 9.0e18"
            typed_selects.append(f"{typed} AS {t}")
            blank_case = missing if not f.nullable else "NULL"
            reasons.append(
                f"CASE WHEN {t} IS NULL THEN (CASE WHEN {src} IS NULL OR trim({src}) = '' THEN {blank_case} "
                f"ELSE {_lit(f'{f.name}: {broken}')} END)"
                + (f" WHEN {extra} THEN {_lit(f'{f.name}: {broken}')}" if extra else "")
                + " END"
            )
        schema[f.name] = f.type
        minimum = 0.0 if f.type == "count" else f.minimum
        if minimum is not None:
            reasons.append(f"CASE WHEN {t} < {minimum} THEN {_lit(f'{f.name}: below {minimum:g}')} END")
    return typed_selects, reasons, schema


def _output_expr(name: str, typ: str) -> str:
    """The accepted value of a checked column, in the contract's type."""
    if typ in ("integer", "count"):
        return f"CAST({_t(name)} AS BIGINT) AS {_q(name)}"
    return f"{_t(name)} AS {_q(name)}"


def load(
    path: str | Path,
    kind: str,
    *,
    name: str | None = None,
    columns: Mapping[str, Any] | None = None,
    date_format: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    file_format: str | None = None,
    items: Sequence[str] | str | None = None,
    scale: tuple[float, float] | None = None,
    channels: Sequence[str] | None = None,
    engine: Engine | None = None,
    record: bool = True,
    quarantine_dir: str | Path | None = None,
) -> LoadResult:
    """Read ``path`` as data of ``kind`` and check every row against the contract.

    Parameters
    ----------
    path: CSV/TSV/text (delimiter detected), ``.parquet`` or ``.xlsx`` file.
    kind: one of ``KINDS``.
    name: the input's name in metrics and quarantine files (default: ``kind``).
    columns: contract column -> file column (name, or 0-based position for headerless files);
        unmapped contract columns are looked up by their own name (case-insensitive).
    date_format: strftime format of the date columns (detected from the values when omitted).
    delimiter, header, encoding, sheet, file_format: override what is detected.
    items, scale: ``responses`` only: answer columns (list, or a regular expression) and the
        answer scale ``(min, max)``; answers outside it or not numbers are set aside, blanks kept
        as missing.
    channels: ``spend`` only: spend columns (default: every column other than date and kpi).
    record: record provenance, metrics and the quarantine file in the run directory.
    quarantine_dir: where ``<name>.csv`` of set-aside rows goes (default: run dir/quarantine
        when ``record``, else nowhere).
    """
    if kind not in CONTRACTS:
        raise ValueError(f"Unknown kind {kind!r}: expected one of {', '.join(KINDS)}.")
    contract = CONTRACTS[kind]
    path = Path(path)
    name = name or kind
    mapping = dict(columns or {})
    mapping = {k: v for k, v in mapping.items() if v not in (None, "")}
    if not path.exists():
        raise ContractError(f"File {_file_label(path)} does not exist (input '{name}', kind {kind}).")
    if path.is_dir():
        raise ContractError(f"{_file_label(path)} is a folder, not a file (input '{name}', kind {kind}).")
    engine = engine or default_engine()
    con = engine.con
    uid = _next_id()
    raw = f"raw_{uid}"
    rejects = f"rejects_{uid}"
    source = _sniff(path, file_format, delimiter, header, encoding)
    sha = _sha256(path)

    gaps = _read_raw(con, path, source, raw, rejects, sheet)
    file_columns = [c for c in con.sql(f"SELECT * FROM {_q(raw)} LIMIT 0").columns if c != "_line"]
    n_raw = _scalar(con, f"SELECT count(*) FROM {_q(raw)}")
    n_rejects = _scalar(con, f"SELECT count(*) FROM {_q(rejects)}")
    if n_raw + n_rejects == 0:
        raise ContractError(f"File {_file_label(path)} has no data rows: expected {contract.description}.")

    fields = list(contract.fields)
    extra_fields: list[Field] = []
    if kind == "responses":
        item_cols = _item_columns(file_columns, items, mapping, path)
        extra_fields = [Field(c, "number", required=True, nullable=True) for c in item_cols]
    elif kind == "spend":
        known = {mapping.get(f.name, f.name) for f in fields}
        chans = list(channels) if channels else [c for c in file_columns if c not in known and c.lower() not in known]
        missing = [c for c in chans if c not in file_columns]
        if missing:
            raise ContractError(
                f"File {_file_label(path)} has no spend column(s) {', '.join(map(repr, missing))}; columns found: "
                f"{', '.join(file_columns)}."
            )
        if not chans:
            raise ContractError(f"File {_file_label(path)} has no spend columns besides the date and KPI.")
        extra_fields = [Field(c, "number", required=True, minimum=0.0) for c in chans]
    all_fields = fields + extra_fields
    required = [f.name for f in all_fields if f.required]
    resolved = _resolve_columns(
        file_columns, Contract(kind, tuple(all_fields), contract.description), mapping, path, kind, required
    )

    date_formats = {}
    for f in all_fields:
        if f.type == "date" and f.name in resolved:
            date_formats[f.name] = date_format or _choose_date_format(con, raw, resolved[f.name], path)
    typed_selects, reasons, schema = _rules(all_fields, resolved, date_formats)
    if kind == "responses" and extra_fields:
        lo, hi = scale if scale else (None, None)
        item_sql = [_t(f.name) for f in extra_fields]
        if lo is not None:
            for f, expr in zip(extra_fields, item_sql):
                reasons.append(
                    f"CASE WHEN {expr} < {lo} OR {expr} > {hi} THEN {_lit(f'{f.name}: outside scale {lo:g}-{hi:g}')} END"
                )
        all_blank = " AND ".join(f"nullif(trim({_q(resolved[f.name])}), '') IS NULL" for f in extra_fields)
        reasons.append(f"CASE WHEN {all_blank} THEN 'no answers' END")
    if contract.unique and contract.unique in resolved:
        key = _q(resolved[contract.unique])
        reasons.append(
            f"CASE WHEN nullif(trim({key}), '') IS NOT NULL AND "
            f"row_number() OVER (PARTITION BY trim({key}) ORDER BY _line) > 1 "
            f"THEN {_lit(f'{contract.unique}: duplicate')} END"
        )
    used = set(resolved.values())
    extras = [c for c in file_columns if c not in used] if contract.keep_extra else []
    outputs = [_output_expr(n, t) for n, t in schema.items()]
    for c in extras:
        outputs.append(f"nullif(trim({_q(c)}), '') AS {_q(c)}")
        schema[c] = "text"
    reason_sql = "concat_ws('; ', " + ", ".join(reasons) + ")" if reasons else "''"

    checked = f"checked_{uid}"
    accepted = f"accepted_{uid}"
    quarantine = f"quarantine_{uid}"
    raw_list = ", ".join(_q(c) for c in file_columns)
    typed_list = (", " + ", ".join(typed_selects)) if typed_selects else ""
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE {_q(checked)} AS SELECT _line, {reason_sql} AS _reason, "
        + ", ".join(outputs)
        + f" FROM (SELECT _line, {raw_list}{typed_list} FROM {_q(raw)})"
    )
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(accepted)} AS SELECT _line, "
        + ", ".join(_q(c) for c in schema)
        + f" FROM {_q(checked)} WHERE _reason = ''"
    )
    null_cols = ", ".join(f"NULL::VARCHAR AS {_q(c)}" for c in file_columns)
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(quarantine)} AS
            SELECT CAST(c._line + {"coalesce(gp.before, 0)" if gaps else "0"} AS BIGINT) AS line, c._reason AS reason,
                   {", ".join("r." + _q(x) for x in file_columns)}, NULL::VARCHAR AS raw_line
              FROM (SELECT _line, _reason FROM {_q(checked)} WHERE _reason <> '') c
              JOIN {_q(raw)} r ON r._line = c._line
              {f"ASOF LEFT JOIN {_q(gaps)} gp ON c._line - {1 if source.header else 0} > gp.g" if gaps else ""}
            UNION ALL
            SELECT CAST(line AS BIGINT), reason, {null_cols}, raw_line FROM {_q(rejects)}"""
    )
    _drop_raw(con, raw)
    n_acc = _scalar(con, f"SELECT count(*) FROM {_q(accepted)}")
    n_q = _scalar(con, f"SELECT count(*) FROM {_q(quarantine)}")
    n_read = n_raw + n_rejects
    assert n_acc + n_q == n_read, "row accounting does not add up"

    result = LoadResult(
        name=name,
        kind=kind,
        path=path,
        engine=engine,
        accepted_table=accepted,
        quarantine_table=quarantine,
        columns=resolved,
        rows_read=n_read,
        rows_accepted=n_acc,
        rows_quarantined=n_q,
        sha256=sha,
        date_format=next(iter(date_formats.values()), None),
        source=source,
        schema=schema,
    )
    if quarantine_dir is None and record:
        quarantine_dir = reporting.run_dir() / "quarantine"
    if quarantine_dir is not None and n_q:
        qdir = Path(quarantine_dir)
        qdir.mkdir(parents=True, exist_ok=True)
        target = qdir / f"{name}.csv"
        tmp = qdir / f".{name}.csv.tmp"
        con.sql(f"COPY (SELECT * FROM {_q(quarantine)} ORDER BY line) TO {_lit(str(tmp))} (HEADER, DELIMITER ',')")
        tmp.replace(target)
        result.quarantine_path = target
    if record:
        reporting.record_input(name, result.provenance)
        reporting.record_metrics(result.metrics())
    return result


def validate(path: str | Path, kind: str, **options: Any) -> LoadResult:
    """Check a file against its contract without recording anything in a run directory."""
    options.setdefault("record", False)
    return load(path, kind, **options)


def _item_columns(file_columns: list[str], items, mapping, path: Path) -> list[str]:
    if items is None:
        skip = {mapping.get("respondent_id", "respondent_id")}
        return [c for c in file_columns if c not in skip]
    if isinstance(items, str):
        pattern = re.compile(items)
        cols = [c for c in file_columns if pattern.fullmatch(c)]
        if not cols:
            raise ContractError(
                f"File {_file_label(path)} has no answer columns matching {items!r}; columns found: {', '.join(file_columns)}."
            )
        return cols
    missing = [c for c in items if c not in file_columns]
    if missing:
        raise ContractError(
            f"File {_file_label(path)} has no answer column(s) {', '.join(map(repr, missing))}; "
            f"columns found: {', '.join(file_columns)}."
        )
    return list(items)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _read_raw(con, path: Path, source: _Source, raw: str, rejects: str, sheet) -> str | None:
    """Expose the file as text columns plus ``_line`` in ``raw``, and rows that could not even be
    split into fields in ``rejects`` (line, reason, raw_line).

    ``_line`` is the 1-based line in the file, except for delimited files with rejected lines:
    then it is the record's position plus the header, and the returned relation name holds the
    ``(g, before)`` gaps that turn it into the true line for quarantined rows."""
    p = _lit(str(path))
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
            con.register(f"{raw}_df", frame)
            con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(raw)} AS SELECT * FROM {_q(raw + '_df')}")
            con.unregister(f"{raw}_df")
            con.sql(empty_rejects)
        elif source.format == "whitespace":
            _read_whitespace(con, p, source, raw, rejects)
        else:
            return _read_delimited(con, p, source, raw, rejects)
    except duckdb.Error as err:
        msg = str(err).split("\n")[0]
        if "unicode" in msg.lower() or "utf" in msg.lower():
            raise ContractError(
                f"File {_file_label(path)} is not valid {source.encoding} text ({msg}); save it as UTF-8 or pass encoding=."
            ) from None
        raise ContractError(f"File {_file_label(path)} could not be read as {source.format}: {msg}") from None
    except (ValueError, OSError) as err:
        raise ContractError(f"File {_file_label(path)} could not be read as {source.format}: {err}") from None


def _read_delimited(con, p: str, source: _Source, raw: str, rejects: str) -> str | None:
    tag = raw.split("_")[1]
    rej_table, rej_scan = f"rej_errors_{tag}", f"rej_scans_{tag}"
    opts = (
        f"delim={_lit(source.delimiter)}, header={'true' if source.header else 'false'}, all_varchar=true, "
        f"encoding={_lit(_duckdb_encoding(source.encoding))}, quote='\"', escape='\"', "
        f"store_rejects=true, ignore_errors=true, rejects_table={_lit(rej_table)}, rejects_scan={_lit(rej_scan)}, "
        "null_padding=false, skip=0"
    )
    con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(raw + '_body')} AS SELECT * FROM read_csv({p}, {opts})")
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
    cols = list(con.sql(f"SELECT * FROM {_q(raw + '_body')} LIMIT 0").columns)
    col_sql = ", ".join(_q(c) for c in cols)
    # Until a row fails a rule its line only orders rows, so parsed record k gets k + offset here;
    # the few quarantined rows get their true line (past rejected lines) from the gaps table.
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(raw)} AS SELECT rowid + 1 + {offset} AS _line, {col_sql} FROM {_q(raw + '_body')}"
    )
    if len(reject_lines):
        # Parsed row k (1-based) sits on line k + offset + #{rejected lines before it}.
        g = reject_lines - np.arange(1, len(reject_lines) + 1) - offset
        gaps = pd.DataFrame({"g": g, "before": np.arange(1, len(g) + 1, dtype="int64")})
        gaps = gaps.groupby("g", as_index=False)["before"].max()
        con.register(f"{raw}_gaps", gaps)
        return f"{raw}_gaps"
    return None


def _read_whitespace(con, p: str, source: _Source, raw: str, rejects: str) -> None:
    """Fields separated by runs of blanks: split each line in DuckDB."""
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(raw + "_text")} AS
            SELECT line FROM read_csv({p}, columns={{'line': 'VARCHAR'}}, delim='\\x01', header=false, quote='',
                                     escape='', auto_detect=false, encoding={_lit(_duckdb_encoding(source.encoding))})"""
    )
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(raw + "_lines")} AS
            SELECT rowid + 1 AS _line, line, regexp_split_to_array(trim(line), '\\s+') AS parts
              FROM {_q(raw + "_text")}"""
    )
    con.sql(f"DROP TABLE {_q(raw + '_text')}")
    con.sql(f"DELETE FROM {_q(raw + '_lines')} WHERE line IS NULL OR trim(line) = ''")
    first = next(
        iter(con.sql(f"SELECT _line, parts FROM {_q(raw + '_lines')} ORDER BY _line LIMIT 1").fetchall()), None
    )
    if first is None:
        raise ContractError("File is empty: expected a header row and at least one data row.")
    if source.header:
        names = [str(x) for x in first[1]]
        con.sql(f"DELETE FROM {_q(raw + '_lines')} WHERE _line = {first[0]}")
    else:
        names = [f"column{i}" for i in range(len(first[1]))]
    n = len(names)
    picks = ", ".join(f"parts[{i + 1}] AS {_q(c)}" for i, c in enumerate(names))
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE {_q(raw)} AS SELECT _line, {picks} FROM {_q(raw + '_lines')} WHERE len(parts) = {n}"
    )
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(rejects)} AS
            SELECT _line AS line,
                   CASE WHEN len(parts) < {n} THEN 'too few fields' ELSE 'too many fields' END
                   || ' (expected {n}, found ' || len(parts) || ')' AS reason,
                   line AS raw_line
              FROM {_q(raw + "_lines")} WHERE len(parts) <> {n}"""
    )
    con.sql(f"DROP TABLE {_q(raw + '_lines')}")


def _scalar(con, sql: str):
    """The single value a query returns."""
    return con.sql(sql).fetchall()[0][0]


def _drop_raw(con, raw: str) -> None:
    """Drop the raw text of a file once it has been checked."""
    for sql in (
        f"DROP VIEW IF EXISTS {_q(raw)}",
        f"DROP TABLE IF EXISTS {_q(raw)}",
        f"DROP TABLE IF EXISTS {_q(raw + '_body')}",
    ):
        try:
            con.sql(sql)
        except duckdb.Error:
            pass
    try:
        con.unregister(f"{raw}_gaps")
    except Exception:
        pass
