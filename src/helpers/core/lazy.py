"""Packages whose public names are imported on first use (``import helpers.clv.domain`` stays
light: no scipy or scikit-learn until a model is asked for)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps each
    public name to the module that defines it; a name is imported when first read and then kept
    in ``namespace`` (the package's ``globals()``), so later reads cost nothing.

    Use: ``__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
