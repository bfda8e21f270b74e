"""helpers.core.formats: how numbers are written for readers (hand-computed cases)."""

from __future__ import annotations

import math

import pytest

from helpers.core import formats

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234, "1,234"),
        (1234.0, "1,234"),
        (68813.24, "68,813"),
        (0.242567, "0.2426"),
        (12.3456, "12.35"),
        (-3, f"{MINUS}3"),
        (-1234.5, f"{MINUS}1,235"),  # 1,000 and over: units, halves away from zero
        (2.5, "2.5"),
        (None, "n/a"),
        (math.nan, "n/a"),
        (True, "yes"),
    ],
)
def test_number(value, expected):
    assert formats.number(value) == expected


@pytest.mark.parametrize(
    ("pct", "expected"),
    [(78.67, "79 %"), (10.0, "10 %"), (7.94, "7.9 %"), (1.0, "1.0 %"), (0.15, "0.15 %"), (0.0123, "0.012 %"),
     (0, "0 %"), (100, "100 %"), (-2.5, f"{MINUS}2.5 %")],
)  # fmt: skip
def test_percent_has_sensible_decimals(pct, expected):
    assert formats.percent(pct) == expected


def test_fixed_rounds_halves_away_from_zero():
    assert formats.fixed(1234.5, 0) == "1,235" and formats.fixed(0.125, 2) == "0.13" and formats.fixed(-0.5, 0) == "-1"


def test_percent_decimals_can_be_fixed():
    assert formats.percent(78.666, decimals=1) == "78.7 %"


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (68813.2, "$", "$68,813"),
        (12.345, "$", "$12.35"),  # below 1,000: cents
        (12.345, "EUR", "12.35 EUR"),
        (1500, "€", "€1,500"),
        (-250.5, "£", f"{MINUS}£250.50"),
        (999.999, "", "1,000.00"),
    ],
)
def test_currency_amounts(value, currency, expected):
    assert formats.currency_amount(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "kind", "unit", "expected"),
    [
        (0.7867, "share", "", "79 %"),
        (0.0015, "share", "", "0.15 %"),
        (78.67, "pct", "", "79 %"),
        (2357, "int", "", "2,357"),
        (12, "int", "months", "12 months"),
        (12.6, "int", "", "13"),
        (68813.2, "money", "$", "$68,813"),
        (0.2426, "float", "", "0.2426"),
        (4.41357, "float", "weeks", "4.414 weeks"),
        ("1997-01-01", "date", "", "1997-01-01"),
        ("bgnbd", "text", "", "bgnbd"),
        (None, "int", "", "n/a"),
    ],
)
def test_metric_by_kind(value, kind, unit, expected):
    assert formats.metric(value, kind, unit) == expected


@pytest.mark.parametrize(
    ("new", "old", "kind", "expected"),
    [
        (0.80, 0.788, "share", "+1.2 pts"),
        (0.788, 0.80, "share", f"{MINUS}1.2 pts"),
        (79.0, 78.5, "pct", "+0.5 pts"),
        (2400, 2357, "int", "+43"),
        (2357, 2400, "int", f"{MINUS}43"),
        (110.0, 100.0, "money", "+10.0 %"),
        (95.0, 100.0, "float", f"{MINUS}5.0 %"),
        (5.0, 0.0, "money", "+5.00"),
        (2357, 2357, "int", "unchanged"),
        ("1998-06-30", "1998-06-30", "date", "unchanged"),
        ("1998-07-31", "1998-06-30", "date", "was 1998-06-30"),
        (1, None, "int", None),
    ],
)
def test_change_since_an_earlier_run(new, old, kind, expected):
    assert formats.change(new, old, kind) == expected


def test_moments_are_shown_to_the_minute():
    assert formats.moment("2026-11-30T09:00:41+00:00") == "2026-11-30 09:00"
    assert formats.moment(None) == "" and formats.moment("yesterday") == "yesterday"
