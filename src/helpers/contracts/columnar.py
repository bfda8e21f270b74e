"""Readers for files that carry their own columns: Parquet (time zones) and Excel (sheets).

Both leave ``tables.raw`` (``_line`` plus one VARCHAR column per file column) like the text
readers, so the checks do not care where the rows came from.

- Parquet timestamps with a time zone become the calendar date *in that zone* (the zone Arrow
  stored with the column, e.g. ``+01:00`` or ``Europe/Paris``; ``UTC`` when the file names none),
  or in the zone given as ``timezone=``; never in the zone of the machine that runs the load.
- Excel: ``sheet`` is a name, a 0-based index, or ``"all"`` (every sheet with the same columns,
  stacked, with a ``sheet`` column naming each row's sheet). The sheets the file holds and those
  read are kept on the :class:`~helpers.contracts.readers.Source` for the report.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .kinds import ContractError, file_label, sql_ident, sql_literal

_q, _lit = sql_ident, sql_literal
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$")
ALL_SHEETS = ("all", "*")


def zone_sql(col: str, zone: str) -> str:
    """SQL for the wall-clock TIMESTAMP of TIMESTAMPTZ ``col`` in ``zone`` (a fixed offset such
    as ``+01:00`` or an IANA name such as ``Europe/Paris``)."""
    m = _OFFSET.match(zone.strip())
    if m:
        minutes = (int(m.group(2)) * 60 + int(m.group(3) or 0)) * (1 if m.group(1) == "+" else -1)
        return f"(timezone('UTC', {col}) + INTERVAL ({minutes}) MINUTE)"
    if zone.strip().upper() in ("UTC", "Z", "GMT"):
        return f"timezone('UTC', {col})"
    return f"timezone({_lit(zone.strip())}, {col})"


def check_zone(con, zone: str | None) -> None:
    """A ContractError when ``zone`` is not a time zone DuckDB knows."""
    if not zone:
        return
    if con is None:  # the zone names Spark and DuckDB know are the same IANA names and offsets
        import duckdb

        con = duckdb.connect()
    try:
        con.sql(f"SELECT {zone_sql('TIMESTAMPTZ ' + _lit('2000-01-01 00:00:00+00'), zone)}").fetchall()
    except Exception:
        raise ContractError(
            f"Unknown time zone {zone!r}: use an offset such as '+01:00' or a name such as 'Europe/Paris'."
        ) from None


#: Parquet types whose values the checks read as they are (no text round trip): DuckDB type
#: name (or its prefix, for DECIMAL(p, s)) -> the contract field types they can fill.
NATIVE_TYPES = {
    "DATE": ("date",),
    "TIMESTAMP": ("timestamp",),
    "DOUBLE": ("number", "integer", "count"),
    "FLOAT": ("number", "integer", "count"),
    "DECIMAL": ("number", "integer", "count"),
    **dict.fromkeys(("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"), ("number", "integer", "count")),
    **dict.fromkeys(("UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"), ("number", "integer", "count")),
}


def native_alias(column: str) -> str:
    """The name of ``column``'s own-typed values in ``tables.native``."""
    return f"__native__{column}"


def native_fits(duckdb_type: str, field_type: str) -> bool:
    """Whether a Parquet column of ``duckdb_type`` holds ``field_type`` values as they are."""
    return field_type in NATIVE_TYPES.get(duckdb_type.split("(")[0].strip().upper(), ())


def read_parquet(con, path: Path, source, raw: str, timezone: str | None, native: str | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = _lit(str(path))
    cols = con.sql(f"SELECT * FROM read_parquet({p}) LIMIT 0")
    zones = {}
    try:
        schema = pq.read_schema(path)
        for f in schema:
            if pa.types.is_timestamp(f.type) and f.type.tz:
                zones[f.name] = f.type.tz
    except Exception:  # DuckDB reads it; the Arrow metadata is a bonus
        pass
    casts = []
    for c, t in zip(cols.columns, cols.types):
        ident = _q(c)
        if str(t) == "TIMESTAMP WITH TIME ZONE":
            zone = timezone or zones.get(c) or "UTC"
            zones[c] = zone
            casts.append(f"CAST({zone_sql(ident, zone)} AS VARCHAR) AS {ident}")
        else:
            casts.append(f"CAST({ident} AS VARCHAR) AS {ident}")
    source.timestamp_zones = {c: z for c, z in zones.items() if c in cols.columns}
    # A view, not a table: the check reads the file once, casting as it goes, instead of first
    # copying every row as text (on 10 million rows that copy was 40 % of the load).
    con.sql(
        f"CREATE OR REPLACE TEMP VIEW {_q(raw)} AS SELECT file_row_number + 1 AS _line, {', '.join(casts)} "
        f"FROM read_parquet({p}, file_row_number=true)"
    )
    # The same rows with the dates and numbers also in their own type: the checks read those
    # directly, and the text only for the rows they set aside (10 million rows: half the time).
    typed = {c: str(t) for c, t in zip(cols.columns, cols.types) if str(t).split("(")[0] in NATIVE_TYPES}
    source.native_types = typed if native else {}
    if native and typed:
        own = ", ".join(f"{_q(c)} AS {_q(native_alias(c))}" for c in typed)
        con.sql(
            f"CREATE OR REPLACE TEMP VIEW {_q(native)} AS SELECT file_row_number + 1 AS _line, {', '.join(casts)}, "
            f"{own} FROM read_parquet({p}, file_row_number=true)"
        )


def read_excel(con, path: Path, source, tables, sheet) -> str | None:
    """Read the chosen sheet(s); returns the gaps relation that turns stacked rows into their
    row in their own sheet (``None`` for one sheet)."""
    with pd.ExcelFile(path) as book:
        names = [str(n) for n in book.sheet_names]
        source.sheets = tuple(names)
        if isinstance(sheet, str) and sheet.strip().lower() in ALL_SHEETS:
            wanted = names
        elif sheet is None:
            wanted = names[:1]
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            if not -len(names) <= sheet < len(names):
                raise ContractError(
                    f"File {file_label(path)} has {len(names)} sheet(s) ({', '.join(names)}); there is no sheet {sheet}."
                )
            wanted = [names[sheet]]
        elif str(sheet) in names:
            wanted = [str(sheet)]
        else:
            raise ContractError(
                f"File {file_label(path)} has no sheet {sheet!r}; sheets: {', '.join(names)} "
                "(pass sheet= a name, a 0-based index or 'all')."
            )
        frames = []
        for name in wanted:
            frame = pd.read_excel(book, sheet_name=name, dtype=str, header=0 if source.header else None)
            frame.columns = [str(c) for c in frame.columns]
            frames.append(frame)
    if len(frames) > 1:
        first = list(frames[0].columns)
        odd = [n for n, f in zip(wanted, frames) if list(f.columns) != first]
        if odd:
            raise ContractError(
                f"File {file_label(path)}: sheets {', '.join(map(repr, odd))} do not have the columns of sheet "
                f"{wanted[0]!r} ({', '.join(first)}), so they cannot be stacked; pass sheet= one name."
            )
    source.sheets_read = tuple(wanted)
    first_row = 2 if source.header else 1
    offsets = np.cumsum([0] + [len(f) for f in frames[:-1]]).astype("int64")
    if len(frames) > 1:
        label = "sheet" if "sheet" not in frames[0].columns else "_sheet"
        frames = [f.assign(**{label: n}) for n, f in zip(wanted, frames)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.insert(0, "_line", np.arange(len(frame), dtype="int64") + first_row)
    con.register(tables.frame, frame)
    try:
        con.sql(f"CREATE OR REPLACE TEMP TABLE {_q(tables.raw)} AS SELECT * FROM {_q(tables.frame)}")
    finally:
        con.unregister(tables.frame)
    if len(frames) > 1:  # row r of a later sheet sits at offset + r: the gaps subtract the offset
        gaps = pd.DataFrame({"g": offsets[1:], "before": -offsets[1:]})
        con.register(tables.gaps, gaps)
        return tables.gaps
    return None
