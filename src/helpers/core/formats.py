"""How numbers are written for readers: one set of rules for cards, tables, the index and
sentences (standard library only).

A metric's *kind* (see :data:`helpers.core.registry.METRIC_KINDS`) decides its format:

========  ===================  ==========================================================
kind      stored value         shown
========  ===================  ==========================================================
int       1234                 ``1,234``
float     0.24253, 68813.2     ``0.2425`` (4 significant digits), ``68,813``
share     0.7867 (a fraction)  ``79 %`` (decimals: see :func:`percent`)
pct       78.67 (in percent)   ``79 %``
money     68813.2              ``$68,813`` or ``68,813 USD`` (the unit is the currency);
                               2 decimals below 1,000: ``$12.35``
date      "1997-01-01"         as stored
text      "BG/NBD"             as stored
========  ===================  ==========================================================

A unit other than a currency follows the number (``12 months``). Changes between two runs
(:func:`change`) are percentage points for shares and percentages, differences for counts,
and relative changes for amounts.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["change", "currency_amount", "fixed", "metric", "moment", "number", "percent"]

MINUS = "\u2212"  # a real minus sign: "−3", not "-3"


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals and thousands separators, halves rounded away from
    zero as readers expect (``1234.5`` -> ``1,235``; Python's own format rounds half to even)."""
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{rounded:,.{decimals}f}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, decimals: int | None = None) -> str:
    """A plain number: thousands separators; ``decimals`` fixed, or (None) whole numbers as
    integers, 1,000 and over rounded to units, smaller values to 4 significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return "n/a"
    if decimals is not None:
        text = fixed(value, decimals)
    elif isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        text = f"{int(value):,}"
    elif abs(value) >= 1000:
        text = fixed(value, 0)
    else:
        text = f"{value:.4g}"
    return text.replace("-", MINUS, 1) if text.startswith("-") else text


def percent(value_in_percent: float, decimals: int | None = None) -> str:
    """``78.67`` -> ``79 %``. Sensible decimals unless given: none from 10 %, one from 1 %,
    two significant digits below (``0.15 %``); exactly 0 is ``0 %``."""
    p = value_in_percent
    if not _is_number(p):
        return "n/a"
    if decimals is None:
        a = abs(p)
        if a == 0 or a >= 10:
            decimals = 0
        elif a >= 1:
            decimals = 1
        else:
            decimals = max(1, 1 - math.floor(math.log10(a)))
    text = f"{fixed(p, decimals)} %"
    return text.replace("-", MINUS, 1) if text.startswith("-") else text


#: Currency marks written before the amount; anything else (``USD``, ``EUR``, ``currency
#: units``) follows it.
PREFIX_CURRENCIES = frozenset({"$", "US$", "€", "£", "¥", "₹", "CHF "})


def currency_amount(value: float, currency: str = "") -> str:
    """``68813.2, "$"`` -> ``$68,813``; ``12.345, "EUR"`` -> ``12.35 EUR``; no currency -> the
    number alone (2 decimals below 1,000, none above)."""
    if not _is_number(value):
        return number(value)
    decimals = 0 if abs(value) >= 1000 else 2
    body = fixed(abs(value), decimals)
    sign = MINUS if value < 0 else ""
    if not currency:
        return sign + body
    if currency in PREFIX_CURRENCIES:
        return f"{sign}{currency}{body}"
    return f"{sign}{body} {currency}"


def metric(value: Any, kind: str | None = None, unit: str = "") -> str:
    """A key figure as readers see it, by its declared kind and unit (table in the module
    docstring). Missing or non-numeric values of numeric kinds are shown as they are."""
    if kind in ("date", "text") or not _is_number(value):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        return number(value) if isinstance(value, bool) else str(value)
    if kind == "share":
        return percent(100 * value)
    if kind == "pct":
        return percent(value)
    if kind == "money":
        return currency_amount(value, unit)
    text = fixed(value, 0) if kind == "int" else number(value)
    if text.startswith("-"):
        text = MINUS + text[1:]
    return f"{text} {unit}" if unit else text


def change(new: Any, old: Any, kind: str | None = None, unit: str = "") -> str | None:
    """How a figure moved since an earlier run, in words a card can show: ``+1.2 pts``
    (shares and percentages), ``+12`` (counts), ``+4.1 %`` (amounts and other numbers,
    relative to the earlier value), ``unchanged``; for dates and text ``was <old>``. None when
    there is nothing to compare."""
    if old is None:
        return None
    if kind in ("date", "text") or not (_is_number(new) and _is_number(old)):
        return "unchanged" if new == old else f"was {metric(old, kind, unit)}"
    if new == old:
        return "unchanged"
    diff = new - old
    sign = "+" if diff > 0 else MINUS
    if kind in ("share", "pct"):
        points = abs(diff) * (100 if kind == "share" else 1)
        shown = f"{points:.1f}" if points >= 0.1 else f"{points:.2g}"
        return f"{sign}{shown} pts"
    if kind == "int":
        return f"{sign}{fixed(abs(diff), 0)}"
    if old == 0:
        return f"{sign}{metric(abs(diff), kind, unit)}"
    rel = 100 * abs(diff) / abs(old)
    shown = f"{rel:.1f}" if rel >= 0.1 else f"{rel:.2g}"
    return f"{sign}{shown} %"


def moment(iso: str | None) -> str:
    """An ISO time stamp as reports show it: ``2026-12-01 10:55`` (as recorded; "" when none)."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(str(iso)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(iso)
