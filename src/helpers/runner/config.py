"""Where things are and what to run: YAML values (``-p``, ``--params``, reports.yaml), the
project layout, and reports.yaml's list of runs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.runner.common import CONFIG_FILE, WorkbenchError

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


#: The most text a YAML value (a ``-p`` value, a --params file, reports.yaml) may stand for once
#: its aliases are expanded, about its size as canonical JSON: YAML anchors and aliases let a few
#: hundred characters stand for gigabytes (a "billion laughs" value), which the run would inject
#: into the notebook and hash in full.
MAX_VALUE_CHARS = 1_000_000


def expanded_size(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """About the length of ``value`` as JSON with every alias written out, counted only up to
    just past ``limit`` (so that a value standing for gigabytes is measured in microseconds).
    Containers that contain themselves count as over the limit."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += 2 + 2 * len(item)
            for k, v in item.items():
                total += len(str(k)) + 2
                stack.append(v)
        elif isinstance(item, (list, tuple)):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str):
            total += len(item) + 2
        else:
            total += len(str(item)) if isinstance(item, (int, float)) and abs(item) < 1e30 else 8
        if total > limit:
            return total
    return total


def check_size(value: Any, what: str) -> Any:
    if expanded_size(value) > MAX_VALUE_CHARS:
        raise WorkbenchError(
            f"{what[:1].upper()}{what[1:]} is too large: over {MAX_VALUE_CHARS // 1_000_000} MB once its YAML "
            "aliases (*name) are expanded; give a smaller value (or a file name)."
        )
    return value


def parse_yaml(text: str, what: str = "value") -> Any:
    import yaml

    try:
        value = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WorkbenchError(f"Cannot read {what} as YAML ({detail}).") from None
    except RecursionError:
        raise WorkbenchError(f"Cannot read {what} as YAML (nested too deeply).") from None
    return check_size(value, what)


def load_yaml_file(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbenchError(f"{what} {path} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise WorkbenchError(
            f"{what} {path} is not UTF-8 text (byte {exc.start} cannot be decoded): give a YAML file."
        ) from None
    except OSError as exc:
        raise WorkbenchError(f"Cannot read {what} {path}: {exc.strerror or exc}.") from None
    if "\x00" in text:
        raise WorkbenchError(f"{what} {path} is a binary file, not YAML text.")
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
    timeout: float | None = None  # seconds for the whole run (0 = no limit); None = the default


_RUN_KEYS = {"name", "notebook", "title", "parameters", "key_metrics", "timeout"}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME_LENGTH = 100  # a folder name, also inside URLs and paths that must stay well under OS limits


def check_run_name(name: str) -> str:
    if name and len(name) > MAX_NAME_LENGTH:
        raise WorkbenchError(
            f"Run name {name[:20]!r}... is {len(name)} characters long: use at most {MAX_NAME_LENGTH}."
        )
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
        timeout = entry.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout < 1e7
        ):
            raise WorkbenchError(f"{where}: 'timeout' must be a number of seconds (0 = no limit); got {timeout!r}.")
        title = entry.get("title")
        runs.append(
            RunConfig(
                name,
                notebook,
                str(title) if title is not None else None,
                dict(params),
                key_metrics,
                float(timeout) if timeout is not None else None,
            )
        )
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
