"""The channels domain's declaration: its contracts (``journeys``, ``touchpoints``, ``spend``,
``costs``, ``funnel``), simulators and report metrics.

A journeys file is aggregated paths (the format ChannelAttribution reads); a touchpoints file is
raw events, one row per touch, turned into paths on the data engine. A spend file has a date, an optional KPI and one spend column per channel: ``channels`` (an
option of the load) names them, by default every other column but the ``controls`` (an option: columns
such as price or competitor activity, numbers of any sign). Spend must be a number >= 0.

Light by design (standard library, ``helpers.core.registry`` and ``helpers.contracts.kinds``).
"""

from __future__ import annotations

from helpers.contracts.kinds import Contract, ContractError, Field, KindContext, file_label, missing_columns_error
from helpers.core.registry import Domain, Metric, register

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
    """One ``number >= 0`` field per channel's spend column, one ``number`` per control column."""
    cols = list(ctx.file_columns)
    known = {ctx.mapping.get(f.name, f.name) for f in ctx.fields}
    controls = list(ctx.options.get("controls") or [])
    given = ctx.options.get("channels")
    chans = (
        list(given) if given else [c for c in cols if c not in known and c.lower() not in known and c not in controls]
    )
    missing = [c for c in chans if c not in cols]
    if missing:
        raise missing_columns_error(ctx.path, "spend", missing, cols)
    missing = [c for c in controls if c not in cols]
    if missing:
        raise missing_columns_error(ctx.path, "control", missing, cols)
    both = [c for c in controls if c in chans]
    if both:
        raise ContractError(
            f"File {file_label(ctx.path)}: {', '.join(both)} given both as spend and as control columns."
        )
    if not chans:
        raise ContractError(f"File {file_label(ctx.path)} has no spend columns besides the date and KPI.")
    return [Field(c, "number", required=True, minimum=0.0) for c in chans] + [
        Field(c, "number", required=True) for c in controls
    ]


TOUCHPOINTS = Contract(
    "touchpoints",
    (
        Field("journey_id", "id", description="journey (customer or session) the touch belongs to"),
        Field("timestamp", "timestamp", description="when the touch happened; orders the touches of a journey"),
        Field("channel", "text", description="channel of the touch"),
        Field("conversion", "count", required=False, nullable=True, description="1 on a touch that converted"),
        Field("value", "number", required=False, nullable=True, minimum=0.0, description="conversion value"),
    ),
    "one row per touchpoint",
)

COSTS = Contract(
    "costs",
    (
        Field("channel", "text", description="acquisition channel, as in the customer table"),
        Field("date", "date", description="start of the period the cost was spent in"),
        Field("cost", "number", minimum=0.0, description="marketing cost in currency units"),
    ),
    "one row per channel and period",
)

FUNNEL = Contract(
    "funnel",
    (
        Field("lead_id", "id", description="lead identifier"),
        Field("stage", "text", description="funnel stage the lead reached"),
        Field("date", "date", description="day the lead entered the stage"),
        Field("channel", "text", required=False, nullable=True, description="channel or segment of the lead"),
    ),
    "one row per lead and stage reached",
)

SPEND = Contract(
    "spend",
    (
        Field("date", "date", description="period start (e.g. week)"),
        Field("kpi", "number", required=False, nullable=True, description="outcome, e.g. revenue"),
    ),
    "one row per period, one spend column per channel",
    options=("channels", "controls"),
    extra_fields=spend_fields,
)

MODEL_LABELS = {
    "first_touch": "first touch",
    "last_touch": "last touch",
    "linear": "linear",
    "time_decay": "time decay",
    "position_based": "position-based",
    "markov": "Markov chain",
    "shapley": "Shapley value",
}

DOMAIN = register(
    Domain(
        name="channels",
        title="Channels and marketing mix",
        kinds=(JOURNEYS, TOUCHPOINTS, SPEND, COSTS, FUNNEL),
        simulators={
            "journeys": "helpers.channels.simulate:generate_journeys",
            "touchpoints": "helpers.channels.simulate:generate_touchpoints",
            "spend": "helpers.channels.simulate:generate_spend",
            "costs": "helpers.channels.simulate:generate_costs",
            "funnel": "helpers.channels.simulate_funnel:generate_funnel",
        },
        metrics=(
            Metric("attribution.journeys", "Journeys", kind="int", help="journeys in the paths analysed"),
            Metric("attribution.conversions", "Conversions", kind="int"),
            Metric("attribution.paths", "Distinct paths", kind="int"),
            Metric("attribution.markov_order", "Markov chain order", kind="int"),
            Metric(
                "attribution.{model}.{channel}",
                "Conversions credited to {channel} ({model})",
                kind="float",
                help="models: " + ", ".join(MODEL_LABELS),
            ),
            Metric(
                "markov.removal_effect.{channel}",
                "Removal effect: {channel}",
                kind="share",
                help="share of conversions lost if the channel's journeys did not convert (exact, absorbing chain)",
            ),
            Metric("markov.conversion_probability", "Conversion probability (Markov chain)", kind="share"),
            Metric("mmm.r2", "Marketing-mix model R²", kind="float", help="in-sample, full fit"),
            Metric(
                "mmm.holdout_mape",
                "Holdout error (MAPE)",
                kind="pct",
                help="mean absolute % error on the last holdout weeks, model fitted without them",
            ),
            Metric("mmm.weeks", "Weeks modelled", kind="int"),
            Metric(
                "mmm.roas.{channel}", "ROAS: {channel}", kind="float", help="modelled contribution per unit of spend"
            ),
            Metric("mmm.roas_low.{channel}", "ROAS, 90 % interval low: {channel}", kind="float"),
            Metric("mmm.roas_high.{channel}", "ROAS, 90 % interval high: {channel}", kind="float"),
            Metric("mmm.mroas.{channel}", "Marginal ROAS: {channel}", kind="float", help="return on the next unit"),
            Metric("mmm.contribution_share.{channel}", "Share of the KPI from {channel}", kind="share"),
            Metric("budget.total", "Budget allocated", kind="money", help="total over the modelled period"),
            Metric("budget.current_spend.{channel}", "Current spend: {channel}", kind="money"),
            Metric("budget.optimal_spend.{channel}", "Recommended spend: {channel}", kind="money"),
            Metric(
                "budget.expected_response_gain",
                "Expected gain from the re-allocation",
                kind="float",
                help="in KPI units over the modelled period",
            ),
            Metric("budget.expected_response_gain_low", "Expected gain, 90 % interval low", kind="float"),
            Metric("budget.expected_response_gain_high", "Expected gain, 90 % interval high", kind="float"),
            Metric("budget.expected_response_gain_pct", "Expected gain (% of the media effect)", kind="pct"),
            Metric("scorecard.customers", "Customers acquired", kind="int"),
            Metric("scorecard.cac.{channel}", "Cost per acquired customer: {channel}", kind="money"),
            Metric("scorecard.conversion_rate.{channel}", "Conversion: {channel}", kind="share"),
            Metric("scorecard.retention_365d.{channel}", "Retention at 365 days: {channel}", kind="share"),
            Metric("scorecard.clv_mean.{channel}", "Predicted CLV per customer: {channel}", kind="money"),
            Metric("scorecard.roas.{channel}", "Revenue per unit of cost: {channel}", kind="float"),
            Metric("funnel.leads", "Leads", kind="int"),
            Metric("funnel.conversion", "Funnel conversion, first to last stage", kind="share"),
            Metric(
                "funnel.significant_transitions",
                "Funnel steps that differ by group",
                kind="int",
                help="stage transitions whose conversion differs significantly between groups (Holm)",
            ),
        ),
    )
)
