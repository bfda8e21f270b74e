"""A notebook's parameters: the ``parameters`` cell parser and the checks of given values.

The parser is our own (``ast`` + ``tokenize``) rather than papermill's ``inspect_notebook``:
papermill reads the cell line by line with a regular expression, so it mis-reads annotations such
as ``list | str | None`` and ``Literal["W", "D"]``, multi-line defaults, and ``=`` inside a
help comment, and it keeps no help text from comment lines above a parameter.

Checks made before anything runs (see :mod:`helpers.runner` for the notebook author's view):

- the annotation's type (``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``, unions with
  ``None``); other annotations (``date``, ``Path`` ...) are not checked;
- ``Literal["W", "D"]`` (optionally ``| None``): the value must be one of those listed;
- ``range [lo, hi]`` anywhere in the help comment: a number (or each number of a list) must lie
  in the interval; ``(``/``)`` exclude a bound and an empty bound is open, e.g.
  ``margin: float = 1.0  # share of revenue kept as margin; range (0, 1]`` or ``range [0, )``;
- dates: a parameter whose help comment says ``ISO date`` (e.g. ``calibration_end: str | None =
  "1997-09-30"  # last day of calibration; ISO date``) takes only an ISO date ``YYYY-MM-DD``, as
  text; ``09/06/1997`` is refused rather than guessed (month first or day first?), as it is in
  data files. The annotation stays ``str`` so that the cell runs as it is in JupyterLab;
- order: a clause ``after NAME`` or ``before NAME`` of the help comment (between ``;``, e.g.
  ``# last day of the holdout; ISO date; after calibration_end``) requires the value to be later
  (or earlier) than parameter NAME's, for dates and numbers; not checked when either is None.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from helpers.runner.common import WorkbenchError

if TYPE_CHECKING:
    from helpers.runner.notebook import NotebookInfo


class _Required:
    """Marks a parameter declared without a default (``name: int``)."""

    def __repr__(self) -> str:
        return "<required>"

    def __reduce__(self):  # stays the one REQUIRED object across processes
        return "REQUIRED"


REQUIRED = _Required()


@dataclass(frozen=True)
class Parameter:
    """One line of a notebook's ``parameters`` cell: ``name: type = default  # help``."""

    name: str
    type: str  # the annotation as written; inferred from the default when there is none
    default: Any  # the default's value when it is a literal, else its source text; REQUIRED if none
    default_source: str  # the default as written
    help: str
    literal: bool = True  # the default is a Python literal (so its value is known here)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe_default(self) -> str:
        return "(required)" if self.required else self.default_source

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """The allowed values of a ``Literal[...]`` annotation (``None`` is added by ``| None``)."""
        spec = annotation_spec(self.type)
        return spec.choices if spec else None

    @property
    def bounds(self) -> Bounds | None:
        """The ``range [lo, hi]`` stated in the help comment, if any."""
        return parse_bounds(self.help, self.name)

    @property
    def iso_date(self) -> bool:
        """Whether the parameter takes an ISO date (``ISO date`` in its help comment)."""
        return bool(ISO_DATE_MARK.search(self.help or ""))

    @property
    def order(self) -> tuple[str, str] | None:
        """``("after", "calibration_end")`` for a help comment with the clause ``after calibration_end``."""
        m = ORDER.search(self.help or "")
        return (m.group(1).lower(), m.group(2)) if m else None

    def describe_type(self) -> str:
        """The type as ``workbench list`` shows it: the allowed values of a Literal spelled out."""
        spec = annotation_spec(self.type)
        if spec is None or spec.choices is None:
            return self.type
        return "one of " + ", ".join(_show(c) for c in spec.choices) + (" or None" if spec.optional else "")


def _comments(source: str) -> dict[int, str]:
    """Line number -> comment text (without '#') for every comment in ``source``."""
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def parse_parameters(source: str, where: str = "parameters cell") -> list[Parameter]:
    """The parameters declared in the source of a ``parameters`` cell.

    Each top-level assignment ``name: type = default  # help`` (annotation and comment optional)
    is one parameter; the help text is the trailing comment, or the comment lines just above.
    Other statements (imports, expressions) are ignored.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise WorkbenchError(f"The {where} is not valid Python (line {exc.lineno}: {exc.msg}).") from None
    comments = _comments(source)
    lines = source.splitlines()
    params: list[Parameter] = []
    seen: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
            annotation = ast.get_source_segment(source, node.annotation) or ""
            value_node = node.value
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            names = [t.id for t in node.targets]  # type: ignore[attr-defined]
            annotation = ""
            value_node = node.value
        else:
            continue
        help_text = next(
            (comments[n] for n in range(node.lineno, (node.end_lineno or node.lineno) + 1) if n in comments), ""
        )
        if not help_text:  # comment lines right above the assignment
            above: list[str] = []
            n = node.lineno - 1
            while n >= 1 and n in comments and lines[n - 1].lstrip().startswith("#"):
                above.insert(0, comments[n])
                n -= 1
            help_text = " ".join(above)
        if value_node is None:
            default, default_source, literal = REQUIRED, "", True
        else:
            default_source = ast.get_source_segment(source, value_node) or ""
            try:
                default, literal = ast.literal_eval(value_node), True
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                default, literal = default_source, False
        for name in names:
            typ = annotation
            if not typ and value_node is not None and literal and default is not None:
                typ = type(default).__name__
            param = Parameter(name, typ, default, default_source, help_text, literal)
            param.bounds  # noqa: B018  (a malformed ``range`` comment is reported here, at planning)
            if name in seen:  # a later assignment wins, as it would in Python
                params[seen[name]] = param
            else:
                seen[name] = len(params)
                params.append(param)
    return params


# --------------------------------------------------------------------------------------------
# Choices (``Literal[...]``) and ranges (``range [lo, hi]`` in the help comment)


@dataclass(frozen=True)
class AnnotationSpec:
    """What an annotation allows, as far as the runner checks it."""

    choices: tuple[Any, ...] | None  # the values of Literal[...] parts; None when not a Literal
    optional: bool  # ``| None`` / ``Optional[...]``


def _literal_values(node: ast.expr) -> tuple[Any, ...] | None:
    """The values of ``Literal[...]`` / ``typing.Literal[...]``, or None for any other node."""
    if not isinstance(node, ast.Subscript):
        return None
    base = node.value
    name = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""
    if name != "Literal":
        return None
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    try:
        return tuple(ast.literal_eval(item) for item in items)
    except (ValueError, TypeError, SyntaxError):
        return None


def _union_parts(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_parts(node.left) + _union_parts(node.right)
    if isinstance(node, ast.Subscript) and getattr(node.value, "id", getattr(node.value, "attr", "")) == "Optional":
        return [node.slice, ast.Constant(None)]
    return [node]


@cache
def annotation_spec(annotation: str) -> AnnotationSpec | None:
    """Choices and optionality of an annotation with ``Literal`` parts, e.g.
    ``Literal["W", "D"]``, ``Literal["W", "D"] | None``, ``Optional[Literal[1, 2]]``; None for
    annotations without a Literal (checked by type only) or that are not valid Python."""
    if "Literal" not in (annotation or ""):
        return None
    try:
        tree = ast.parse(annotation.strip(), mode="eval").body
    except SyntaxError:
        return None
    choices: list[Any] = []
    optional = False
    for part in _union_parts(tree):
        if isinstance(part, ast.Constant) and part.value is None:
            optional = True
            continue
        values = _literal_values(part)
        if values is None:
            return None  # Literal mixed with another type: checked by type only
        choices.extend(v for v in values if v is not None)
        optional = optional or None in values
    return AnnotationSpec(tuple(dict.fromkeys(choices)), optional)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


#: ``range [lo, hi]`` in a help comment; ``(``/``)`` exclude the bound, an empty bound is open.
RANGE = re.compile(r"\brange\s*([\[(])\s*([^,\[\]()]*?)\s*,\s*([^,\[\]()]*?)\s*([\])])", re.I)


@dataclass(frozen=True)
class Bounds:
    """The interval a numeric parameter (or each number in a list parameter) must lie in."""

    lo: float | None
    hi: float | None
    lo_closed: bool = True
    hi_closed: bool = True

    def __str__(self) -> str:
        lo = "" if self.lo is None else f"{self.lo:g}"
        hi = "" if self.hi is None else f"{self.hi:g}"
        return f"{'[' if self.lo_closed else '('}{lo}, {hi}{']' if self.hi_closed else ')'}"

    def contains(self, x: float) -> bool:
        if self.lo is not None and (x < self.lo or (x == self.lo and not self.lo_closed)):
            return False
        return not (self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_closed)))

    def check(self, name: str, value: Any, notebook: str) -> None:
        numbers = value if isinstance(value, (list, tuple)) else [value]
        for x in numbers:
            if isinstance(x, (int, float)) and not isinstance(x, bool) and not self.contains(x):
                shown = json.dumps(value, default=str)
                raise WorkbenchError(f"Parameter '{name}' of notebook {notebook} must lie in {self}; got {shown}.")


@cache
def parse_bounds(help_text: str, name: str = "") -> Bounds | None:
    """The ``range [lo, hi]`` of a help comment (see the module docstring), or None."""
    m = RANGE.search(help_text or "")
    if not m:
        return None
    left, lo, hi, right = m.groups()
    try:
        lo_v = float(lo) if lo else None
        hi_v = float(hi) if hi else None
    except ValueError:
        raise WorkbenchError(
            f"Parameter '{name}': cannot read {m.group(0)!r} in its help comment (expected e.g. range [0, 1])."
        ) from None
    return Bounds(lo_v, hi_v, left == "[", right == "]")


# --------------------------------------------------------------------------------------------
# Dates (ISO only) and order between parameters

ISO_DATE_MARK = re.compile(r"\bISO[ -]date\b", re.I)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: ``after NAME`` / ``before NAME`` as a clause of its own in a help comment (between ``;``).
ORDER = re.compile(r"(?:^|;)\s*(after|before)\s+([A-Za-z_]\w*)\s*(?=;|$)", re.I)


def is_iso_date(value: Any) -> bool:
    """Whether ``value`` is text of the form ``YYYY-MM-DD`` naming a real day."""
    import datetime as dt

    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_iso_date(param: Parameter, value: Any, raw: str | None, notebook: str) -> Any:
    import datetime as dt

    if value is None:  # a None the type allows got through the type check
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else raw.strip() if raw is not None else None
    if text is not None and is_iso_date(text):
        return text
    shown = raw if raw is not None else _show(value)
    if text is not None and ISO_DATE.fullmatch(text):
        why = "no such day"
    elif text is not None and re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", text):
        why = "day-month or month-day order would be a guess"
    else:
        why = "not a date of that form"
    raise WorkbenchError(
        f"Parameter '{param.name}' of notebook {notebook} takes an ISO date YYYY-MM-DD (e.g. 1997-09-30); "
        f"got {shown} ({why})."
    )


def _comparable(a: Any, b: Any) -> bool:
    def number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    return (number(a) and number(b)) or (is_iso_date(a) and is_iso_date(b))


def check_order(notebook: NotebookInfo, values: Mapping[str, Any]) -> None:
    """The ``after NAME`` / ``before NAME`` clauses of the help comments, on the values a run
    will use (``values`` given, else the notebook's defaults)."""
    effective = {p.name: p.default for p in notebook.parameters if p.literal and not p.required}
    effective.update(values)
    for param in notebook.parameters:
        order = param.order
        if order is None:
            continue
        word, other = order
        if notebook.parameter(other) is None:
            raise WorkbenchError(
                f"Parameter '{param.name}' of notebook {notebook.stem}: its help comment says '{word} {other}', "
                f"but the notebook has no parameter {other!r}."
            )
        a, b = effective.get(param.name), effective.get(other)
        if a is None or b is None or not _comparable(a, b):
            continue
        if (word == "after" and not a > b) or (word == "before" and not a < b):
            raise WorkbenchError(
                f"Parameter '{param.name}' of notebook {notebook.stem} must be {word} {other} ({_show(b)}); "
                f"got {_show(a)}."
            )


# --------------------------------------------------------------------------------------------
# Parameter values: names and (light) type checks


_TYPE_WORDS = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "tuple": (list, tuple),
    "dict": (dict,),
    "sequence": (list, tuple),
    "mapping": (dict,),
}


def _annotation_types(annotation: str) -> tuple[set[type], bool] | None:
    """Python types accepted by a simple annotation and whether None is allowed, or None when the
    annotation is not one we check (``date``, ``Path``, ``Any``, ...)."""
    text = annotation.replace(" ", "")
    if not text or "Literal[" in text:
        return None
    optional = False
    m = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", text)
    if m:
        text, optional = m.group(1), True
    accepted: set[type] = set()
    for part in text.split("|"):
        base = re.sub(r"\[.*\]$", "", part).split(".")[-1].lower()
        if base in ("none", "nonetype"):
            optional = True
        elif base in _TYPE_WORDS:
            accepted.update(_TYPE_WORDS[base])
        else:
            return None
    return accepted, optional


def check_value(param: Parameter, value: Any, raw: str | None, notebook: str) -> Any:
    """``value`` for ``param``, converted where harmless (raw text for ``str`` parameters given
    on the command line), or WorkbenchError when it clearly has the wrong type, is not one of a
    ``Literal``'s values or lies outside the ``range`` of the help comment."""
    spec = annotation_spec(param.type)
    if spec is not None and spec.choices is not None:
        value = _check_choice(param, spec, value, raw, notebook)
    else:
        value = _check_type(param, value, raw, notebook)
    if param.iso_date:
        value = _check_iso_date(param, value, raw, notebook)
    bounds = param.bounds
    if bounds is not None:
        bounds.check(param.name, value, notebook)
    return value


def _check_choice(param: Parameter, spec: AnnotationSpec, value: Any, raw: str | None, notebook: str) -> Any:
    choices = spec.choices or ()
    if value is None and spec.optional:
        return None
    for choice in choices:
        if value == choice and isinstance(value, bool) == isinstance(choice, bool):
            return choice
    text = raw.strip() if raw is not None else None
    if text is not None and text in choices:  # -p level=2020 for Literal["2020", ...]
        return text
    allowed = ", ".join(_show(c) for c in choices) + (" or null" if spec.optional else "")
    shown = raw if raw is not None else _show(value)
    raise WorkbenchError(f"Parameter '{param.name}' of notebook {notebook} must be one of {allowed}; got {shown}.")


def _check_type(param: Parameter, value: Any, raw: str | None, notebook: str) -> Any:
    spec = _annotation_types(param.type) if param.type else None
    if spec is None:
        return value
    accepted, optional = spec
    if value is None:
        if optional:
            return None
        if str in accepted and raw is not None and raw.strip() not in ("", "~", "null", "Null", "NULL"):
            return raw.strip()
    others = tuple(t for t in accepted if t is not str)
    native = bool(others) and isinstance(value, others) and not (isinstance(value, bool) and bool not in accepted)
    if str in accepted and value is not None and not isinstance(value, str) and not native:
        # a value of another accepted type stays as it is (-p n_clusters=3 for ``int | str``)
        container_ok = (isinstance(value, list) and list in accepted) or (isinstance(value, dict) and dict in accepted)
        if raw is not None and not container_ok:
            return raw.strip()  # -p year=2020, -p answer=no, -p label="a: b" for a str parameter
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    ok = value is not None and isinstance(value, tuple(accepted))
    if ok and isinstance(value, bool) and bool not in accepted:
        ok = False
    if not ok:
        shown = raw if raw is not None else json.dumps(value, default=str)
        raise WorkbenchError(
            f"Parameter '{param.name}' of notebook {notebook} expects {param.type}, got {shown} ({type(value).__name__})."
        )
    return value


def parameter_error(notebook: NotebookInfo, unknown: Sequence[str]) -> WorkbenchError:
    names = ", ".join(repr(u) for u in unknown)
    word = "parameter" if len(unknown) == 1 else "parameters"
    return WorkbenchError(
        f"Unknown {word} {names} for notebook {notebook.stem}. Valid parameters (with defaults):\n"
        + notebook.describe_parameters()
    )


def resolve_parameters(
    notebook: NotebookInfo,
    layers: Sequence[Mapping[str, tuple[Any, str | None]]],
) -> dict[str, Any]:
    """Merge parameter layers (later wins) and check them against the notebook's declaration."""
    merged: dict[str, tuple[Any, str | None]] = {}
    for layer in layers:
        merged.update(layer)
    unknown = [k for k in merged if notebook.parameter(k) is None]
    if unknown:
        raise parameter_error(notebook, unknown)
    values = {}
    for name, (value, raw) in merged.items():
        values[name] = check_value(notebook.parameter(name), value, raw, notebook.stem)  # type: ignore[arg-type]
    missing = [p.name for p in notebook.parameters if p.required and p.name not in values]
    if missing:
        raise WorkbenchError(
            f"Notebook {notebook.stem} needs a value for {', '.join(missing)}. Its parameters:\n"
            + notebook.describe_parameters()
        )
    check_order(notebook, values)
    return values
