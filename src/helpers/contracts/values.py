"""How text becomes numbers and dates: decimal comma or point, thousands separators, currency
symbols, time zones and the plausible window of dates.

- Numbers: a plain cast first (fast, for the common case); only values it cannot read go through
  the lenient path: currency symbols and codes (``$``, ``EUR``, ``12,50 €``, ``£1,234.00``) and
  blanks inside are stripped, thousands separators are dropped when they group digits by three,
  and the decimal separator is the file's (``decimal``: ``"."``, or ``","`` for European exports;
  detected from the values when not given). ``12,50`` in a file with a decimal point is not a
  number (it is never silently read as 1250).
- Dates outside ``date_window`` (default 1950-01-01 to a year from today) are set aside: a
  1900-01-01 or 9999-12-31 is a placeholder, not a purchase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .kinds import ContractError, sql_ident, sql_literal

_q, _lit = sql_ident, sql_literal

#: Currency signs and codes stripped from number fields (counted as ``currency_stripped``).
CURRENCY_SIGNS = "$€£¥₹"
_CURRENCY_RE = r"[$€£¥₹]|\b(EUR|USD|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK)\b|[\s\x{00A0}\x{202F}']"
DEFAULT_WINDOW_START = "1950-01-01"


def default_date_window() -> tuple[str, str]:
    """1950-01-01 to a year from today."""
    return DEFAULT_WINDOW_START, (date.today() + timedelta(days=366)).isoformat()


@dataclass(frozen=True)
class ValueOptions:
    """How values are read: ``decimal`` (``"."`` or ``","``), ``timezone`` (for timestamps with
    an offset; ``None``: the date as the data states it), ``date_window`` (ISO bounds, either
    ``None`` for open)."""

    decimal: str = "."
    timezone: str | None = None
    date_window: tuple[str | None, str | None] | None = field(default_factory=default_date_window)


def window_option(value: Any) -> tuple[str | None, str | None] | None:
    """``date_window`` as given to ``load``: ``None`` (the default window), ``False`` (no window)
    or ``(start, end)`` with ISO dates, dates or ``None`` for an open end."""
    if value is None:
        return default_date_window()
    if value is False:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ContractError(f"date_window must be (start, end) as ISO dates (None for an open end), not {value!r}.")
    out = []
    for v in value:
        if v is None or v == "":
            out.append(None)
            continue
        try:
            out.append(date.fromisoformat(str(v)[:10]).isoformat())
        except ValueError:
            raise ContractError(f"date_window: {v!r} is not an ISO date (YYYY-MM-DD).") from None
    return out[0], out[1]


def _lenient(src: str, decimal: str) -> str:
    s = f"regexp_replace(trim({src}), {_lit(_CURRENCY_RE)}, '', 'g')"
    if decimal == ",":
        return (
            f"(CASE WHEN regexp_full_match({s}, '[-+]?\\d{{1,3}}(\\.\\d{{3}})+(,\\d*)?') "
            f"THEN TRY_CAST(replace(replace({s}, '.', ''), ',', '.') AS DOUBLE) "
            f"WHEN regexp_full_match({s}, '[-+]?(\\d+(,\\d*)?|,\\d+)') THEN TRY_CAST(replace({s}, ',', '.') AS DOUBLE) END)"
        )
    return (
        f"(CASE WHEN regexp_full_match({s}, '[-+]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d*)?') "
        f"THEN TRY_CAST(replace({s}, ',', '') AS DOUBLE) ELSE TRY_CAST({s} AS DOUBLE) END)"
    )


def number_sql(src: str, decimal: str = ".") -> str:
    """The typed value of number field ``src`` (NULL when it is not a number)."""
    if decimal == ",":  # "1.234" means 1234 here: the plain cast would get it wrong
        return _lenient(src, ",")
    return f"coalesce(TRY_CAST({src} AS DOUBLE), {_lenient(src, '.')})"


def stripped_sql(src: str) -> str:
    """1 when the value of ``src`` carries a currency sign or code (counted, not a reason)."""
    return (
        f"CASE WHEN TRY_CAST({src} AS DOUBLE) IS NULL AND "
        f"regexp_matches({src}, '[$€£¥₹]|\\b(EUR|USD|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK)\\b') THEN 1 ELSE 0 END"
    )


_COMMA = re.compile(r"[-+]?(\d{1,3}(\.\d{3})+,\d*|\d+,\d{1,2}|\d+,\d{4,}|\d{4,},\d+|,\d+)")
_POINT = re.compile(r"[-+]?(\d{1,3}(,\d{3})+\.\d*|\d+\.\d{1,2}|\d+\.\d{4,}|\d{4,}\.\d+|\.\d+)")
_STRIP = re.compile(r"[$€£¥₹\s\u00a0\u202f']|\b(EUR|USD|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK)\b")


def detect_decimal(samples: Sequence[str]) -> str:
    """``","`` when the number fields' values use a decimal comma (``12,50``, ``1.234,56``) and
    none a decimal point; else ``"."``. ``1,234`` and ``1.234`` alone decide nothing."""
    comma = point = 0
    for value in samples:
        v = _STRIP.sub("", value or "")
        if _COMMA.fullmatch(v):
            comma += 1
        elif _POINT.fullmatch(v):
            point += 1
    return "," if comma and not point else "."


def sample_numbers(con, raw: str, columns: Sequence[str], n: int = 2000) -> list[str]:
    """Non-blank values of the number columns, from the start of the file."""
    out: list[str] = []
    for col in columns:
        rows = con.sql(
            f"SELECT trim({_q(col)}) FROM {_q(raw)} WHERE nullif(trim({_q(col)}), '') IS NOT NULL LIMIT {n}"
        ).fetchall()
        out += [r[0] for r in rows]
    return out
