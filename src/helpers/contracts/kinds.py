"""The light declaration of a contract: its fields, its rules and the hooks a kind adds.

Standard library only: every domain's ``domain.py`` imports this module to declare the kinds of
input it owns, and the ``workbench`` command reads those declarations before anything heavy is
imported. How a contract is enforced (DuckDB, quarantine) lives in :mod:`helpers.contracts.checks`.

A kind's special handling is declared here as data and hooks, never as ``if kind == ...`` in
the loader:

- ``unique``: a column whose values may appear once (later repeats are set aside);
- ``options``: the ``load()`` keywords the kind takes (e.g. ``items`` and ``scale`` for
  responses, ``channels`` for spend), handed to its hooks;
- ``extra_fields(ctx)``: columns that depend on the file (answer columns, one spend column per
  channel), as more :class:`Field` objects;
- ``extra_rules(ctx, extra, resolved)``: more failure reasons, as SQL ``CASE`` expressions over
  the raw text (``sql_ident(resolved[name])``) and the typed values (``typed_value(name)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Field types: ``id`` (text, trimmed, not empty), ``text``, ``date``, ``number`` (float),
#: ``integer``, ``count`` (integer >= 0).
FIELD_TYPES = ("id", "text", "date", "timestamp", "number", "integer", "count")


class ContractError(ValueError):
    """A whole-file problem: the file cannot be read as the kind of data it should be."""


@dataclass(frozen=True)
class Field:
    """One column of a contract (``type``: one of :data:`FIELD_TYPES`)."""

    name: str
    type: str
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name!r}: type must be one of {', '.join(FIELD_TYPES)}, not {self.type!r}")


@dataclass(frozen=True)
class KindContext:
    """What a kind's hooks see of the file being loaded."""

    path: Path
    file_columns: tuple[str, ...]
    mapping: Mapping[str, Any]  # contract column -> file column, as the caller gave it
    options: Mapping[str, Any]  # the kind's own load() keywords (see Contract.options)
    fields: tuple[Field, ...]  # the contract's declared fields


FieldsHook = Callable[[KindContext], Sequence[Field]]
RulesHook = Callable[[KindContext, Sequence[Field], Mapping[str, str]], Sequence[str]]


@dataclass(frozen=True)
class Contract:
    """What one kind of input must look like (see the module docstring for the hooks)."""

    kind: str
    fields: tuple[Field, ...]
    description: str
    keep_extra: bool = True  # keep the file's other columns as text attributes
    unique: str | None = None
    options: tuple[str, ...] = ()
    extra_fields: FieldsHook | None = None
    extra_rules: RulesHook | None = None

    def fields_for(self, ctx: KindContext) -> tuple[Field, ...]:
        """The declared fields plus those the kind derives from the file."""
        return self.fields + tuple(self.extra_fields(ctx) if self.extra_fields else ())


# --------------------------------------------------------------------------------------------
# Small text helpers shared by the checks and the kinds' hooks (SQL as text, no database here)


def sql_ident(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """Quote an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def typed_value(name: str) -> str:
    """The column holding the typed value of contract column ``name`` while rows are checked."""
    return sql_ident("__t_" + name)


def file_label(path: Path) -> str:
    """How messages name a file."""
    return f"'{path}'"


def missing_columns_error(path: Path, what: str, missing: Sequence[str], file_columns: Sequence[str]) -> ContractError:
    """``File '...' has no <what> column(s) 'a', 'b'; columns found: ...``."""
    return ContractError(
        f"File {file_label(path)} has no {what} column(s) {', '.join(map(repr, missing))}; "
        f"columns found: {', '.join(file_columns)}."
    )
