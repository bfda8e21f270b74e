"""The channels domain's declaration: the ``journeys`` and ``spend`` contracts and simulators.

A spend file has a date, an optional KPI and one spend column per channel: ``channels`` (an
option of the load) names them, by default every other column. Spend must be a number >= 0.

Light by design (standard library, ``helpers.core.registry`` and ``helpers.contracts.kinds``).
"""

from __future__ import annotations

from helpers.contracts.kinds import Contract, ContractError, Field, KindContext, file_label, missing_columns_error
from helpers.core.registry import Domain, register

JOURNEYS = Contract(
    "journeys",
    (
        Field("path", "id", description="touchpoints in order, joined by ' > '"),
        Field("conversions", "count", description="journeys on this path that converted"),
        Field("nulls", "count", required=False, nullable=True, description="journeys that did not convert"),
        Field("conversion_value", "number", required=False, nullable=True, minimum=0.0),
    ),
    "one row per distinct path",
)


def spend_fields(ctx: KindContext) -> list[Field]:
    """One ``number >= 0`` field per channel's spend column."""
    cols = list(ctx.file_columns)
    known = {ctx.mapping.get(f.name, f.name) for f in ctx.fields}
    given = ctx.options.get("channels")
    chans = list(given) if given else [c for c in cols if c not in known and c.lower() not in known]
    missing = [c for c in chans if c not in cols]
    if missing:
        raise missing_columns_error(ctx.path, "spend", missing, cols)
    if not chans:
        raise ContractError(f"File {file_label(ctx.path)} has no spend columns besides the date and KPI.")
    return [Field(c, "number", required=True, minimum=0.0) for c in chans]


SPEND = Contract(
    "spend",
    (
        Field("date", "date", description="period start (e.g. week)"),
        Field("kpi", "number", required=False, nullable=True, description="outcome, e.g. revenue"),
    ),
    "one row per period, one spend column per channel",
    options=("channels",),
    extra_fields=spend_fields,
)

DOMAIN = register(
    Domain(
        name="channels",
        title="Channels and marketing mix",
        kinds=(JOURNEYS, SPEND),
        simulators={
            "journeys": "helpers.channels.simulate:generate_journeys",
            "spend": "helpers.channels.simulate:generate_spend",
        },
    )
)
