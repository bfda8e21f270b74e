"""Time units: the one table of how long a unit is, shared by every model and summary.

Codes: ``D`` day, ``W`` week (7 days), ``M`` month (365.25 / 12 days), ``Y`` year (365.25 days).
"""

from __future__ import annotations

from collections.abc import Sequence

DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}
UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def days_per_unit(time_unit: str, allowed: Sequence[str] = tuple(DAYS_PER_UNIT)) -> float:
    """Length of ``time_unit`` in days; a clear error for a unit outside ``allowed``."""
    unit = str(time_unit).upper()
    if unit not in allowed or unit not in DAYS_PER_UNIT:
        names = " or ".join(f"'{u}' ({UNIT_NAMES[u]})" for u in allowed if u in UNIT_NAMES)
        raise ValueError(f"time_unit must be {names}, not {time_unit!r}")
    return DAYS_PER_UNIT[unit]


def unit_name(time_unit: str) -> str:
    """The plural English name of a unit code (``"W"`` -> ``"weeks"``)."""
    days_per_unit(time_unit)
    return UNIT_NAMES[str(time_unit).upper()]
