"""Run parameterised notebooks and render them as reports: the engine behind ``workbench run``.

One *run* = one notebook executed with one set of parameters into ``DIR/NAME/``:

- ``notebook.ipynb``: the executed notebook (kept when it fails);
- ``report.html``: the report for readers: a header written here (title, parameters, data
  provenance from ``inputs.json``, run date, duration, failure banner), then the notebook's
  outputs with all code hidden, rendered offline (no CDN script or stylesheet);
- ``metrics.json`` / ``inputs.json`` / ``quarantine/``: written by the notebook through
  :mod:`helpers.reporting` and :mod:`helpers.contracts` (``WORKBENCH_RUN_DIR`` points there);
- ``run.json``: the run state used for incremental re-runs and the index.

``DIR/index.html`` lists every run found under ``DIR``.

A notebook plugs in with a code cell tagged ``parameters`` holding one line per parameter::

    time_unit: str = "W"  # unit of time for recency and frequency (D, W or M)

(name, type annotation, default, help text in the trailing comment).

Heavy imports (papermill, nbconvert, nbformat, jinja2) are made lazily so that a run that
skips everything starts and finishes quickly.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Same names as helpers.reporting (not imported here: it pulls in numpy, and the runner
# must start fast).
RUN_DIR_ENV = "WORKBENCH_RUN_DIR"
METRICS_FILE = "metrics.json"
INPUTS_FILE = "inputs.json"
QUARANTINE_DIR = "quarantine"

RUN_FILE = "run.json"
REPORT_FILE = "report.html"
NOTEBOOK_FILE = "notebook.ipynb"
INDEX_FILE = "index.html"
CACHE_FILE = ".workbench-cache.json"
CONFIG_FILE = "reports.yaml"

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
NBCONVERT_TEMPLATE = "workbench"
CSS_FILE = TEMPLATES_DIR / NBCONVERT_TEMPLATE / "static" / "workbench.css"

DEFAULT_KERNEL = "python3"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
REMOVE_CELL_TAGS = frozenset({"remove", "remove-cell", "remove_cell"})
REMOVE_OUTPUT_TAGS = frozenset({"remove-output", "remove_output"})
DEFAULT_KEY_FIGURES = 6
_KEY_VERSION = 1  # bump to invalidate every stored run key


class WorkbenchError(Exception):
    """A problem with the request or the project setup (shown without a traceback)."""


# --------------------------------------------------------------------------------------------
# Small utilities


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def format_date(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    The text goes to a temporary file in the same folder which then replaces ``path``; on any
    failure (including KeyboardInterrupt) the temporary file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_mode: int | None = None


def _file_mode() -> int:
    """0666 minus the process umask: the mode open() would give a new file."""
    global _mode
    if _mode is None:
        mask = os.umask(0o022)
        os.umask(mask)
        _mode = 0o666 & ~mask
    return _mode


def write_json_atomic(path: Path, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def lean_imports() -> None:
    """Keep the heavy Jupyter imports lean.

    ``jsonschema`` (imported by nbformat) imports ``rfc3987_syntax`` when it is installed, which
    compiles an Earley grammar at import time (about 2 s here) only to check the ``iri`` string
    format, which notebooks never use. Hiding it makes that check a no-op in this process only.
    """
    if (
        "jsonschema" not in sys.modules
        and "rfc3987_syntax" not in sys.modules
        and os.environ.get("WORKBENCH_FULL_JSONSCHEMA") != "1"
    ):
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# YAML values (-p, --params, reports.yaml)


_yaml_loader = None


def _loader():
    """A safe YAML loader that keeps ISO dates as strings."""
    global _yaml_loader
    if _yaml_loader is None:
        import yaml

        class NoDatesLoader(yaml.SafeLoader):
            pass

        NoDatesLoader.yaml_implicit_resolvers = {
            key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        _yaml_loader = NoDatesLoader
    return _yaml_loader


def parse_yaml(text: str, what: str = "value") -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WorkbenchError(f"Cannot read {what} as YAML ({detail}).") from None


def load_yaml_file(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbenchError(f"{what} {path} does not exist.") from None
    except OSError as exc:
        raise WorkbenchError(f"Cannot read {what} {path}: {exc.strerror or exc}.") from None
    return parse_yaml(text, f"{what} {path}")


def parse_assignments(items: Iterable[str]) -> dict[str, tuple[Any, str]]:
    """``["a=1", "b=[x, y]"]`` -> ``{"a": (1, "1"), "b": (["x", "y"], "[x, y]")}`` (value, raw text)."""
    out: dict[str, tuple[Any, str]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise WorkbenchError(f"Parameter {item!r} is not of the form NAME=VALUE.")
        if not key.isidentifier():
            raise WorkbenchError(f"Parameter name {key!r} is not a valid name.")
        out[key] = (parse_yaml(raw, f"the value of parameter {key!r}"), raw)
    return out


# --------------------------------------------------------------------------------------------
# Notebook parameters


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
            if name in seen:  # a later assignment wins, as it would in Python
                params[seen[name]] = param
            else:
                seen[name] = len(params)
                params.append(param)
    return params


def _cell_source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [str(t) for t in tags] if isinstance(tags, list) else []


_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$")


def _first_heading(cells: Sequence[Mapping[str, Any]]) -> str | None:
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        for line in _cell_source(cell).splitlines():
            m = _HEADING.match(line)
            if m:
                return m.group(1).strip()
    return None


@dataclass
class NotebookInfo:
    """What the runner needs to know about a notebook without executing it."""

    path: Path
    parameters: list[Parameter]
    title: str | None  # first markdown heading
    kernel_name: str | None  # kernelspec name stored in the notebook
    language: str | None
    n_cells: int
    has_parameters_cell: bool
    content_hash: str  # hash of what the notebook does (cell types, sources, tags, attachments)

    @property
    def stem(self) -> str:
        return self.path.stem

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def describe_parameters(self, indent: str = "  ") -> str:
        if not self.parameters:
            return (
                f"{indent}(none: the notebook has no cell tagged '{PARAMETERS_TAG}')"
                if not self.has_parameters_cell
                else f"{indent}(none)"
            )
        decls = [f"{p.name}{': ' + p.type if p.type else ''} = {p.describe_default()}" for p in self.parameters]
        width = max(len(d) for d in decls)
        out = []
        for p, decl in zip(self.parameters, decls):
            out.append(f"{indent}{decl:<{width}}  # {p.help}" if p.help else f"{indent}{decl}")
        return "\n".join(out)


def read_notebook_info(path: Path) -> NotebookInfo:
    """Parameters, title and kernel of a notebook (plain JSON read: no nbformat import)."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        raise WorkbenchError(f"Notebook {path} does not exist.") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"Notebook {path} cannot be read as a Jupyter notebook ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise WorkbenchError(f"Notebook {path} cannot be read as a Jupyter notebook (no cells).")
    cells = data["cells"]
    params_cell = next((c for c in cells if PARAMETERS_TAG in _tags(c)), None)
    params = parse_parameters(_cell_source(params_cell), f"parameters cell of {path.name}") if params_cell else []
    meta = data.get("metadata") or {}
    ks = meta.get("kernelspec") or {}
    li = meta.get("language_info") or {}
    essence = [
        {
            "type": c.get("cell_type"),
            "source": _cell_source(c),
            "tags": sorted(t for t in _tags(c) if t != INJECTED_TAG),
            "attachments": c.get("attachments"),
        }
        for c in cells
        if INJECTED_TAG not in _tags(c) and PAPERMILL_ERROR_TAG not in _tags(c)
    ]
    return NotebookInfo(
        path=path,
        parameters=params,
        title=_first_heading(cells),
        kernel_name=ks.get("name"),
        language=ks.get("language") or li.get("name"),
        n_cells=len(cells),
        has_parameters_cell=params_cell is not None,
        content_hash=_sha256_bytes(_canonical({"cells": essence, "kernel": ks.get("name")}).encode()),
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
    if not text:
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
    on the command line), or WorkbenchError when it clearly has the wrong type."""
    spec = _annotation_types(param.type) if param.type else None
    if spec is None:
        return value
    accepted, optional = spec
    if value is None:
        if optional:
            return None
        if str in accepted and raw is not None and raw.strip() not in ("", "~", "null", "Null", "NULL"):
            return raw.strip()
    if str in accepted and value is not None and not isinstance(value, str):
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
    return values


# --------------------------------------------------------------------------------------------
# Project layout and reports.yaml


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder holding reports.yaml or pyproject.toml, from ``start`` (cwd) upward."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / "pyproject.toml").is_file():
            return folder
    return start


@dataclass
class RunConfig:
    """One entry of reports.yaml ``runs``."""

    name: str
    notebook: str
    title: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    key_metrics: list[str] | None = None


_RUN_KEYS = {"name", "notebook", "title", "parameters", "key_metrics"}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_run_name(name: str) -> str:
    if not _NAME_OK.match(name or ""):
        raise WorkbenchError(
            f"Run name {name!r} cannot be used as a folder name: use letters, digits, '.', '_' and '-'."
        )
    return name


def load_config(path: Path) -> list[RunConfig]:
    data = load_yaml_file(path, "Config file")
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("runs", []), list):
        raise WorkbenchError(f"Config file {path} must be a mapping with a list under 'runs'.")
    runs: list[RunConfig] = []
    names: set[str] = set()
    for i, entry in enumerate(data.get("runs") or [], start=1):
        where = f"{path.name}, run {i}"
        if not isinstance(entry, dict):
            raise WorkbenchError(f"{where}: each run must be a mapping with at least 'notebook'.")
        unknown = sorted(set(entry) - _RUN_KEYS)
        if unknown:
            raise WorkbenchError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_RUN_KEYS))}."
            )
        notebook = entry.get("notebook")
        if not notebook or not isinstance(notebook, str):
            raise WorkbenchError(f"{where}: 'notebook' (a notebook name in notebooks/) is required.")
        notebook = notebook[: -len(".ipynb")] if notebook.endswith(".ipynb") else notebook
        name = check_run_name(str(entry.get("name") or notebook))
        if name in names:
            raise WorkbenchError(f"{where}: run name {name!r} is used twice.")
        names.add(name)
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise WorkbenchError(f"{where}: 'parameters' must be a mapping.")
        key_metrics = entry.get("key_metrics")
        if key_metrics is not None and (
            not isinstance(key_metrics, list) or not all(isinstance(k, str) for k in key_metrics)
        ):
            raise WorkbenchError(f"{where}: 'key_metrics' must be a list of metric names.")
        title = entry.get("title")
        runs.append(RunConfig(name, notebook, str(title) if title is not None else None, dict(params), key_metrics))
    return runs


def list_notebooks(notebooks_dir: Path) -> list[Path]:
    if not notebooks_dir.is_dir():
        return []
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))


def notebook_path(notebooks_dir: Path, stem: str) -> Path:
    stem = stem[: -len(".ipynb")] if stem.endswith(".ipynb") else stem
    path = notebooks_dir / f"{stem}.ipynb"
    if not path.is_file():
        available = ", ".join(p.stem for p in list_notebooks(notebooks_dir)) or "none"
        raise WorkbenchError(f"No notebook {stem!r} in {notebooks_dir} (available: {available}).")
    return path


# --------------------------------------------------------------------------------------------
# Content hashes (with a stat-keyed cache as an optimisation)


class FileHasher:
    """sha256 of files, cached by (path, size, mtime_ns) in a JSON file.

    The cache only saves reading files again; decisions always compare content hashes.
    """

    def __init__(self, cache_path: Path | None):
        self.cache_path = cache_path
        data = read_json(cache_path) if cache_path else None
        self.entries: dict[str, list] = data.get("files", {}) if isinstance(data, dict) else {}
        self.dirty = False

    def sha256(self, path: Path) -> str | None:
        """Hash of the file's content, or None if it does not exist."""
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        key = str(path.resolve())
        hit = self.entries.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        self.entries[key] = [st.st_size, st.st_mtime_ns, digest]
        self.dirty = True
        return digest

    def tree(self, folder: Path) -> str:
        """One hash for every file under ``folder`` (names and contents; caches skipped)."""
        items = []
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part == "__pycache__" or part.startswith(".") for part in rel.parts):
                continue
            if path.suffix in (".pyc", ".pyo") or not path.is_file():
                continue
            items.append([rel.as_posix(), self.sha256(path)])
        return _sha256_bytes(_canonical(items).encode())

    def save(self) -> None:
        if not (self.cache_path and self.dirty):
            return
        live = {k: v for k, v in self.entries.items() if os.path.exists(k)}
        try:
            write_json_atomic(self.cache_path, {"version": 1, "files": live})
        except OSError:
            pass  # only an optimisation
        self.dirty = False


def _path_like(value: str) -> bool:
    return 0 < len(value) < 1024 and "\n" not in value and "\x00" not in value


def parameter_files(values: Any, notebooks_dir: Path) -> set[Path]:
    """Existing files named by parameter values (strings, also inside lists and mappings),
    resolved relative to the notebooks folder."""
    found: set[Path] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if _path_like(value):
                candidate = Path(value).expanduser()
                if not candidate.is_absolute():
                    candidate = notebooks_dir / candidate
                try:
                    if candidate.is_file():
                        found.add(Path(os.path.normpath(candidate.absolute())))
                except OSError:
                    pass
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(values)
    return found


def recorded_input_files(run_dir: Path, notebooks_dir: Path) -> set[Path]:
    """Files the notebook recorded in ``inputs.json`` (through contracts.load)."""
    data = read_json(run_dir / INPUTS_FILE)
    found: set[Path] = set()
    if isinstance(data, dict):
        for entry in data.values():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                p = Path(entry["path"]).expanduser()
                if not p.is_absolute():
                    p = notebooks_dir / p
                found.add(Path(os.path.normpath(p.absolute())))
    return found


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive
        return path.as_posix()


# --------------------------------------------------------------------------------------------
# Runs


@dataclass
class RunSpec:
    """Everything needed to execute one run (plain data: it travels to worker processes)."""

    name: str
    notebook: Path
    notebooks_dir: Path
    output_dir: Path
    title: str
    parameters: dict[str, Any]  # values given for this run (injected)
    declared: list[Parameter]
    kernel: str | None  # as requested (--kernel) or None for the notebook's own
    key_metrics: list[str] | None = None
    timeout: float | None = None
    resolved_kernel: str | None = None
    reason: str = ""  # why it runs (first run, parameters changed, ...)

    @property
    def run_dir(self) -> Path:
        return self.output_dir / self.name

    def effective_parameters(self) -> dict[str, Any]:
        values = {p.name: p.default for p in self.declared if not p.required and p.literal}
        values.update(self.parameters)
        return values


@dataclass
class RunResult:
    name: str
    status: str  # ok | failed | skipped
    duration: float = 0.0
    started_at: str | None = None
    finished_at: str | None = None
    error: dict[str, Any] | None = None
    kernel: str | None = None
    warnings: list[str] = field(default_factory=list)
    reason: str = ""  # why it ran / was skipped


def run_key(
    spec: RunSpec, info: NotebookInfo, hasher: FileHasher, helpers_hash: str, inputs: Iterable[Path]
) -> tuple[str, dict]:
    """The content key of a run: equal keys mean nothing it depends on has changed."""
    parts = {
        "version": _KEY_VERSION,
        "notebook": info.content_hash,
        "parameters": _sha256_bytes(_canonical(spec.parameters).encode()),
        "helpers": helpers_hash,
        "kernel": spec.kernel or info.kernel_name or "",
        "title": spec.title,
        "inputs": {_rel(p, spec.notebooks_dir): hasher.sha256(p) for p in sorted(set(inputs))},
    }
    return _sha256_bytes(_canonical(parts).encode()), parts


def _changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    if not old:
        return "first run"
    labels = {
        "notebook": "notebook changed",
        "parameters": "parameters changed",
        "helpers": "helper code changed",
        "kernel": "kernel changed",
        "title": "title changed",
        "version": "runner changed",
    }
    reasons = [text for k, text in labels.items() if old.get(k) != new.get(k)]
    old_inputs, new_inputs = old.get("inputs") or {}, new.get("inputs") or {}
    changed_inputs = sorted(k for k in set(old_inputs) | set(new_inputs) if old_inputs.get(k) != new_inputs.get(k))
    if changed_inputs:
        reasons.append("input changed: " + ", ".join(Path(k).name for k in changed_inputs[:3]))
    return "; ".join(reasons) or "changed"


# --------------------------------------------------------------------------------------------
# Progress output


class Progress:
    """Progress lines: ``[name] cell 7/23 ...`` updated in place on a terminal, plain lines
    otherwise; then one status line per run."""

    def __init__(self, stream=None, tty: bool | None = None):
        self.stream = stream or sys.stdout
        if tty is None:
            try:
                tty = self.stream.isatty() and os.environ.get("TERM") != "dumb"
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.active: dict[str, str] = {}
        self._shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _clear(self) -> None:
        if self.tty and self._shown:
            self._write("\r\x1b[K")
            self._shown = False

    def _redraw(self) -> None:
        if not self.tty or not self.active:
            return
        line = "  ".join(self.active.values())
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if len(line) > width:
            line = line[: max(width - 1, 0)] + "…"
        self._write("\r\x1b[K" + line)
        self._shown = bool(line)

    def line(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")
        self._redraw()

    def event(self, kind: str, name: str, *args: Any) -> None:
        if kind == "start":
            kernel, reason = args
            why = f" ({reason})" if reason else ""
            text = f"[{name}] starting kernel {kernel}{why} ..."
        elif kind == "cell":
            number, total = args
            text = f"[{name}] cell {number}/{total} ..."
        elif kind == "render":
            text = f"[{name}] rendering report ..."
        else:
            return
        if self.tty:
            self.active[name] = text
            self._redraw()
        else:
            self._write(text + "\n")

    def done(self, result: RunResult) -> None:
        self.active.pop(result.name, None)
        if result.status == "skipped":
            text = f"[{result.name}] skipped ({result.reason})" if result.reason else f"[{result.name}] skipped"
        else:
            text = f"[{result.name}] {result.status} {format_duration(result.duration)}"
            if result.error:
                where = f" (cell {result.error['cell']})" if result.error.get("cell") else ""
                text += f": {result.error['message']}{where}"
        self.line(text)
        for warning in result.warnings:
            self.line(f"[{result.name}] warning: {warning}")

    def finish(self) -> None:
        self._clear()


# --------------------------------------------------------------------------------------------
# Executing one run (in this process or in a worker process)


_kernel_names: set[str] | None = None


def installed_kernels() -> set[str]:
    global _kernel_names
    if _kernel_names is None:
        from jupyter_client.kernelspec import KernelSpecManager

        _kernel_names = set(KernelSpecManager().find_kernel_specs())
    return _kernel_names


def resolve_kernel(requested: str | None, stored: str | None) -> str:
    """``--kernel`` as given, else the notebook's kernel if installed, else python3."""
    names = installed_kernels()
    if requested:
        if requested not in names:
            raise WorkbenchError(
                f"Kernel {requested!r} is not installed (installed: {', '.join(sorted(names)) or 'none'})."
            )
        return requested
    if stored and stored in names:
        return stored
    return DEFAULT_KERNEL


def _clear_stale(run_dir: Path) -> None:
    """Remove what a previous run of this notebook wrote and the next one rewrites."""
    for name in (METRICS_FILE, INPUTS_FILE):
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / QUARANTINE_DIR, ignore_errors=True)
    for tmp in run_dir.glob(".*.tmp"):  # left by a killed run
        tmp.unlink(missing_ok=True)
    for tmp in run_dir.glob(".notebook.*.ipynb"):
        tmp.unlink(missing_ok=True)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def error_message(ename: str, evalue: str) -> str:
    """One sentence for an exception: its message's first line, with the exception type unless
    it is a ContractError (whose message is already the sentence a reader needs)."""
    text = _ANSI.sub("", evalue or "").strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) > 400:
        first = first[:399] + "…"
    if ename == "ContractError" and first:
        return first
    return f"{ename}: {first}" if first else ename


def _original_numbers(cells: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """For each cell of an executed notebook, its 1-based position in the notebook file
    (the injected-parameters cell gets the number of the parameters cell before it)."""
    numbers: list[int | None] = []
    n = 0
    for cell in cells:
        tags = _tags(cell)
        if PAPERMILL_ERROR_TAG in tags:
            numbers.append(None)
        elif INJECTED_TAG in tags:
            numbers.append(n if n else None)
        else:
            n += 1
            numbers.append(n)
    return numbers


def find_failure(nb: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first error output in an executed notebook: message, cell number, source."""
    cells = nb.get("cells") or []
    numbers = _original_numbers(cells)
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or PAPERMILL_ERROR_TAG in _tags(cell):
            continue
        for out in cell.get("outputs") or []:
            if out.get("output_type") == "error":
                ename, evalue = str(out.get("ename", "Error")), str(out.get("evalue", ""))
                if ename == "SystemExit" and evalue in ("", "0"):
                    continue
                return {
                    "ename": ename,
                    "evalue": _ANSI.sub("", evalue),
                    "message": error_message(ename, evalue),
                    "cell": numbers[index],
                    "cell_index": index,
                    "source": _cell_source(cell),
                }
    return None


def _drop_parameter_parsing_noise(record) -> bool:
    # Parameters were already parsed and checked here (parse_parameters). papermill parses them
    # again with a simpler line parser that trips on annotations such as ``list | str | None`` or
    # on '=' inside a help comment, and warns; those warnings would only confuse.
    msg = str(record.msg)
    return not (msg.startswith("Passed unknown parameter") or msg.startswith("Unable to parse line"))


def _quiet_papermill() -> None:
    import logging

    for name in ("papermill", "papermill.translators"):  # filters do not apply to child loggers
        log = logging.getLogger(name)
        if _drop_parameter_parsing_noise not in log.filters:
            log.addFilter(_drop_parameter_parsing_noise)


def _execute_notebook(spec: RunSpec, tmp_nb: Path, emit: Callable[..., None]):
    """Execute with papermill; returns (executed notebook or None, failure dict or None)."""
    lean_imports()
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    _quiet_papermill()
    _start_warming()  # after our own imports: the thread only imports what nbconvert adds
    nb = nbformat.read(spec.notebook, as_version=4)
    kernel = spec.resolved_kernel or DEFAULT_KERNEL
    ks = nb.metadata.get("kernelspec") or {}
    language = ks.get("language") or (nb.metadata.get("language_info") or {}).get("name") or "python"
    total = len(nb.cells)
    injected = bool(spec.parameters)
    param_index = next((i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in _tags(c)), -1)

    def on_cell_start(cell=None, cell_index=0, **_):
        if cell is None or cell.get("cell_type") != "code":
            return
        tags = _tags(cell)
        if INJECTED_TAG in tags:
            return
        number = cell_index + 1
        if injected and param_index >= 0 and cell_index > param_index:
            number -= 1  # papermill inserted the injected-parameters cell after the parameters cell
        emit("cell", spec.name, number, total)

    config = Config({"KernelManager": {"transport_encryption": "auto"}})
    env_before = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(spec.run_dir.resolve())
    emit("start", spec.name, kernel, spec.reason)
    try:
        executed = papermill.execute_notebook(
            nb,
            str(tmp_nb),
            parameters=spec.parameters or None,
            kernel_name=kernel,
            language=language,
            cwd=str(spec.notebooks_dir),
            progress_bar=False,
            request_save_on_cell_execute=False,
            start_timeout=120,
            execution_timeout=spec.timeout,
            on_cell_start=on_cell_start,
            config=config,
        )
        return executed, find_failure(executed)
    except PapermillExecutionError as exc:
        executed = nbformat.read(tmp_nb, as_version=4) if tmp_nb.exists() else None
        failure = find_failure(executed) if executed is not None else None
        if failure is None:
            failure = {
                "ename": exc.ename,
                "evalue": exc.evalue,
                "message": error_message(exc.ename, exc.evalue),
                "cell": None,
                "source": exc.source,
            }
        return executed, failure
    finally:
        if env_before is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = env_before


_renderer_warm = False
_warm_thread = None


def _start_warming() -> None:
    """While the kernel starts and runs, this process mostly waits: use that time to get the
    renderer ready in a thread (once per process)."""
    global _warm_thread
    if _renderer_warm or _warm_thread is not None:
        return
    import threading

    _warm_thread = threading.Thread(target=_warm_renderer, name="workbench-warm-renderer", daemon=True)
    _warm_thread.start()


def _wait_for_warming() -> None:
    if _warm_thread is not None:
        _warm_thread.join()


def _warm_renderer() -> None:
    """Import nbconvert and compile its templates (about 0.5-0.9 s, once per process)."""
    global _renderer_warm
    try:
        lean_imports()
        import nbformat

        html_exporter().from_notebook_node(
            nbformat.v4.new_notebook(), resources={"workbench": {"title": "", "css": "", "header_html": ""}}
        )
    except Exception:
        pass  # rendering the real report will raise (and be reported) if something is wrong
    _renderer_warm = True


def execute_run(spec: RunSpec, emit: Callable[..., None] | None = None) -> RunResult:
    """Execute one run and write its notebook, metrics and report. Never raises for a failing
    notebook (the result says failed); KeyboardInterrupt propagates, leaving previous outputs."""
    emit = emit or (lambda *a: None)
    run_dir = spec.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    _clear_stale(run_dir)
    started_at = now_iso()
    t0 = time.perf_counter()
    result = RunResult(spec.name, "ok", started_at=started_at, kernel=spec.resolved_kernel)
    executed = None
    fd, tmp_name = tempfile.mkstemp(dir=run_dir, prefix=".notebook.", suffix=".ipynb")
    os.close(fd)
    tmp_nb = Path(tmp_name)
    try:
        try:
            executed, failure = _execute_notebook(spec, tmp_nb, emit)
        except Exception as exc:  # kernel could not start, died, timed out, ...
            failure = {
                "ename": type(exc).__name__,
                "evalue": str(exc),
                "message": error_message(type(exc).__name__, str(exc)),
                "cell": None,
                "source": "",
            }
        duration = time.perf_counter() - t0
        if executed is not None:
            _write_notebook(executed, tmp_nb)
            os.chmod(tmp_nb, _file_mode())
            os.replace(tmp_nb, run_dir / NOTEBOOK_FILE)
        if not (run_dir / METRICS_FILE).exists():
            write_json_atomic(run_dir / METRICS_FILE, {})
        if failure:
            result.status, result.error = "failed", failure
        _wait_for_warming()
        emit("render", spec.name)
        try:
            header = report_header(spec, result.status, failure, started_at, duration)
            page = render_report(executed, header, failure, spec.notebooks_dir)
            result.warnings.extend(external_references(page))
            write_text_atomic(run_dir / REPORT_FILE, page)
        except Exception as exc:
            if not failure:
                result.status = "failed"
                result.error = {
                    "ename": type(exc).__name__,
                    "evalue": str(exc),
                    "cell": None,
                    "source": "",
                    "message": "The report could not be rendered: " + error_message(type(exc).__name__, str(exc)),
                }
    finally:
        tmp_nb.unlink(missing_ok=True)
    result.finished_at = now_iso()
    result.duration = time.perf_counter() - t0
    return result


def _write_notebook(nb, path: Path) -> None:
    import nbformat

    with open(path, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)


# --------------------------------------------------------------------------------------------
# Rendering


_jinja_env = None


def jinja_env():
    global _jinja_env
    if _jinja_env is None:
        import jinja2

        _jinja_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=True,
            trim_blocks=False,
            undefined=jinja2.ChainableUndefined,
        )
    return _jinja_env


def stylesheet() -> str:
    return CSS_FILE.read_text(encoding="utf-8")


def format_value(value: Any) -> str:
    """A parameter value as a reader sees it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) if value else "(empty)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) if value else "(empty)"
    return str(value)


def format_number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return format_value(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def report_header(
    spec: RunSpec, status: str, failure: Mapping[str, Any] | None, started_at: str, duration: float
) -> dict:
    params = []
    for p in spec.declared:
        is_set = p.name in spec.parameters
        value = spec.parameters[p.name] if is_set else (p.default if p.literal and not p.required else p.default_source)
        params.append({"name": p.name, "value": format_value(value), "help": p.help, "set": is_set})
    inputs = []
    recorded = read_json(spec.run_dir / INPUTS_FILE)
    if isinstance(recorded, dict):
        for name, entry in recorded.items():
            if not isinstance(entry, dict):
                continue
            sha = str(entry.get("sha256") or "")
            inputs.append(
                {
                    "name": name,
                    "file": entry.get("file") or Path(str(entry.get("path", ""))).name,
                    "rows_read": format_number(entry.get("rows_read")) if entry.get("rows_read") is not None else "",
                    "rows_accepted": format_number(entry.get("rows_accepted"))
                    if entry.get("rows_accepted") is not None
                    else "",
                    "rows_quarantined": format_number(entry.get("rows_quarantined"))
                    if entry.get("rows_quarantined") is not None
                    else "",
                    "sha256": sha,
                    "sha_short": sha[:12],
                }
            )
    return {
        "title": spec.title,
        "notebook": spec.notebook.name,
        "status": status,
        "run_date": format_date(started_at),
        "duration": format_duration(duration),
        "parameters": params,
        "inputs": inputs,
        "error": dict(failure) if failure else None,
    }


_OBJECT_REPR = re.compile(r"^\[?<[\w.]+(?: [^>]*)? at 0x[0-9a-fA-F]+>(?:,\s*<[^>]*>)*\]?$|^<Figure size [^>]*>$", re.S)


def _visible_outputs(cell: Mapping[str, Any]) -> list:
    keep = []
    for out in cell.get("outputs") or []:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") != "stdout":
            continue  # stderr: warnings, progress bars, logging
        if kind == "error":
            continue  # shown once, as a sentence, in the header banner
        if kind == "execute_result":
            data = out.get("data") or {}
            if set(data) == {"text/plain"}:
                text = data["text/plain"]
                text = "".join(text) if isinstance(text, list) else str(text)
                if _OBJECT_REPR.match(text.strip()):
                    continue  # <matplotlib.lines.Line2D at 0x...>: noise for a reader
        keep.append(out)
    return keep


def prepare_for_report(nb, failure: Mapping[str, Any] | None = None):
    """A copy of the executed notebook with only what a reader should see: no cells tagged
    ``remove``, no stderr, no papermill markers, no code cells without visible output, nothing
    after a failing cell, and without the notebook's own leading title (the header has it)."""
    import copy

    nb = copy.deepcopy(nb)
    stop = failure.get("cell_index") if failure else None
    cells = []
    for index, cell in enumerate(nb.cells):
        if stop is not None and index > stop:
            break
        tags = set(_tags(cell))
        if tags & REMOVE_CELL_TAGS or PAPERMILL_ERROR_TAG in tags:
            continue
        if cell.cell_type == "code":
            if tags & REMOVE_OUTPUT_TAGS or INJECTED_TAG in tags or PARAMETERS_TAG in tags:
                continue
            cell.outputs = _visible_outputs(cell)
            if not cell.outputs:
                continue
        cells.append(cell)
    for cell in cells:  # the first heading becomes the header's title
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            first = next((i for i, line in enumerate(lines) if line.strip()), None)
            if first is not None and _HEADING.match(lines[first]):
                cell.source = "\n".join(lines[first + 1 :]).strip("\n")
            break
    nb.cells = [c for c in cells if not (c.cell_type == "markdown" and not c.source.strip())]
    return nb


_exporter = None


def html_exporter():
    """The nbconvert exporter for reports (built once per process)."""
    global _exporter
    if _exporter is None:
        lean_imports()
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        c = Config()
        c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES_DIR)]
        c.HTMLExporter.template_name = NBCONVERT_TEMPLATE
        c.HTMLExporter.exclude_input = True
        c.HTMLExporter.exclude_input_prompt = True
        c.HTMLExporter.exclude_output_prompt = True
        c.HTMLExporter.embed_images = True
        c.HTMLExporter.anchor_link_text = ""
        _exporter = HTMLExporter(config=c)
    return _exporter


def render_report(nb, header: Mapping[str, Any], failure: Mapping[str, Any] | None, notebooks_dir: Path) -> str:
    """The report page: the runner's header, then the notebook's visible outputs."""
    lean_imports()
    import nbconvert
    import nbformat

    header_html = jinja_env().get_template("header.html.j2").render(**header)
    if nb is None:
        nb = nbformat.v4.new_notebook()
    body = prepare_for_report(nb, failure)
    resources = {
        "metadata": {"name": header["title"], "path": str(notebooks_dir)},
        "workbench": {
            "title": header["title"],
            "css": stylesheet(),
            "header_html": header_html,
            "nbconvert_version": nbconvert.__version__,
        },
    }
    page, _ = html_exporter().from_notebook_node(body, resources=resources)
    return page


_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?\s*|@import\s+(?:url\()?\s*["']?|url\(\s*["']?)((?:https?:)?//[^"'\s)>]+)""",
    re.I,
)


def external_references(page: str) -> list[str]:
    """External URLs a page would load or link to (src/href attributes, @import, url())."""
    urls = sorted(set(_EXTERNAL.findall(page)))
    if not urls:
        return []
    shown = ", ".join(urls[:3]) + (" ..." if len(urls) > 3 else "")
    return [f"the report refers to {len(urls)} external URL(s), which need a network connection: {shown}"]


# --------------------------------------------------------------------------------------------
# Run state and the index


def run_state_path(output_dir: Path, name: str) -> Path:
    return output_dir / name / RUN_FILE


def load_run_state(output_dir: Path, name: str) -> dict | None:
    data = read_json(run_state_path(output_dir, name))
    return data if isinstance(data, dict) else None


def _key_figures(metrics: Mapping[str, Any], wanted: Sequence[str] | None) -> list[tuple[str, str]]:
    if wanted:
        names = [k for k in wanted if k in metrics]
    else:
        keys = list(metrics)
        names = ([k for k in keys if not k.startswith("rows.")] + [k for k in keys if k.startswith("rows.")])[
            :DEFAULT_KEY_FIGURES
        ]
    return [(k, format_number(metrics[k])) for k in names]


def index_entries(output_dir: Path, order: Sequence[str] = ()) -> list[dict]:
    states = []
    if output_dir.is_dir():
        for path in output_dir.glob(f"*/{RUN_FILE}"):
            state = read_json(path)
            if isinstance(state, dict) and state.get("name"):
                states.append(state)
    rank = {name: i for i, name in enumerate(order)}
    states.sort(key=lambda s: (rank.get(s["name"], len(rank)), s["name"]))
    entries = []
    for s in states:
        run_dir = output_dir / s["name"]
        metrics = read_json(run_dir / METRICS_FILE)
        status = s.get("status", "failed")
        skipped = s.get("last_action") == "skipped"
        badge = "skipped" if skipped else status
        when = format_date(s.get("started_at"))
        if skipped:
            status_text = f"unchanged, skipped {format_date(s.get('checked_at'))}; last run {status}"
        else:
            status_text = "completed" if status == "ok" else "failed"
        err = s.get("error") or None
        entries.append(
            {
                "name": s["name"],
                "title": s.get("title") or s["name"],
                "status": status,
                "badge": badge,
                "status_text": status_text,
                "run_date": when,
                "duration": format_duration(s.get("duration_s")),
                "params": [(k, format_value(v)) for k, v in (s.get("parameters") or {}).items()],
                "figures": _key_figures(metrics, s.get("key_metrics")) if isinstance(metrics, dict) else [],
                "report_href": f"{s['name']}/{REPORT_FILE}" if (run_dir / REPORT_FILE).exists() else None,
                "error": err,
            }
        )
    return entries


def write_index(output_dir: Path, order: Sequence[str] = (), title: str = "Reports") -> Path:
    entries = index_entries(output_dir, order)
    counts = {
        "ok": sum(e["badge"] == "ok" for e in entries),
        "failed": sum(e["badge"] == "failed" for e in entries),
        "skipped": sum(e["badge"] == "skipped" for e in entries),
    }
    page = (
        jinja_env()
        .get_template("runs_index.html.j2")
        .render(title=title, runs=entries, counts=counts, css=stylesheet(), generated_at=format_date(now_iso()))
    )
    path = output_dir / INDEX_FILE
    write_text_atomic(path, page)
    return path


# --------------------------------------------------------------------------------------------
# Planning and running many notebooks


@dataclass
class RunOptions:
    notebooks: list[str] = field(default_factory=list)
    name: str | None = None
    assignments: list[str] = field(default_factory=list)  # -p KEY=VALUE
    params_file: Path | None = None
    output_dir: Path | None = None
    notebooks_dir: Path | None = None
    config: Path | None = None
    force: bool = False
    jobs: int = 1
    kernel: str | None = None
    timeout: float | None = None


@dataclass
class Project:
    root: Path
    notebooks_dir: Path
    output_dir: Path
    config_path: Path | None
    runs: list[RunConfig]


def open_project(
    notebooks_dir: Path | None = None,
    output_dir: Path | None = None,
    config: Path | None = None,
    cwd: Path | None = None,
) -> Project:
    cwd = (cwd or Path.cwd()).resolve()
    if config is not None:
        config = (cwd / config).resolve() if not config.is_absolute() else config
        if not config.is_file():
            raise WorkbenchError(f"Config file {config} does not exist.")
        root = config.parent
    else:
        root = find_project_root(cwd)
        candidate = root / CONFIG_FILE
        config = candidate if candidate.is_file() else None
    nb_dir = (cwd / notebooks_dir).resolve() if notebooks_dir is not None else root / "notebooks"
    out_dir = (cwd / output_dir).resolve() if output_dir is not None else root / "reports"
    runs = load_config(config) if config else []
    return Project(root, nb_dir, out_dir, config, runs)


def plan_runs(project: Project, options: RunOptions) -> list[RunSpec]:
    """Resolve which runs to execute and with which parameters; all checks happen here, before
    anything executes (unknown parameters, missing notebooks, bad values)."""
    cli_params = parse_assignments(options.assignments)
    file_params: dict[str, tuple[Any, str | None]] = {}
    if options.params_file:
        data = load_yaml_file(options.params_file, "Parameters file")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise WorkbenchError(f"Parameters file {options.params_file} must be a YAML mapping of name: value.")
        file_params = {str(k): (v, None) for k, v in data.items()}

    by_name = {r.name: r for r in project.runs}
    selected: list[tuple[RunConfig | None, str]] = []
    if options.notebooks:
        for item in options.notebooks:
            item = item[: -len(".ipynb")] if item.endswith(".ipynb") else item
            if item in by_name:
                selected.append((by_name[item], by_name[item].notebook))
            else:
                selected.append((None, item))
    else:
        if project.config_path is None:
            raise WorkbenchError(
                f"No {CONFIG_FILE} found (looked from {project.root} upward): name the notebooks to run, "
                f"e.g. workbench run {', '.join(p.stem for p in list_notebooks(project.notebooks_dir)[:2]) or 'NOTEBOOK'}."
            )
        if not project.runs:
            raise WorkbenchError(f"{project.config_path} lists no runs.")
        selected = [(r, r.notebook) for r in project.runs]
    if options.name and len(selected) != 1:
        raise WorkbenchError("--name can only be used when running a single notebook.")

    specs: list[RunSpec] = []
    errors: list[str] = []
    infos: dict[Path, NotebookInfo] = {}
    for cfg, stem in selected:
        try:
            path = notebook_path(project.notebooks_dir, stem)
            info = infos.get(path) or read_notebook_info(path)
            infos[path] = info
            name = check_run_name(options.name or (cfg.name if cfg else info.stem))
            layers = [
                {k: (v, None) for k, v in (cfg.parameters if cfg else {}).items()},
                file_params,
                cli_params,
            ]
            values = resolve_parameters(info, layers)
            title = (cfg.title if cfg and cfg.title else None) or info.title or name
            specs.append(
                RunSpec(
                    name=name,
                    notebook=path,
                    notebooks_dir=project.notebooks_dir,
                    output_dir=project.output_dir,
                    title=title,
                    parameters=values,
                    declared=info.parameters,
                    kernel=options.kernel,
                    key_metrics=cfg.key_metrics if cfg else None,
                    timeout=options.timeout,
                )
            )
        except WorkbenchError as exc:
            errors.append(str(exc))
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        errors.append(f"Run name(s) {', '.join(dupes)} selected twice.")
    if errors:
        raise WorkbenchError("\n".join(errors))
    return specs


_worker_queue = None


def _worker_init(queue) -> None:
    global _worker_queue
    _worker_queue = queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _worker_emit(*event) -> None:
    if _worker_queue is not None:
        try:
            _worker_queue.put(event)
        except Exception:
            pass


def _worker_run(spec: RunSpec) -> RunResult:
    return execute_run(spec, _worker_emit)


def _run_parallel(
    specs: Sequence[RunSpec], jobs: int, progress: Progress, on_done: Callable[[RunSpec, RunResult], None]
) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    import threading
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # fork is fastest but only safe from a single-threaded process (the CLI); elsewhere (e.g.
    # under pytest-xdist, which runs threads) start workers from a clean forkserver/spawn.
    methods = mp.get_all_start_methods()
    if "fork" in methods and sys.platform != "darwin" and threading.active_count() == 1:
        method = "fork"
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    ctx = mp.get_context(method)
    events = ctx.Queue()

    def drain() -> None:
        while True:
            try:
                progress.event(*events.get_nowait())
            except queue_mod.Empty:
                return
            except (EOFError, OSError):
                return

    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(events,)) as pool:
        futures = {pool.submit(_worker_run, spec): spec for spec in specs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                spec = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # the worker process died
                    result = RunResult(
                        spec.name,
                        "failed",
                        error={
                            "ename": type(exc).__name__,
                            "evalue": str(exc),
                            "cell": None,
                            "source": "",
                            "message": error_message(type(exc).__name__, str(exc)),
                        },
                    )
                on_done(spec, result)
        drain()
    events.close()


def run_reports(options: RunOptions, progress: Progress | None = None, cwd: Path | None = None) -> int:
    """``workbench run``: returns the exit code (0 all ok or skipped, 1 a run failed).
    Raises WorkbenchError (exit 2) for problems found before anything executes."""
    t_start = time.perf_counter()
    progress = progress or Progress()
    project = open_project(options.notebooks_dir, options.output_dir, options.config, cwd)
    specs = plan_runs(project, options)
    output_dir = project.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    hasher = FileHasher(output_dir / CACHE_FILE)
    helpers_hash = hasher.tree(PACKAGE_DIR)
    infos = {s.notebook: read_notebook_info(s.notebook) for s in specs}

    to_run: list[RunSpec] = []
    results: dict[str, RunResult] = {}
    previous: dict[str, dict | None] = {}
    param_inputs: dict[str, set[Path]] = {}
    for spec in specs:
        state = load_run_state(output_dir, spec.name)
        previous[spec.name] = state
        param_inputs[spec.name] = parameter_files(spec.effective_parameters(), spec.notebooks_dir)
        recorded = {spec.notebooks_dir / p for p in (state or {}).get("inputs", [])}
        key, parts = run_key(spec, infos[spec.notebook], hasher, helpers_hash, param_inputs[spec.name] | recorded)
        outputs_there = all((spec.run_dir / f).exists() for f in (REPORT_FILE, NOTEBOOK_FILE))
        if not options.force and state and state.get("status") == "ok" and state.get("key") == key and outputs_there:
            state["last_action"] = "skipped"
            state["checked_at"] = now_iso()
            write_json_atomic(run_state_path(output_dir, spec.name), state)
            result = RunResult(spec.name, "skipped", reason=f"unchanged since {format_date(state.get('started_at'))}")
            results[spec.name] = result
            progress.done(result)
        else:
            to_run.append(spec)
            spec_reason = (
                "forced"
                if options.force
                else (
                    "previous run failed"
                    if state and state.get("status") != "ok"
                    else "outputs missing"
                    if state and state.get("key") == key
                    else _changed((state or {}).get("key_parts"), parts)
                )
            )
            spec.reason = spec_reason
            results[spec.name] = RunResult(spec.name, "pending", reason=spec_reason)

    def on_done(spec: RunSpec, result: RunResult) -> None:
        recorded = recorded_input_files(spec.run_dir, spec.notebooks_dir)
        inputs = param_inputs[spec.name] | recorded
        key, parts = run_key(spec, infos[spec.notebook], hasher, helpers_hash, inputs)
        state = {
            "name": spec.name,
            "title": spec.title,
            "notebook": _rel(spec.notebook, spec.notebooks_dir),
            "status": result.status,
            "last_action": "ran",
            "reason": results[spec.name].reason,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "checked_at": result.finished_at,
            "duration_s": round(result.duration, 3),
            "parameters": spec.parameters,
            "kernel": result.kernel,
            "key": key,
            "key_parts": parts,
            "inputs": sorted(_rel(p, spec.notebooks_dir) for p in recorded),
            "key_metrics": spec.key_metrics,
            "error": {k: v for k, v in result.error.items() if k != "cell_index"} if result.error else None,
            "warnings": result.warnings,
        }
        write_json_atomic(run_state_path(output_dir, spec.name), state)
        results[spec.name] = result
        progress.done(result)

    try:
        if to_run:
            for spec in to_run:
                spec.resolved_kernel = resolve_kernel(spec.kernel, infos[spec.notebook].kernel_name)
            jobs = max(1, min(options.jobs, len(to_run)))
            if jobs == 1:
                for spec in to_run:
                    on_done(spec, execute_run(spec, progress.event))
            else:
                _run_parallel(to_run, jobs, progress, on_done)
    finally:
        progress.finish()
        hasher.save()
        order = [r.name for r in project.runs] + [s.name for s in specs]
        index = write_index(output_dir, order)

    final = [results[s.name] for s in specs]
    counts = {k: sum(r.status == k for r in final) for k in ("ok", "failed", "skipped")}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing to do"
    progress.line(
        f"{len(final)} run(s): {summary} in {format_duration(time.perf_counter() - t_start)}; index: {_display_path(index)}"
    )
    return 1 if counts["failed"] else 0


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
