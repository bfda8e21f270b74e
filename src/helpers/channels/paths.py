"""From raw touchpoint events to customer paths and transition counts (Ibis, portable).

Input: one row per touch, ``journey_id, timestamp, channel, conversion, value``
(:data:`TOUCHPOINT_SCHEMA`; other column names are passed as arguments). Conventions:

- A journey's touches are ordered by ``timestamp``, then by channel name, so ties in time give
  the same path on every engine and run. Blanks around channel names are stripped; touches with
  no journey, no timestamp or an empty channel are left out.
- A journey *converted* when ``max(conversion) > 0`` over its rows; its value is the sum of
  ``value`` over its rows (missing values count 0). Journeys that did not convert are ``nulls``.
  Every touch of a journey is on its path, including touches after the conversion: a journey
  should end at its conversion (one journey per conversion), as in the ``journeys`` contract.
- ``paths_expr``: one row per distinct path: ``path`` (channels joined by ``sep``),
  ``conversions`` (journeys that converted), ``nulls`` (journeys that did not) and
  ``conversion_value`` (summed value of the converting journeys; 0 when ``value_col`` is None).
- ``transitions_expr``: order-1 transition counts ``from, to, n`` (journeys): ``(start)`` to the
  first channel, each channel to the next (a window ``lead()``), the last channel to
  ``(conversion)`` or ``(null)``; :meth:`MarkovAttribution.fit_transitions` fits them.

Ordered aggregation: the pyspark backend rejects ``collect(order_by=...)``, so the touches are
collected as (timestamp, channel) structs and the array is sorted (``ARRAY_SORT``; DuckDB's
``list_sort``), which orders by timestamp then channel.
"""

from __future__ import annotations

import ibis
import pandas as pd

from helpers.channels.markov import CONVERSION, NULL, START
from helpers.core.engine import portable

__all__ = ["PATH_DTYPES", "TOUCHPOINT_SCHEMA", "TRANSITION_DTYPES", "journey_paths", "paths_expr", "transitions_expr"]

TOUCHPOINT_SCHEMA = {
    "journey_id": "string",
    "timestamp": "timestamp",
    "channel": "string",
    "conversion": "int64",
    "value": "float64",
}
#: Columns of :func:`journey_paths` (the ``journeys`` contract).
PATH_DTYPES = {"path": "str", "conversions": "int64", "nulls": "int64", "conversion_value": "float64"}
TRANSITION_DTYPES = {"from": "str", "to": "str", "n": "int64"}


def _touches(table: ibis.Table, journey_col, time_col, channel_col, conversion_col, value_col) -> ibis.Table:
    """Clean touches: ``journey, ts, channel, conversion, value`` (value 0 when absent).

    Channel names are stripped once per distinct name (a small table joined back), not once per
    touch: a channel column has a handful of values, and stripping millions of strings (twice,
    for the filter and the value) was most of the cost of building paths."""
    raw = table[channel_col].cast("string")
    names = table.select(raw=raw).distinct()
    names = names.select(raw=names.raw, clean=names.raw.strip())
    names = names.filter(names.raw.notnull() & (names.clean.length() > 0))
    t = table.join(names, raw == names.raw)
    t = t.select(
        journey=t[journey_col].cast("string"),
        ts=t[time_col].cast("timestamp"),
        channel=t.clean,
        conversion=t[conversion_col].cast("int64").fill_null(0),
        value=(t[value_col].cast("float64").fill_null(0.0) if value_col is not None else ibis.literal(0.0)),
    )
    return t.filter(t.journey.notnull() & t.ts.notnull())


def _journeys(table, journey_col, time_col, channel_col, conversion_col, value_col, sep) -> ibis.Table:
    """One row per journey: ``path``, ``converted`` (0/1), ``value``."""
    t = _touches(table, journey_col, time_col, channel_col, conversion_col, value_col)
    per = t.group_by("journey").aggregate(
        touches=ibis.struct({"ts": t.ts, "channel": t.channel}).collect(),
        converted=(t.conversion.max() > 0).cast("int64"),
        value=t.value.sum(),
    )
    return per.select(
        path=per.touches.sort().map(lambda s: s.channel).join(sep),
        converted=per.converted,
        value=per.value,
    )


@portable(TOUCHPOINT_SCHEMA)
def paths_expr(
    table: ibis.Table,
    journey_col: str = "journey_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    value_col: str | None = "value",
    sep: str = " > ",
) -> ibis.Table:
    """One row per distinct path: ``path, conversions, nulls, conversion_value`` (see the module doc)."""
    j = _journeys(table, journey_col, time_col, channel_col, conversion_col, value_col, sep)
    g = j.group_by("path").aggregate(
        conversions=j.converted.sum(),
        journeys=j.count(),
        conversion_value=(j.value * j.converted.cast("float64")).sum(),
    )
    return g.select(
        path=g.path,
        conversions=g.conversions.cast("int64"),
        nulls=(g.journeys - g.conversions).cast("int64"),
        conversion_value=g.conversion_value.cast("float64"),
    )


@portable(TOUCHPOINT_SCHEMA)
def transitions_expr(
    table: ibis.Table,
    journey_col: str = "journey_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    conversion_col: str = "conversion",
    value_col: str | None = "value",
) -> ibis.Table:
    """Order-1 transition counts ``from, to, n`` over journeys (see the module doc), computed on the
    engine with window functions (``lead``, ``row_number``, ``max`` over the journey). ``value_col``
    is accepted so both builders take the same arguments; transitions carry no value."""
    t = _touches(table, journey_col, time_col, channel_col, conversion_col, None)
    w = ibis.window(group_by=t.journey, order_by=[t.ts, t.channel])
    whole = ibis.window(group_by=t.journey)
    steps = t.select(
        channel=t.channel,
        nxt=t.channel.lead().over(w),
        rank=ibis.row_number().over(w),
        converted=t.conversion.max().over(whole) > 0,
    )
    end = ibis.ifelse(steps.converted, ibis.literal(CONVERSION), ibis.literal(NULL))
    moves = steps.select(frm=steps.channel, to=steps.nxt.fill_null(end))
    starts = steps.filter(steps.rank == 0).select(frm=ibis.literal(START), to=steps.channel)
    both = moves.union(starts, distinct=False)
    counts = both.group_by(["frm", "to"]).aggregate(n=both.count())
    return counts.select(**{"from": counts.frm, "to": counts.to, "n": counts.n.cast("int64")})


def journey_paths(table: ibis.Table, **cols) -> pd.DataFrame:
    """Run :func:`paths_expr` (keyword arguments as there) and return pandas, sorted by journeys
    (conversions + nulls) descending then path: ``path`` (str), ``conversions`` and ``nulls``
    (int64), ``conversion_value`` (float64, rounded to 1e-9 so engines agree)."""
    frame = paths_expr(table, **cols).to_pyarrow().to_pandas()
    frame = frame.astype(PATH_DTYPES)
    frame["conversion_value"] = frame["conversion_value"].round(9)
    key = frame["conversions"] + frame["nulls"]
    order = pd.DataFrame({"k": -key, "p": frame["path"]}).sort_values(["k", "p"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)
