"""The survey domain's declaration: the ``responses`` contract and its simulator.

A responses file has one row per respondent and one column per question. Which columns are
answers (``items``: a list of names or a regular expression; default every column but
``respondent_id``) and the answer scale (``scale=(min, max)``) are options of the load; answers
that are not numbers or lie outside the scale are set aside, blank answers are kept as missing,
and a respondent with no answer at all is set aside.

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
from helpers.core.registry import Domain, register


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
    if scale:
        lo, hi = scale
        for f in answers:
            value = typed_value(f.name)
            reason = sql_literal(f"{f.name}: outside scale {lo:g}-{hi:g}")
            rules.append(f"CASE WHEN {value} < {lo} OR {value} > {hi} THEN {reason} END")
    all_blank = " AND ".join(f"nullif(trim({sql_ident(resolved[f.name])}), '') IS NULL" for f in answers)
    rules.append(f"CASE WHEN {all_blank} THEN 'no answers' END")
    return rules


RESPONSES = Contract(
    "responses",
    (Field("respondent_id", "id", required=False, nullable=True, description="respondent identifier"),),
    "one row per respondent, one column per question",
    options=("items", "scale"),
    extra_fields=answer_fields,
    extra_rules=answer_rules,
)

DOMAIN = register(
    Domain(
        name="survey",
        title="Survey analysis",
        kinds=(RESPONSES,),
        simulators={"responses": "helpers.survey.simulate:generate_responses"},
    )
)
