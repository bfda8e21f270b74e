"""Data contracts: the one door through which every notebook reads an input file.

``load(path, kind, ...)`` reads a CSV (delimiter detected: comma, semicolon, tab, pipe or runs
of whitespace), Parquet or Excel file, checks every row against the contract of its ``kind``
inside DuckDB (typed casts, no raw text held in pandas) and splits the rows in two:

- accepted rows, typed, available as an Ibis table (``result.table``) for heavy aggregation or
  as a pandas DataFrame with a fixed schema (``result.to_pandas()``);
- rows that break the contract, set aside with their original values, their line in the file
  and a ``reason`` (``result.quarantine``; written to ``quarantine/<name>.csv`` in the run
  directory). Nothing is dropped silently: ``rows_read == rows_accepted + rows_quarantined``.

A problem with the whole file (missing, empty, undecodable, a required column absent, a quote
that never closes) raises ``ContractError`` with one sentence naming the file, the line or
column and what was expected; so does a load that sets aside more than ``max_quarantined_share``
of the rows (default 1 %; ``SetAsideError``). ``LoadResult.require_usable()`` raises
``DataProblem`` when the accepted rows meet the contract but no model can learn from them (one
customer, returns only).

The kinds are declared by the domains that own them (``helpers/<domain>/domain.py``, read
through :mod:`helpers.core.registry`): transactions (clv), customers (segmentation), responses
(survey), journeys and spend (channels).

Modules: :mod:`.kinds` (the light declaration types, standard library only), :mod:`.readers`
(sniffing and reading), :mod:`.checks` (rules, typed casts, quarantine) and :mod:`.loading`
(``load``, ``validate``, ``LoadResult``; not named ``load``, so that the module never hides the
function). Importing this package stays light: ``load`` and the rest are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from helpers.core.registry import Metric, register_shared_metrics

from .kinds import Contract, ContractError, Field, KindContext

__all__ = [
    "CONTRACTS",
    "KINDS",
    "Contract",
    "ContractError",
    "DataProblem",
    "Field",
    "KindContext",
    "LoadResult",
    "SetAsideError",
    "coerce_schema",
    "detect_delimiter",
    "load",
    "validate",
]

#: What ``load`` records for every input (``{input}`` is the load's ``name``).
METRICS = (
    Metric("rows.{input}.read", "Rows read", kind="int", help="data rows in the file"),
    Metric("rows.{input}.accepted", "Rows accepted", kind="int", help="rows that meet the contract"),
    Metric("rows.{input}.quarantined", "Rows set aside", kind="int", help="rows set aside, with line and reason"),
    Metric(
        "rows.{input}.quarantined_share",
        "Share set aside",
        kind="share",
        help="rows set aside / rows read; above max_quarantined_share (default 1 %) the load stops",
    ),
)
#: Recorded with every load: the engine that read, checked and aggregated the data.
ENGINE_METRIC = Metric("engine", "Engine", kind="text", help="where the data was read and aggregated: duckdb or spark")
register_shared_metrics((*METRICS, ENGINE_METRIC))

_LAZY = {
    "DataProblem": ".summary",
    "SetAsideError": ".summary",
    "load": ".loading",
    "validate": ".loading",
    "LoadResult": ".loading",
    "coerce_schema": ".checks",
    "detect_delimiter": ".readers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in ("CONTRACTS", "KINDS"):  # derived from the registry, never kept by hand
        from helpers.core import registry

        return registry.contracts() if name == "CONTRACTS" else registry.kind_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
