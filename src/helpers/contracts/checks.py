"""Checking rows against a contract in DuckDB: typed casts are the checks, failing rows go to
quarantine with their line and every reason they fail.

Casts are the checks: a value that does not cast is either blank (``missing``) or broken, and
the raw text is only looked at again for rows whose cast failed. The kind's own rules (its
``extra_rules`` hook) and uniqueness are added to the same list of reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core.io import write_csv_safe

from .kinds import Contract, ContractError, Field, file_label, sql_ident, sql_literal, typed_value
from .readers import Tables
from .values import ValueOptions, number_sql

_q, _lit, _t = sql_ident, sql_literal, typed_value

PANDAS_DTYPES = {
    "id": "string",
    "text": "string",
    "date": "datetime64[ns]",
    "timestamp": "datetime64[ns]",
    "number": "float64",
    "integer": "Int64",
    "count": "Int64",
}


def resolve_columns(
    file_columns: Sequence[str], fields: Sequence[Field], mapping: Mapping[str, Any], path: Path, kind: str
) -> dict[str, str]:
    """Contract name -> file column, honouring ``mapping``; raise when a required one is absent.

    A mapped value is a column name (matched exactly, then case-insensitively) or a 0-based
    position; names in ``mapping`` that are not fields are resolved too (kept as attributes)."""
    lower = {c.strip().lower(): c for c in file_columns}
    required = {f.name for f in fields if f.required}
    known = {f.name for f in fields}
    resolved: dict[str, str] = {}
    for name in [f.name for f in fields] + [n for n in mapping if n not in known]:
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
                f"File {file_label(path)} has no column {how}, which the {kind} contract requires; "
                f"columns found: {', '.join(file_columns) or 'none'}. Map the right column with the "
                f"notebook's column parameters (e.g. {name.split('_')[0]}_col=...)."
            )
    return resolved


def _date_expr(col: str, fmt: str, timezone: str | None = None) -> str:
    if fmt == "%Y-%m-%d":  # ISO dates: a plain cast (which ignores blanks around) is several times faster
        return f"TRY_CAST({col} AS DATE)"
    if "%z" in fmt:  # with an offset: the date as written (the data's local date), or in ``timezone``
        parsed = f"try_strptime(trim({col}), {_lit(fmt)})"
        if timezone:
            from .columnar import zone_sql

            return f"CAST({zone_sql(parsed, timezone)} AS DATE)"
        return f"CASE WHEN {parsed} IS NOT NULL THEN TRY_CAST(left(trim({col}), 10) AS DATE) END"
    return f"CAST(try_strptime(trim({col}), {_lit(fmt)}) AS DATE)"


def _timestamp_expr(col: str, fmt: str, timezone: str | None = None) -> str:
    """A date and time of day. ISO text is cast as written (a date alone is its midnight); with an offset
    (``%z``) the time is converted to ``timezone`` when given, else to UTC."""
    if fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f"):
        return f"TRY_CAST(trim({col}) AS TIMESTAMP)"
    parsed = f"try_strptime(trim({col}), {_lit(fmt)})"
    if "%z" in fmt:
        from .columnar import zone_sql

        return f"CAST({zone_sql(parsed, timezone or 'UTC')} AS TIMESTAMP)"
    return f"CAST({parsed} AS TIMESTAMP)"


def _native_rule(f: Field, column: str, t: str, missing: str) -> tuple[str, str]:
    """The typed value and failure reason of a field read from a Parquet column of its own type
    (:data:`~.columnar.NATIVE_TYPES`): a null is missing; a number may still be NaN or infinite."""
    from .columnar import native_alias

    own = _q(native_alias(column))
    blank = missing if not f.nullable else "NULL"
    if f.type in ("date", "timestamp"):
        return own, f"CASE WHEN {t} IS NULL THEN {blank} END"
    broken = _lit(f"{f.name}: {'not a number' if f.type == 'number' else 'not a whole number'}")
    extra = f"isnan({t}) OR isinf({t})"
    if f.type != "number":
        extra += f" OR {t} <> floor({t}) OR abs({t}) > 9.0e18"
    return f"CAST({own} AS DOUBLE)", f"CASE WHEN {t} IS NULL THEN {blank} WHEN {extra} THEN {broken} END"


def field_rules(
    fields: Sequence[Field],
    resolved: Mapping[str, str],
    date_formats: Mapping[str, str],
    values: ValueOptions | None = None,
    native: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str], dict[str, str]]:
    """SQL for the typed values (as ``__t_<name>``), the failure reasons (which refer to those
    typed values and the raw text) and the output schema (column -> field type). ``native``:
    file column -> its own type (Parquet), for the columns also read in that type (checked as
    they are; the text is looked at only for the rows set aside)."""
    from .columnar import native_fits

    values = values or ValueOptions()
    native = native or {}
    typed_selects, reasons, schema = [], [], {}
    for f in fields:
        if f.name not in resolved:
            continue
        src = _q(resolved[f.name])
        t = _t(f.name)
        missing = _lit(f"{f.name}: missing")
        window = values.date_window if f.type == "date" else None
        own_type = native.get(resolved[f.name])
        if own_type is not None and native_fits(own_type, f.type):
            typed, reason = _native_rule(f, resolved[f.name], t, missing)
            typed_selects.append(f"{typed} AS {t}")
            reasons.append(reason)
        elif f.type in ("id", "text"):
            typed_selects.append(f"nullif(trim({src}), '') AS {t}")
            if not f.nullable:
                reasons.append(f"CASE WHEN {t} IS NULL THEN {missing} END")
        else:
            if f.type == "date":
                fmt = date_formats[f.name]
                typed, broken = _date_expr(src, fmt, values.timezone), f"not a date in format {fmt}"
                extra = None
            elif f.type == "timestamp":
                fmt = date_formats[f.name]
                typed, broken = _timestamp_expr(src, fmt, values.timezone), f"not a date and time in format {fmt}"
                extra = None
            elif f.type == "number":
                typed, broken = number_sql(src, values.decimal), "not a number"
                extra = f"isnan({t}) OR isinf({t})"
            else:  # integer, count: whole numbers, also when written as 3.0
                typed, broken = number_sql(src, values.decimal), "not a whole number"
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
        if window is not None:
            lo, hi = window
            label = _lit(f"{f.name}: outside {lo or '...'} to {hi or '...'} (date_window)")
            tests = ([f"{t} < DATE {_lit(lo)}"] if lo else []) + ([f"{t} > DATE {_lit(hi)}"] if hi else [])
            if tests:
                reasons.append(f"CASE WHEN {' OR '.join(tests)} THEN {label} END")
    return typed_selects, reasons, schema


def unique_rule(column: str, resolved: Mapping[str, str]) -> list[str]:
    """Later repeats of a non-blank value of ``column`` are set aside (the first one is kept)."""
    if column not in resolved:
        return []
    key = _q(resolved[column])
    return [
        f"CASE WHEN nullif(trim({key}), '') IS NOT NULL AND "
        f"row_number() OVER (PARTITION BY trim({key}) ORDER BY _line) > 1 "
        f"THEN {_lit(f'{column}: duplicate')} END"
    ]


def _output_expr(name: str, typ: str) -> str:
    """The accepted value of a checked column, in the contract's type."""
    if typ in ("integer", "count"):
        return f"CAST({_t(name)} AS BIGINT) AS {_q(name)}"
    return f"{_t(name)} AS {_q(name)}"


def check_rows(
    con,
    tables: Tables,
    contract: Contract,
    fields: Sequence[Field],
    extra_reasons: Sequence[str],
    resolved: Mapping[str, str],
    date_formats: Mapping[str, str],
    file_columns: Sequence[str],
    gaps: str | None,
    header: bool,
    values: ValueOptions | None = None,
    long_lines: bool = False,
    native: Mapping[str, str] | None = None,
    keep_extra: bool = True,
) -> dict[str, str]:
    """Create ``tables.checked`` (every row, typed, with its ``_reason``), the view
    ``tables.accepted`` (rows without a reason) and ``tables.quarantine`` (rows with one, plus
    the rows the reader could not split, with their line, reason and original values).
    Returns the accepted rows' schema (column -> field type; kept extra columns are ``text``).
    ``native``: Parquet columns also in their own type, in ``tables.native`` (see :func:`field_rules`);
    ``keep_extra=False``: the file's columns outside the fields are not kept, whatever the contract says."""
    typed_selects, reasons, schema = field_rules(fields, resolved, date_formats, values, native)
    reasons += list(extra_reasons)
    if long_lines:  # records the reader only took with a raised line limit
        from .readers import MAX_LINE_BYTES

        size = " + ".join(f"coalesce(length({_q(c)}), 0)" for c in file_columns)
        reasons.append(
            f"CASE WHEN {size} > {MAX_LINE_BYTES} THEN "
            f"{_lit(f'line too long (over {MAX_LINE_BYTES:,} characters)')} END"
        )
    if contract.unique:
        reasons += unique_rule(contract.unique, resolved)
    used = set(resolved.values())
    extras = [c for c in file_columns if c not in used] if contract.keep_extra and keep_extra else []
    outputs = [_output_expr(n, t) for n, t in schema.items()]
    for c in extras:
        outputs.append(f"nullif(trim({_q(c)}), '') AS {_q(c)}")
        schema[c] = "text"
    reason_sql = "concat_ws('; ', " + ", ".join(reasons) + ")" if reasons else "''"

    raw_list = ", ".join(_q(c) for c in file_columns)
    typed_list = (", " + ", ".join(typed_selects)) if typed_selects else ""
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE {_q(tables.checked)} AS SELECT _line, {reason_sql} AS _reason, "
        + ", ".join(outputs)
        + f" FROM (SELECT _line, {raw_list}{typed_list} FROM {_q(tables.native if native else tables.raw)})"
    )
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(tables.accepted)} AS SELECT _line, "
        + ", ".join(_q(c) for c in schema)
        + f" FROM {_q(tables.checked)} WHERE _reason = ''"
    )
    null_cols = ", ".join(f"NULL::VARCHAR AS {_q(c)}" for c in file_columns)
    line = f"c._line + {'coalesce(gp.before, 0)' if gaps else '0'}"
    ordinal = f"c._line - {1 if header else 0}"
    if getattr(con, "dialect", "duckdb") == "spark":
        from .spark_readers import gap_join
    else:
        gap_join = _asof_gap_join
    gaps_sql = gap_join(gaps, ordinal)
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE {_q(tables.quarantine)} AS
            SELECT CAST({line} AS BIGINT) AS line, c._reason AS reason,
                   {", ".join("r." + _q(x) for x in file_columns)}, NULL::VARCHAR AS raw_line
              FROM (SELECT _line, _reason FROM {_q(tables.checked)} WHERE _reason <> '') c
              JOIN {_q(tables.raw)} r ON r._line = c._line
              {gaps_sql}
            UNION ALL
            SELECT CAST(line AS BIGINT), reason, {null_cols}, raw_line FROM {_q(tables.rejects)}"""
    )
    return schema


def _asof_gap_join(gaps: str | None, ordinal: str, alias: str = "gp") -> str:
    """DuckDB: add ``before`` of the last gap step below ``ordinal``."""
    return f"ASOF LEFT JOIN {_q(gaps)} {alias} ON {ordinal} > {alias}.g" if gaps else ""


def quarantine_order(con, table: str) -> str:
    """``line``, then the reason and every other column: one order for rows on the same line (the
    same row number in two stacked Excel sheets), whichever engine sorts them."""
    cols = con.sql(f"SELECT * FROM {_q(table)} LIMIT 0").columns
    return ", ".join(_q(c) for c in ["line", "reason", *(c for c in cols if c not in ("line", "reason"))])


def write_quarantine(con, table: str, target: Path) -> Path:
    """Write the quarantined rows (ordered by line) as CSV, atomically, streaming from DuckDB, with
    cells a spreadsheet would run as formulas neutralised (:func:`helpers.core.io.write_csv_safe`)."""
    reader = con.sql(f"SELECT * FROM {_q(table)} ORDER BY {quarantine_order(con, table)}").to_arrow_reader(
        batch_size=100_000
    )
    return write_csv_safe(reader, Path(target))


def coerce_schema(df: pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    """Give ``df`` the fixed pandas dtypes of ``schema`` (column -> contract type)."""
    out = df.copy()
    for col, typ in schema.items():
        if col not in out.columns:
            continue
        dtype = PANDAS_DTYPES[typ]
        if typ in ("date", "timestamp"):
            out[col] = pd.to_datetime(out[col]).astype(dtype)
        else:
            out[col] = out[col].astype(dtype)
    return out
