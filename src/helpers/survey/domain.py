"""The survey domain's declaration: the ``responses`` contract and its simulator.

A responses file has one row per respondent and one column per question. Which columns are
answers (``items``: a list of names or a regular expression; default every column but
``respondent_id``) and the answer scale (``scale=(min, max)``) are options of the load; answers
that are not numbers or lie outside the scale are set aside, blank answers are kept as missing,
and a respondent with no answer at all is set aside. Declared ``missing_codes`` (e.g. ``[-99]``)
are not checked against the scale: the analysis turns them into missing answers and counts them
(:func:`helpers.survey.data.clean_responses`).

Light by design (standard library, ``helpers.core.registry`` and ``helpers.contracts.kinds``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from helpers.contracts.kinds import (
    Contract,
    ContractError,
    Field,
    KindContext,
    file_label,
    missing_columns_error,
    sql_ident,
    sql_literal,
    typed_value,
)
from helpers.core.registry import Domain, Metric, register


def answer_fields(ctx: KindContext) -> list[Field]:
    """One ``number`` field per answer column (blank answers allowed)."""
    items = ctx.options.get("items")
    cols = list(ctx.file_columns)
    if items is None:
        skip = {ctx.mapping.get("respondent_id", "respondent_id")}
        names = [c for c in cols if c not in skip]
    elif isinstance(items, str):
        pattern = re.compile(items)
        names = [c for c in cols if pattern.fullmatch(c)]
        if not names:
            raise ContractError(
                f"File {file_label(ctx.path)} has no answer columns matching {items!r}; columns found: {', '.join(cols)}."
            )
    else:
        missing = [c for c in items if c not in cols]
        if missing:
            raise missing_columns_error(ctx.path, "answer", missing, cols)
        names = list(items)
    return [Field(c, "number", required=True, nullable=True) for c in names]


def answer_rules(ctx: KindContext, answers: Sequence[Field], resolved: Mapping[str, str]) -> list[str]:
    """Answers outside the scale, and respondents who answered nothing, are set aside."""
    if not answers:
        return []
    rules = []
    scale = ctx.options.get("scale")
    codes = [float(c) for c in (ctx.options.get("missing_codes") or [])]
    declared = f"{{value}} IN ({', '.join(repr(c) for c in codes)})" if codes else ""
    if scale:
        # one (lo, hi) for every answer, or a mapping column -> (lo, hi) (columns left out are not checked)
        scales = dict(scale) if isinstance(scale, Mapping) else {f.name: scale for f in answers}
        for f in answers:
            if f.name not in scales or scales[f.name] is None:
                continue
            lo, hi = scales[f.name]
            value = typed_value(f.name)
            reason = sql_literal(f"{f.name}: outside scale {lo:g}-{hi:g}")
            outside = f"({value} < {lo} OR {value} > {hi})"
            if declared:  # a declared missing code (e.g. -99) is a missing answer, not an answer outside the scale
                outside = f"{outside} AND NOT coalesce({declared.format(value=value)}, false)"
            rules.append(f"CASE WHEN {outside} THEN {reason} END")
    all_blank = " AND ".join(f"nullif(trim({sql_ident(resolved[f.name])}), '') IS NULL" for f in answers)
    rules.append(f"CASE WHEN {all_blank} THEN 'no answers' END")
    return rules


RESPONSES = Contract(
    "responses",
    (Field("respondent_id", "id", required=False, nullable=True, description="respondent identifier"),),
    "one row per respondent, one column per question",
    options=("items", "scale", "missing_codes"),
    extra_fields=answer_fields,
    extra_rules=answer_rules,
)

DOMAIN = register(
    Domain(
        name="survey",
        title="Survey analysis",
        kinds=(RESPONSES,),
        simulators={"responses": "helpers.survey.simulate:generate_responses"},
        metrics=(
            Metric("respondents", "Respondents", kind="int", help="respondents analysed, after cleaning"),
            Metric("cleaning.{step}", "Set aside: {step}", kind="int", help="respondents set aside by a cleaning step"),
            Metric("cleaning.missing_codes_replaced", "Missing codes made missing", kind="int"),
            Metric(
                "nps", "NPS", kind="float", unit="points", help="promoters (9-10) minus detractors (0-6), -100..100"
            ),
            Metric(
                "nps_moe", "NPS margin of error (95 %)", kind="float", unit="points", help="Wald, on the effective base"
            ),
            Metric("nps_se", "NPS standard error", kind="float", unit="points"),
            Metric("csat.top_box", "Satisfied (top two boxes)", kind="share"),
            Metric("csat.low", "Satisfied: 95 % interval, low", kind="share"),
            Metric("csat.high", "Satisfied: 95 % interval, high", kind="share"),
            Metric("alpha.{block}", "Cronbach's alpha (raw): {block}", kind="float"),
            Metric("alpha_standardized.{block}", "Cronbach's alpha (standardised): {block}", kind="float"),
            Metric(
                "block_index.{block}",
                "Block index (0-100): {block}",
                kind="float",
                unit="0-100",
                help="mean answer of the block's items, rescaled from the answer scale",
            ),
            Metric(
                "index.{construct}",
                "Satisfaction index (0-100): {construct}",
                kind="float",
                unit="0-100",
                help="mean PLS index score: the model's item weights, answers rescaled from the scale",
            ),
            Metric("pls.path.{source}.{target}", "Path {source} → {target}", kind="float", help="standardised"),
            Metric("pls.r2.{construct}", "Variation explained (R²): {construct}", kind="float"),
            Metric("pls.gof", "PLS goodness of fit", kind="float", help="0-1, Tenenhaus et al. 2005"),
            Metric("drivers.r2", "Variation explained by the drivers (R²)", kind="float"),
            Metric(
                "drivers.relative_weight.{driver}",
                "Relative weight: {driver}",
                kind="float",
                help="Johnson, sums to R²",
            ),
            Metric("drivers.shapley.{driver}", "Shapley importance: {driver}", kind="float", help="LMG, sums to R²"),
            Metric(
                "weighting.efficiency", "Weighting efficiency", kind="share", help="Kish effective base / respondents"
            ),
            Metric("weighting.effective_base", "Effective base", kind="float", unit="respondents"),
        ),
    )
)
