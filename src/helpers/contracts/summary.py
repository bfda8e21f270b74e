"""What a load says about the data: the report sentence, the stop above the share of rows set
aside, and the data-level checks a model needs before it can say anything (more than one
customer, some positive amounts).

Each function takes a :class:`~helpers.contracts.loading.LoadResult`; the methods of that class
call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .kinds import ContractError, file_label, sql_ident, sql_literal

if TYPE_CHECKING:
    from .loading import LoadResult

_q = sql_ident
NEARLY_ALL = 0.9


class SetAsideError(ContractError):
    """More rows were set aside than ``max_quarantined_share`` allows; ``result`` is the load
    (its quarantine and reasons stay readable)."""

    def __init__(self, message: str, result: LoadResult) -> None:
        super().__init__(message)
        self.result = result


class DataProblem(ContractError):
    """The accepted rows meet the contract, but no model can learn from them (``problems``: one
    sentence each)."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


def _pct(share: float) -> str:
    pct = 100 * share
    if pct >= 10 or pct == 0:
        return f"{pct:.0f} %"
    return f"{pct:.1f} %" if pct >= 1 else f"{pct:.2g} %"


def _how_read(res: LoadResult) -> str:
    src, bits = res.source, []
    if src.sheets:
        read = ", ".join(map(repr, src.sheets_read))
        if len(src.sheets) > 1:
            bits.append(f"sheet(s) {read} of {len(src.sheets)} ({', '.join(map(repr, src.sheets))})")
        else:
            bits.append(f"sheet {read}")
    if src.format in ("csv", "whitespace") and src.encoding != "utf-8":
        bits.append(f"encoding {src.encoding}" + (" (detected)" if src.encoding_detected else ""))
    if src.compression:
        bits.append(f"{src.compression}-compressed")
    if res.decimal == ",":
        bits.append("decimal comma")
    if res.currency_stripped:
        bits.append(f"currency signs stripped from {res.currency_stripped:,} value(s)")
    return f" [{'; '.join(bits)}]" if bits else ""


def describe(res: LoadResult) -> str:
    """``orders.csv: 20,000 rows read, 19,970 accepted, 30 set aside (reason: n; ...), 0.15 % of the rows.``;
    when nearly all rows were set aside the sentence says that first."""
    share = res.quarantined_share
    lead = ""
    if res.rows_read and share >= NEARLY_ALL:
        lead = f"Nearly every row was set aside ({_pct(share)}): "
    text = (
        f"{lead}{res.path.name}{_how_read(res)}: {res.rows_read:,} rows read, {res.rows_accepted:,} accepted, "
        f"{res.rows_quarantined:,} set aside"
    )
    if res.rows_quarantined:
        top = res.reasons.head(3)
        text += " (" + "; ".join(f"{r.reason}: {r.rows:,}" for r in top.itertuples()) + ")"
        text += f", {_pct(share)} of the rows"
    return text + "."


def example(res: LoadResult, reason: str) -> str:
    """``line 5: amount '1.234,56'`` for the first row set aside for ``reason``."""
    con = res.engine.con
    row = con.sql(
        f"SELECT * FROM {_q(res.quarantine_table)} WHERE list_contains(string_split(reason, '; '), "
        f"{sql_literal(reason)}) ORDER BY line, reason LIMIT 1"
    ).df()
    if row.empty:
        return ""
    rec = row.iloc[0]
    field = reason.split(":", 1)[0]
    column = res.columns.get(field, field)
    if column in row.columns and rec[column] is not None and str(rec[column]) != "nan":
        value = str(rec[column])
    elif rec.get("raw_line") is not None and str(rec.get("raw_line")) != "nan":
        value = str(rec["raw_line"])
    else:
        value = ""
    value = value if len(value) <= 60 else value[:57] + "..."
    where = f"line {int(rec['line']):,}"
    if value and column in row.columns:
        return f"{where}: {column} {value!r}"
    return f"{where}: {value!r}" if value else where


def threshold_message(res: LoadResult) -> str:
    """The ContractError text above the threshold: the share first, then the rule and an example."""
    share = res.quarantined_share
    top = res.reasons.head(1)
    reason = str(top["reason"].iloc[0]) if len(top) else "unknown"
    count = int(top["rows"].iloc[0]) if len(top) else 0
    lead = "Nearly every row of {} was" if share >= NEARLY_ALL else "Too many rows of {} were"
    text = (
        f"{lead.format(file_label(res.path))} set aside: {res.rows_quarantined:,} of {res.rows_read:,} "
        f"({_pct(share)}), above the {_pct(res.max_quarantined_share)} allowed (max_quarantined_share="
        f"{res.max_quarantined_share:g}). Most common reason: {reason} ({count:,} rows; e.g. {example(res, reason)})."
    )
    if "not a number" in reason and res.decimal == ".":
        text += " If the file writes 1.234,56, pass decimal=','."
    elif "not a date" in reason:
        text += " If the dates mix formats, fix them at the source or pass date_format=."
    elif "outside" in reason:
        text += (
            " Placeholder dates (1900-01-01, 9999-12-31) belong to no purchase; widen date_window= if they are real."
        )
    return text + " This is a problem with the data, not with any model."


# --------------------------------------------------------------------------------------------
# Data-level checks


def _id_and_amount(res: LoadResult) -> tuple[str | None, list[str]]:
    from helpers.core import registry

    contract = registry.contracts().get(res.kind)
    fields = contract.fields if contract else ()
    ident = next((f.name for f in fields if f.type == "id" and f.required and f.name in res.schema), None)
    amounts = [
        f.name for f in fields if f.type == "number" and f.required and f.minimum is None and f.name in res.schema
    ]
    return ident, amounts


def stats(res: LoadResult, ids_up_to: int | None = None) -> dict[str, Any]:
    """Figures of the accepted rows: ``rows``, ``ids`` (distinct values of the kind's required id
    column, e.g. customers; with ``ids_up_to``, counted only up to that many, which is all a check
    for "at least n customers" needs: a distinct count of millions of ids takes a second, the
    first n a few milliseconds), and per required signed number column (e.g. ``amount``) the count
    of ``positive``, ``zero`` and ``negative`` values; ``date_min``/``date_max`` when there is a
    date column."""
    ident, amounts = _id_and_amount(res)
    parts = ["count(*) AS rows"]
    if ident:
        if ids_up_to is None:
            parts.append(f"count(DISTINCT {_q(ident)}) AS ids")
        else:
            first = f"SELECT DISTINCT {_q(ident)} FROM {_q(res.accepted_table)} LIMIT {int(ids_up_to)}"
            parts.append(f"(SELECT count(*) FROM ({first})) AS ids")
        parts.append(f"min({_q(ident)}) AS some_id")
    for a in amounts:
        parts += [
            f"count(*) FILTER (WHERE {_q(a)} > 0) AS {_q(a + '_positive')}",
            f"count(*) FILTER (WHERE {_q(a)} = 0) AS {_q(a + '_zero')}",
            f"count(*) FILTER (WHERE {_q(a)} < 0) AS {_q(a + '_negative')}",
        ]
    dates = [c for c, t in res.schema.items() if t == "date"]
    if dates:
        parts += [f"min({_q(dates[0])}) AS date_min", f"max({_q(dates[0])}) AS date_max"]
    row = res.engine.con.sql(f"SELECT {', '.join(parts)} FROM {_q(res.accepted_table)}").df().iloc[0]
    out: dict[str, Any] = {"rows": int(row["rows"]), "id_column": ident}
    if ident:
        out["ids"] = int(row["ids"])
        out["some_id"] = None if row["some_id"] is None else str(row["some_id"])
    for a in amounts:
        out[a] = {k: int(row[f"{a}_{k}"]) for k in ("positive", "zero", "negative")}
    if dates:
        # a Timestamp (or NaT) whichever engine ran the query (Spark returns datetime.date)
        out["date_min"], out["date_max"] = pd.Timestamp(row["date_min"]), pd.Timestamp(row["date_max"])
    return out


def data_problems(res: LoadResult, min_ids: int = 2) -> list[str]:
    """One sentence per problem of the accepted data that no model can get round: no rows, fewer
    than ``min_ids`` distinct ids (customers), or no positive value in a required signed amount
    column (returns only)."""
    s = stats(res, ids_up_to=min_ids)
    name = res.path.name
    if s["rows"] == 0:
        return [f"{name}: no rows were accepted, so there is nothing to analyse."]
    found = []
    ident = s.get("id_column")
    if ident and s["ids"] < min_ids:
        who = f" ({s['some_id']})" if s["ids"] == 1 else ""
        found.append(
            f"{name}: all {s['rows']:,} accepted rows belong to {s['ids']:,} {ident} value{'' if s['ids'] == 1 else 's'}"
            f"{who}; a model of customer behaviour needs at least {min_ids:,} to compare."
        )
    for col in (k for k, v in s.items() if isinstance(v, dict)):
        c = s[col]
        if c["positive"] == 0:
            found.append(
                f"{name}: no {col} is positive ({c['negative']:,} negative, {c['zero']:,} zero): the file holds "
                "returns or refunds only, not purchases."
            )
    return found


def require_usable(res: LoadResult, min_ids: int = 2) -> LoadResult:
    """Raise :class:`DataProblem` with the sentences of :func:`data_problems`, if any."""
    problems = data_problems(res, min_ids=min_ids)
    if problems:
        raise DataProblem(" ".join(problems) + " This is a problem with the data, not with the model.", problems)
    return res
