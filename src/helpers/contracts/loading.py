"""``load``: read an input file, check it against its kind's contract, set bad rows aside.

The rows are read and checked inside DuckDB (no raw text held in pandas). The result's tables are
named after the input's ``name``: loading again under the same name (a re-run cell in
JupyterLab) replaces them, so the shared connection does not fill up with old copies; a
:class:`LoadResult` from an earlier load under that name then reads the new data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import reporting
from helpers.core import registry, runfiles
from helpers.core.engine import Engine, default_engine
from helpers.core.io import file_sha256

from . import summary
from .checks import check_rows, coerce_schema, quarantine_order, resolve_columns, write_quarantine
from .columnar import native_fits
from .kinds import Contract, ContractError, KindContext, file_label, sql_ident
from .readers import Source, Tables, choose_date_format, drop_intermediate, read_raw, sniff
from .spark_readers import Location, is_uri, sniff_location
from .values import ValueOptions, detect_decimal, sample_numbers, stripped_sql, window_option

#: Default of ``max_quarantined_share``: a load that sets aside more than 1 % of the rows stops.
MAX_QUARANTINED_SHARE = 0.01

_q = sql_ident


@dataclass
class LoadResult:
    """An input file read and checked against its contract.

    ``rows_read == rows_accepted + rows_quarantined`` always holds. ``table`` (Ibis) and
    ``to_pandas()`` give the accepted rows with the contract's column names and types;
    ``quarantine`` the rows set aside (``line`` in the file, ``reason``, original values).
    """

    name: str
    kind: str
    path: Path | Location
    engine: Engine = field(repr=False)
    accepted_table: str = field(repr=False)
    quarantine_table: str = field(repr=False)
    columns: dict[str, str]
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    sha256: str
    date_format: str | None
    source: Source = field(repr=False)
    quarantine_path: Path | None = None
    schema: dict[str, str] = field(default_factory=dict)
    decimal: str = "."
    currency_stripped: int = 0  # number values that carried a currency sign or code
    timezone: str | None = None
    date_window: tuple[str | None, str | None] | None = None
    max_quarantined_share: float = MAX_QUARANTINED_SHARE

    @property
    def quarantined_share(self) -> float:
        """The share of rows set aside (0 when no rows were read)."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def over_threshold(self) -> bool:
        """More rows set aside than ``max_quarantined_share`` allows (``load`` raises then;
        ``validate`` returns and leaves the decision to the caller)."""
        return self.quarantined_share > self.max_quarantined_share

    @property
    def threshold_message(self) -> str | None:
        """The sentence ``load`` raises with when the share is over the threshold, else ``None``."""
        return summary.threshold_message(self) if self.over_threshold else None

    def data_problems(self, min_ids: int = 2) -> list[str]:
        """Sentences about accepted data no model can learn from (see :func:`summary.data_problems`)."""
        return summary.data_problems(self, min_ids=min_ids)

    def require_usable(self, min_ids: int = 2) -> LoadResult:
        """Raise :class:`~helpers.contracts.summary.DataProblem` (a ContractError) naming what is
        wrong with the data (one customer only, only negative amounts, ...); else return self."""
        return summary.require_usable(self, min_ids=min_ids)

    def stats(self, ids_up_to: int | None = None) -> dict[str, Any]:
        """Summary figures of the accepted rows (see :func:`summary.stats`)."""
        return summary.stats(self, ids_up_to=ids_up_to)

    @property
    def table(self):
        """Accepted rows as an Ibis table expression (runs on the engine)."""
        return self.engine.table(self.accepted_table).drop("_line")

    def to_pandas(self) -> pd.DataFrame:
        """Accepted rows as pandas, with a fixed schema (see ``schema``)."""
        rel = self.engine.con.sql(f"SELECT * FROM {_q(self.accepted_table)} ORDER BY _line")
        # through Arrow where the engine offers it (DuckDB): several times faster than .df() on
        # millions of text values; the schema is fixed either way
        df = rel.to_arrow_table().to_pandas() if hasattr(rel, "to_arrow_table") else rel.df()
        return coerce_schema(df.drop(columns="_line"), self.schema)

    @property
    def quarantine(self) -> pd.DataFrame:
        """Rows set aside: ``line`` (1-based, in the file), ``reason`` and the original values."""
        con, table = self.engine.con, self.quarantine_table
        return con.sql(f"SELECT * FROM {_q(table)} ORDER BY {quarantine_order(con, table)}").df()

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
            "sha256": self.sha256 or None,  # None: read where it lives, not hashed here
            "bytes": self.path.stat().st_size if isinstance(self.path, Path) else None,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "quarantined_share": round(self.quarantined_share, 6),
            **self.source_details(),
            "quarantine_file": str(self.quarantine_path) if self.quarantine_path else None,
            "engine": self.engine.describe(),
            "read_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def source_details(self) -> dict[str, Any]:
        """How the file was read: encoding (and whether detected), compression, sheets, decimal
        separator, currency signs stripped, time zones, the date window."""
        src = self.source
        out: dict[str, Any] = {"format": src.format}
        if src.format in ("csv", "whitespace"):
            out["encoding"] = src.encoding
            out["encoding_detected"] = src.encoding_detected
            if src.delimiter:
                out["delimiter"] = src.delimiter
        if src.compression:
            out["compression"] = src.compression
        if src.sheets:
            out["sheets"] = list(src.sheets)
            out["sheets_read"] = list(src.sheets_read)
        if any(t in ("number", "integer", "count") for t in self.schema.values()):
            out["decimal"] = self.decimal
            out["currency_stripped"] = self.currency_stripped
        if src.timestamp_zones:
            out["timestamp_zones"] = dict(src.timestamp_zones)
        if self.timezone:
            out["timezone"] = self.timezone
        if self.date_window and "date" in self.schema.values():
            out["date_window"] = list(self.date_window)
        return out

    def metrics(self) -> dict[str, int | float]:
        """The shared metrics ``rows.<name>.read/accepted/quarantined/quarantined_share``."""
        return {
            f"rows.{self.name}.read": self.rows_read,
            f"rows.{self.name}.accepted": self.rows_accepted,
            f"rows.{self.name}.quarantined": self.rows_quarantined,
            f"rows.{self.name}.quarantined_share": round(self.quarantined_share, 6),
        }

    def key_figure(self) -> dict[str, str]:
        """The rows set aside as a summary card: ``{"rows set aside (<name>)": "30 of 19,973 (0.15 %)"}``."""
        share = 100 * self.quarantined_share
        shown = f"{share:.2g}" if 0 < share < 1 else f"{share:.0f}"
        return {f"rows set aside ({self.name})": f"{self.rows_quarantined:,} of {self.rows_read:,} ({shown} %)"}

    def describe(self) -> str:
        """One sentence for a report: what was read, accepted and set aside (with the share), and
        why; which sheets, encoding and decimal separator when that was a choice."""
        return summary.describe(self)


def _contract(kind: str) -> Contract:
    found = registry.contracts()
    if kind not in found:
        raise ValueError(f"Unknown kind {kind!r}: expected one of {', '.join(found)}.")
    return found[kind]


def _kind_options(kind: str, contract: Contract, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``kind`` takes; ``None`` and other kinds' options are ignored (a notebook
    passes the same keywords whatever the kind), anything else is a TypeError."""
    declared = {o for c in registry.contracts().values() for o in c.options}
    unknown = sorted(set(options) - declared)
    if unknown:
        raise TypeError(
            f"load() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
            + (f"; kind {kind} takes {', '.join(contract.options)}" if contract.options else "")
        )
    return {k: v for k, v in options.items() if k in contract.options and v is not None}


def _tables(name: str) -> Tables:
    """Table names for input ``name``: readable, and distinct for distinct names."""
    slug = re.sub(r"\W+", "_", name).strip("_").lower()[:40] or "input"
    return Tables(f"wb_{slug}_{hashlib.sha1(name.encode()).hexdigest()[:8]}")


def _where(path: str | Path | Location, engine, name: str, kind: str) -> Path | Location:
    """A local file as a Path; a URI (``s3a://``, ``file://``) or, on Spark, a folder (a partitioned
    Parquet dataset) as a :class:`Location` Spark reads where it lives."""
    if is_uri(path) or (engine.name == "spark" and Path(path).is_dir()):
        if engine.name != "spark":
            raise ContractError(
                f"{path} is not a file on this machine (input '{name}', kind {kind}): the Spark engine reads data "
                "where it lives (engine='spark', or WORKBENCH_ENGINE=spark); DuckDB needs a local copy."
            )
        return (
            path
            if isinstance(path, Location)
            else Location(str(path) if is_uri(path) else Path(path).resolve().as_uri())
        )
    path = Path(path)
    if not path.exists():
        raise ContractError(f"File {file_label(path)} does not exist (input '{name}', kind {kind}).")
    if path.is_dir():
        raise ContractError(
            f"{file_label(path)} is a folder, not a file (input '{name}', kind {kind}); the Spark engine reads "
            "a folder of Parquet files (engine='spark')."
        )
    return path


def _scalar(con, sql: str):
    """The single value a query returns."""
    return con.sql(sql).fetchall()[0][0]


def load(
    path: str | Path,
    kind: str,
    *,
    name: str | None = None,
    columns: Mapping[str, Any] | None = None,
    optional: Sequence[str] | None = None,
    date_format: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    file_format: str | None = None,
    decimal: str | None = None,
    timezone: str | None = None,
    date_window: Any = None,
    max_quarantined_share: float | None = None,
    stop_above_threshold: bool = True,
    engine: Engine | None = None,
    record: bool = True,
    quarantine_dir: str | Path | None = None,
    **options: Any,
) -> LoadResult:
    """Read ``path`` as data of ``kind`` and check every row against the contract.

    Parameters
    ----------
    path: CSV/TSV/text (delimiter detected; also ``.csv.gz`` and ``.csv.zst``), ``.parquet`` or
        ``.xlsx`` file.
    kind: a registered kind (``helpers.core.registry.kind_names()``).
    name: the input's name in metrics and quarantine files (default: ``kind``); loading again
        under the same name replaces the earlier load's tables.
    columns: contract column -> file column (name, or 0-based position for headerless files);
        unmapped contract columns are looked up by their own name (case-insensitive).
    optional: the contract's optional columns to read and check (besides the required ones and
        those mapped in ``columns``): None (default) every one the file has, and the file's other
        columns as text where the kind keeps them; a list (``()`` for none) keeps only those, for an
        analysis that uses only the required columns: a row is then never set aside for a column
        it does not use, and the checked table holds only what is used (on a 10-million-row log
        with order ids, a third less time and memory).
    date_format: strftime format of the date columns (detected from the values when omitted).
    delimiter, header, file_format: override what is detected.
    encoding: ``None`` expects UTF-8 (with or without BOM); ``"auto"`` detects UTF-8, CP1252
        (bytes 0x80-0x9F, as Windows exports write them) or Latin-1; or name it (``"cp1252"``).
    sheet: Excel only: a sheet name, a 0-based index, or ``"all"`` (sheets with the same columns,
        stacked, with a ``sheet`` column); default the first sheet. The report names every sheet
        the file holds and those read.
    decimal: ``"."`` or ``","`` (``1.234,56``); detected from the number columns when omitted.
        Currency signs and codes in number fields are stripped (and counted).
    timezone: the time zone whose calendar dates timestamps with an offset become (e.g.
        ``"Europe/Paris"``, ``"+01:00"``); default: the date the data states (for Parquet, in
        the zone stored with the column; UTC when none).
    date_window: ``(start, end)`` ISO dates outside which dates are set aside (default
        1950-01-01 to a year from today; ``False`` for none).
    max_quarantined_share: above this share of rows set aside (default 0.01) the load stops
        with a ContractError giving the share and the most common reason, with an example line.
    stop_above_threshold: ``False`` returns instead (``result.over_threshold`` tells), as
        ``validate`` does.
    record: record provenance, metrics and the quarantine file in the run directory.
    quarantine_dir: where ``<name>.csv`` of set-aside rows goes (default: run dir/quarantine
        when ``record``, else nowhere).
    options: the kind's own options (``Contract.options``), e.g. ``items`` and ``scale`` for
        ``responses`` (answer columns, a list or a regular expression, and the answer scale
        ``(min, max)``: answers outside it or not numbers are set aside, blanks kept as
        missing) or ``channels`` for ``spend`` (default: every column other than date and kpi).
    """
    contract = _contract(kind)
    kind_options = _kind_options(kind, contract, options)
    name = name or kind
    mapping = {k: v for k, v in dict(columns or {}).items() if v not in (None, "")}
    engine = engine or default_engine()
    path = _where(path, engine, name, kind)
    if decimal not in (None, ".", ","):
        raise ContractError(f"decimal must be '.' or ',', not {decimal!r}.")
    threshold = MAX_QUARANTINED_SHARE if max_quarantined_share is None else float(max_quarantined_share)
    if not 0.0 <= threshold <= 1.0:
        raise ContractError(f"max_quarantined_share must be a share in [0, 1], not {max_quarantined_share!r}.")
    window = window_option(date_window)
    con = engine.con
    if timezone:
        from .columnar import check_zone

        check_zone(con if engine.name == "duckdb" else None, timezone)
    tables = _tables(name)
    if isinstance(path, Location):  # read where it lives: no local bytes to sniff or hash
        source = sniff_location(con, path, file_format, delimiter, header, encoding)
        digest = ""
    else:
        source = sniff(path, file_format, delimiter, header, encoding)
        digest = file_sha256(path)
    stripped = 0

    try:
        gaps = read_raw(con, path, source, tables, sheet, timezone)
        file_columns = [c for c in con.sql(f"SELECT * FROM {_q(tables.raw)} LIMIT 0").columns if c != "_line"]
        n_raw = _scalar(con, f"SELECT count(*) FROM {_q(tables.raw)}")
        n_rejects = _scalar(con, f"SELECT count(*) FROM {_q(tables.rejects)}")
        if n_raw + n_rejects == 0:
            raise ContractError(f"File {file_label(path)} has no data rows: expected {contract.description}.")

        ctx = KindContext(path, tuple(file_columns), mapping, kind_options, contract.fields)
        fields = contract.fields_for(ctx)
        extra = fields[len(contract.fields) :]
        if optional is not None:
            fields = _chosen_fields(contract, optional, mapping, kind) + extra
        resolved = resolve_columns(file_columns, fields, mapping, path, kind)
        date_formats = {
            f.name: date_format or choose_date_format(con, tables.raw, resolved[f.name], path)
            for f in fields
            if f.type in ("date", "timestamp") and f.name in resolved
        }
        extra_reasons = contract.extra_rules(ctx, extra, resolved) if contract.extra_rules else ()
        native = source.native_types
        number_cols = [  # those read as text (a Parquet column of numbers has no decimal mark or currency)
            resolved[f.name]
            for f in fields
            if f.type in ("number", "integer", "count")
            and f.name in resolved
            and not native_fits(native.get(resolved[f.name], ""), f.type)
        ]
        dec = decimal or detect_decimal(sample_numbers(con, tables.raw, number_cols))
        values = ValueOptions(decimal=dec, timezone=timezone, date_window=window)
        schema = check_rows(
            con,
            tables,
            contract,
            fields,
            extra_reasons,
            resolved,
            date_formats,
            file_columns,
            gaps,
            source.header,
            values,
            source.long_lines,
            native,
            keep_extra=optional is None,
        )
        if number_cols:
            stripped = _scalar(
                con, f"SELECT sum({' + '.join(stripped_sql(_q(c)) for c in number_cols)}) FROM {_q(tables.raw)}"
            )
    finally:
        drop_intermediate(con, tables)
        source.cleanup()
    n_acc = _scalar(con, f"SELECT count(*) FROM {_q(tables.accepted)}")
    n_q = _scalar(con, f"SELECT count(*) FROM {_q(tables.quarantine)}")
    n_read = n_raw + n_rejects
    assert n_acc + n_q == n_read, "row accounting does not add up"

    result = LoadResult(
        name=name,
        kind=kind,
        path=path,
        engine=engine,
        accepted_table=tables.accepted,
        quarantine_table=tables.quarantine,
        columns=resolved,
        rows_read=n_read,
        rows_accepted=n_acc,
        rows_quarantined=n_q,
        sha256=digest,
        date_format=next(iter(date_formats.values()), None),
        source=source,
        schema=schema,
        decimal=dec,
        currency_stripped=int(stripped or 0),
        timezone=timezone,
        date_window=window,
        max_quarantined_share=threshold,
    )
    if quarantine_dir is None and record:
        quarantine_dir = runfiles.run_dir() / runfiles.QUARANTINE_DIR
    if quarantine_dir is not None and n_q:
        result.quarantine_path = write_quarantine(con, tables.quarantine, Path(quarantine_dir) / f"{name}.csv")
    if record:
        reporting.record_input(name, result.provenance)
        reporting.record_metrics({**result.metrics(), "engine": engine.name})
    if stop_above_threshold and result.over_threshold:
        raise summary.SetAsideError(result.threshold_message, result)
    return result


def _chosen_fields(contract, optional: Sequence[str], mapping: Mapping[str, Any], kind: str) -> tuple:
    """The contract's required fields, those mapped, and the optional ones named in ``optional``."""
    if isinstance(optional, str):
        optional = (optional,)
    names = {f.name for f in contract.fields if not f.required}
    unknown = sorted(set(optional) - names)
    if unknown:
        raise ContractError(
            f"optional={list(optional)!r}: {', '.join(map(repr, unknown))} is not an optional column of the {kind} "
            f"contract; its optional columns are {', '.join(sorted(names)) or 'none'}."
        )
    keep = set(optional) | set(mapping)
    return tuple(f for f in contract.fields if f.required or f.name in keep)


def validate(path: str | Path, kind: str, **options: Any) -> LoadResult:
    """Check a file against its contract without recording anything in a run directory.

    Unlike ``load`` it returns even when more rows are set aside than ``max_quarantined_share``
    allows: ``result.over_threshold`` and ``result.threshold_message`` tell (the ``workbench
    validate`` command exits non-zero then)."""
    options.setdefault("record", False)
    options.setdefault("stop_above_threshold", False)
    return load(path, kind, **options)


__all__ = ["LoadResult", "load", "validate"]
