"""The registry of analysis domains: what each one reads, simulates and records.

A domain is a subpackage of ``helpers`` (``clv``, ``segmentation``, ``survey``, ``channels``,
``quality``) with a small ``domain.py`` that declares itself once::

    register(Domain(
        name="clv",
        title="Customer lifetime value",
        kinds=(TRANSACTIONS,),                                       # contracts it owns
        simulators={"transactions": "helpers.clv.simulate:generate_transactions"},
        metrics=(Metric("customers", "Customers", kind="int"), ...),  # what its notebooks record
    ))

Nothing else keeps a list of domains: :func:`domains` finds every ``helpers/<name>/domain.py``
on disk and imports it. ``domain.py`` must stay light (standard library and ``helpers.core``
only; simulators are named as ``"module:function"`` strings and imported on use), because the
``workbench`` command reads the registry before it decides whether anything needs to run.
Standard library only.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import helpers

#: How a metric's value is shown: ``int`` (1,234), ``float`` (1,234.57), ``share`` (a fraction
#: shown as a percentage, 0.787 -> 78.7 %), ``pct`` (already in percent), ``money`` (the data's
#: currency, 2 decimals), ``date`` (ISO), ``text``.
METRIC_KINDS = ("int", "float", "share", "pct", "money", "date", "text")


@dataclass(frozen=True)
class Metric:
    """One key figure a notebook records in ``metrics.json``.

    ``name`` is the dotted key; ``{placeholder}`` parts match one dotted segment each (e.g.
    ``rows.{input}.read`` matches ``rows.transactions.read``). Names never change with a
    parameter: a unit that depends on a parameter goes in its own metric or in ``unit``.
    """

    name: str
    label: str
    kind: str = "float"
    unit: str = ""
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in METRIC_KINDS:
            raise ValueError(f"metric {self.name!r}: kind must be one of {', '.join(METRIC_KINDS)}, not {self.kind!r}")

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[A-Za-z_]\w*\})", self.name)
        regex = "".join(r"[^.]+" if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(rf"^{regex}$")

    def matches(self, key: str) -> bool:
        return bool(self.pattern.match(key))


@dataclass(frozen=True)
class Domain:
    """What one analysis domain contributes: contract kinds, simulators and metrics."""

    name: str
    title: str
    kinds: tuple[Any, ...] = ()  # helpers.contracts.Contract objects
    simulators: Mapping[str, str] = field(default_factory=dict)  # kind -> "module:function"
    metrics: tuple[Metric, ...] = ()

    @property
    def package(self) -> str:
        return f"helpers.{self.name}"


_DOMAINS: dict[str, Domain] = {}

#: Metrics that belong to no single domain (the contracts' row counts, the engine).
_SHARED_METRICS: list[Metric] = []


def register(domain: Domain) -> Domain:
    """Add a domain (called once, from its ``domain.py``)."""
    old = _DOMAINS.get(domain.name)
    if old is not None and old != domain:
        raise ValueError(f"domain {domain.name!r} is registered twice with different declarations")
    _DOMAINS[domain.name] = domain
    return domain


def register_shared_metrics(metrics: Iterable[Metric]) -> None:
    """Metrics every notebook may record (e.g. the contracts' ``rows.{input}.read``)."""
    for metric in metrics:
        if metric not in _SHARED_METRICS:
            _SHARED_METRICS.append(metric)


def _domain_names() -> list[str]:
    root = Path(helpers.__file__).resolve().parent
    return sorted(p.parent.name for p in root.glob("*/domain.py"))


@cache
def _load_all() -> None:
    for name in _domain_names():
        importlib.import_module(f"helpers.{name}.domain")


def domains() -> dict[str, Domain]:
    """Every domain, by name (each ``helpers/<name>/domain.py`` imported on first call)."""
    _load_all()
    return dict(sorted(_DOMAINS.items()))


def domain(name: str) -> Domain:
    found = domains().get(name)
    if found is None:
        raise KeyError(f"no domain {name!r}; domains: {', '.join(domains())}")
    return found


def contracts() -> dict[str, Any]:
    """Every contract kind, by name, from all domains."""
    out: dict[str, Any] = {}
    for dom in domains().values():
        for contract in dom.kinds:
            if contract.kind in out:
                raise ValueError(f"contract kind {contract.kind!r} is declared by two domains")
            out[contract.kind] = contract
    return out


def kind_names() -> tuple[str, ...]:
    return tuple(contracts())


def simulator(kind: str) -> Callable[..., Any]:
    """The simulator registered for ``kind`` (imported on use)."""
    for dom in domains().values():
        target = dom.simulators.get(kind)
        if target:
            module, _, func = target.partition(":")
            return getattr(importlib.import_module(module), func)
    names = sorted(k for d in domains().values() for k in d.simulators)
    raise KeyError(f"no simulator for kind {kind!r}; kinds with one: {', '.join(names)}")


def simulated_kinds() -> tuple[str, ...]:
    return tuple(sorted(k for d in domains().values() for k in d.simulators))


def metrics_for(domain_names: Iterable[str] | None = None) -> list[Metric]:
    """The shared metrics plus those of the named domains (all domains when ``None``)."""
    doms = domains()
    names = list(doms) if domain_names is None else [n for n in domain_names if n in doms]
    found = list(_SHARED_METRICS)
    for name in names:
        found.extend(doms[name].metrics)
    return found


def find_metric(key: str, candidates: Iterable[Metric] | None = None) -> Metric | None:
    """The declared metric that ``key`` is an instance of (exact names before patterns)."""
    pool = list(metrics_for() if candidates is None else candidates)
    for metric in pool:
        if metric.name == key:
            return metric
    for metric in pool:
        if "{" in metric.name and metric.matches(key):
            return metric
    return None


def key_part(name: str) -> str:
    """A name as one part of a dotted metric key: lower case, words joined by ``_`` (``"Cannot lose
    them"`` -> ``cannot_lose_them``, ``"Product.Tastiness"`` -> ``product_tastiness``)."""
    out = "".join(ch.lower() if ch.isalnum() else "_" for ch in str(name)).strip("_")
    while "__" in out:
        out = out.replace("__", "_")
    return out or "x"
