"""``load``: read an input file, check it against its kind's contract, set bad rows aside.

The rows are read and checked inside DuckDB (no raw text held in pandas). The result's tables are
named after the input's ``name``: loading again under the same name (a re-run cell in
JupyterLab) replaces them, so the shared connection does not fill up with old copies; a
:class:`LoadResult` from an earlier load under that name then reads the new data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import reporting
from helpers.core import registry, runfiles
from helpers.core.engine import Engine, default_engine

from .checks import check_rows, coerce_schema, resolve_columns, write_quarantine
from .kinds import Contract, ContractError, KindContext, file_label, sql_ident
from .readers import Source, Tables, choose_date_format, drop_intermediate, read_raw, sha256, sniff

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
    source: Source = field(repr=False)
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
        """The row counts as the shared metrics ``rows.<name>.read/accepted/quarantined``."""
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


def _scalar(con, sql: str):
    """The single value a query returns."""
    return con.sql(sql).fetchall()[0][0]


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
    engine: Engine | None = None,
    record: bool = True,
    quarantine_dir: str | Path | None = None,
    **options: Any,
) -> LoadResult:
    """Read ``path`` as data of ``kind`` and check every row against the contract.

    Parameters
    ----------
    path: CSV/TSV/text (delimiter detected), ``.parquet`` or ``.xlsx`` file.
    kind: a registered kind (``helpers.core.registry.kind_names()``).
    name: the input's name in metrics and quarantine files (default: ``kind``); loading again
        under the same name replaces the earlier load's tables.
    columns: contract column -> file column (name, or 0-based position for headerless files);
        unmapped contract columns are looked up by their own name (case-insensitive).
    date_format: strftime format of the date columns (detected from the values when omitted).
    delimiter, header, encoding, sheet, file_format: override what is detected.
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
    path = Path(path)
    name = name or kind
    mapping = {k: v for k, v in dict(columns or {}).items() if v not in (None, "")}
    if not path.exists():
        raise ContractError(f"File {file_label(path)} does not exist (input '{name}', kind {kind}).")
    if path.is_dir():
        raise ContractError(f"{file_label(path)} is a folder, not a file (input '{name}', kind {kind}).")
    engine = engine or default_engine()
    con = engine.con
    tables = _tables(name)
    source = sniff(path, file_format, delimiter, header, encoding)
    digest = sha256(path)

    try:
        gaps = read_raw(con, path, source, tables, sheet)
        file_columns = [c for c in con.sql(f"SELECT * FROM {_q(tables.raw)} LIMIT 0").columns if c != "_line"]
        n_raw = _scalar(con, f"SELECT count(*) FROM {_q(tables.raw)}")
        n_rejects = _scalar(con, f"SELECT count(*) FROM {_q(tables.rejects)}")
        if n_raw + n_rejects == 0:
            raise ContractError(f"File {file_label(path)} has no data rows: expected {contract.description}.")

        ctx = KindContext(path, tuple(file_columns), mapping, kind_options, contract.fields)
        fields = contract.fields_for(ctx)
        extra = fields[len(contract.fields) :]
        resolved = resolve_columns(file_columns, fields, mapping, path, kind)
        date_formats = {
            f.name: date_format or choose_date_format(con, tables.raw, resolved[f.name], path)
            for f in fields
            if f.type == "date" and f.name in resolved
        }
        extra_reasons = contract.extra_rules(ctx, extra, resolved) if contract.extra_rules else ()
        schema = check_rows(
            con, tables, contract, fields, extra_reasons, resolved, date_formats, file_columns, gaps, source.header
        )
    finally:
        drop_intermediate(con, tables)
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
    )
    if quarantine_dir is None and record:
        quarantine_dir = runfiles.run_dir() / runfiles.QUARANTINE_DIR
    if quarantine_dir is not None and n_q:
        result.quarantine_path = write_quarantine(con, tables.quarantine, Path(quarantine_dir) / f"{name}.csv")
    if record:
        reporting.record_input(name, result.provenance)
        reporting.record_metrics(result.metrics())
    return result


def validate(path: str | Path, kind: str, **options: Any) -> LoadResult:
    """Check a file against its contract without recording anything in a run directory."""
    options.setdefault("record", False)
    return load(path, kind, **options)


__all__ = ["LoadResult", "load", "validate"]
