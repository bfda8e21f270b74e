"""Planning: which runs to execute and with which parameters. Every check happens here, before
anything executes (unknown parameters, bad values and choices, dates, order, missing notebooks,
key metrics that no imported domain declares).

Paths typed on the command line (``-p``, ``--params``) mean what they mean to ``workbench
validate``: relative to the folder the command was run from. A relative string value given there
is made absolute against that folder when it looks like a path (holds a ``/`` or ends in an
extension such as ``.csv``) and either names an existing file or folder there, or the parameter
takes an input file (its default names an existing file beside the notebooks, or its annotation is
``Path``); a missing input file then stops the run here, naming the folder it was looked for in.
Values in reports.yaml stay relative to the notebooks folder (where the notebook runs).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.runner.common import CONFIG_FILE, DEFAULT_TIMEOUT, WorkbenchError
from helpers.runner.config import (
    RunConfig,
    check_run_name,
    find_project_root,
    list_notebooks,
    load_config,
    load_yaml_file,
    notebook_path,
    parse_assignments,
)
from helpers.runner.notebook import NotebookInfo, read_notebook_info
from helpers.runner.params import Parameter, annotation_spec, resolve_parameters
from helpers.runner.spec import RunSpec


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
    timeout: float | None = None  # seconds for each whole run; 0 = no limit; None = reports.yaml or default


@dataclass
class Project:
    root: Path
    notebooks_dir: Path
    output_dir: Path
    config_path: Path | None
    runs: list[RunConfig]
    cwd: Path = field(default_factory=Path.cwd)  # the folder the command was run from


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
    return Project(root, nb_dir, out_dir, config, runs, cwd)


_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")


def _looks_like_path(text: str) -> bool:
    if not 0 < len(text) < 1024 or "\n" in text or "\x00" in text or "://" in text:
        return False
    return "/" in text or os.sep in text or text.startswith("~") or bool(_EXTENSION.search(text))


def _takes_input_file(param: Parameter, notebooks_dir: Path) -> bool:
    """The parameter names an input file: annotated ``Path``, or its default names an existing file
    relative to the notebooks folder."""
    if re.search(r"\bPath\b", param.type or ""):
        return True
    default = param.default
    if not (param.literal and isinstance(default, str) and _looks_like_path(default)):
        return False
    try:
        return (notebooks_dir / Path(default).expanduser()).is_file()
    except OSError:
        return False


def resolve_cli_paths(
    info: NotebookInfo, layer: dict[str, tuple[Any, str | None]], cwd: Path, notebooks_dir: Path
) -> dict[str, tuple[Any, str | None]]:
    """``layer`` (values given with ``-p`` or ``--params``) with relative paths made absolute
    against ``cwd`` (see the module docstring); a missing input file is a WorkbenchError."""
    out: dict[str, tuple[Any, str | None]] = {}
    for name, (value, raw) in layer.items():
        param = info.parameter(name)
        spec = annotation_spec(param.type) if param else None
        if param is None or (spec is not None and spec.choices is not None):
            out[name] = (value, raw)
            continue
        takes_file = _takes_input_file(param, notebooks_dir)

        def resolve(item: Any, takes_file: bool = takes_file, name: str = name) -> Any:
            if not isinstance(item, str) or not _looks_like_path(item.strip()):
                return item
            path = Path(item.strip()).expanduser()
            if path.is_absolute():
                return str(path)
            candidate = Path(os.path.normpath(cwd / path))
            try:
                exists = candidate.exists()
            except OSError:
                exists = False
            if exists:
                return str(candidate)
            if takes_file:
                raise WorkbenchError(
                    f"Parameter '{name}': no file {item.strip()} in {cwd} (paths given with -p or --params "
                    "are relative to the folder the command is run from)."
                )
            return item

        if isinstance(value, list):
            value = [resolve(v) for v in value]
        else:
            resolved = resolve(value)
            if resolved is not value:
                value, raw = resolved, None
        out[name] = (value, raw)
    return out


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
                resolve_cli_paths(info, file_params, project.cwd, project.notebooks_dir),
                resolve_cli_paths(info, cli_params, project.cwd, project.notebooks_dir),
            ]
            values = resolve_parameters(info, layers)
            if cfg and cfg.key_metrics:
                check_key_metrics(cfg, info, project.config_path)
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
                    timeout=_timeout(options, cfg),
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


def _timeout(options: RunOptions, cfg: RunConfig | None) -> float | None:
    """Seconds for the whole run: --timeout, else reports.yaml's ``timeout:``, else the default;
    0 means no limit (None)."""
    if options.timeout is not None:
        seconds = options.timeout
    elif cfg is not None and cfg.timeout is not None:
        seconds = cfg.timeout
    else:
        seconds = DEFAULT_TIMEOUT
    return float(seconds) if seconds and seconds > 0 else None


def check_key_metrics(cfg: RunConfig, info: NotebookInfo, config_path: Path | None) -> None:
    """Every name under a run's ``key_metrics`` must be a metric that the domains its notebook
    imports (found by :func:`helpers.runner.notebook.helper_imports`) or the shared metrics
    declare in :mod:`helpers.core.registry`. Not checked while no domain is registered."""
    from helpers.core import registry

    try:
        domains = registry.domains()
    except Exception as exc:  # a domain.py that does not import
        raise WorkbenchError(f"Cannot load the domain registry: {type(exc).__name__}: {exc}") from None
    if not domains:
        return
    used = [name for name in info.helper_imports if name in domains]
    pool = registry.metrics_for(used)
    unknown = [k for k in cfg.key_metrics or () if registry.find_metric(k, pool) is None]
    if unknown:
        where = config_path.name if config_path else CONFIG_FILE
        recorded = ", ".join(m.name for m in pool) or "none"
        domain_text = f"domain(s) {', '.join(used)}" if used else "no domain"
        raise WorkbenchError(
            f"{where}, run {cfg.name!r}: key_metrics {', '.join(unknown)} not declared for notebook {info.stem} "
            f"({domain_text} + shared metrics); it can record: {recorded}."
        )
