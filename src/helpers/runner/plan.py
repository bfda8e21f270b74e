"""Planning: which runs to execute and with which parameters. Every check happens here, before
anything executes (unknown parameters, bad values and choices, missing notebooks, key metrics
that no imported domain declares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.runner.common import CONFIG_FILE, WorkbenchError
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
from helpers.runner.params import resolve_parameters
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
