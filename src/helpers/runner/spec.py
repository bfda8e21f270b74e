"""The plain data passed between planning, execution and the index: one run's spec and result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.runner.params import Parameter


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
    timeout: float | None = None  # seconds for the whole run (kernel killed after); None = no limit
    resolved_kernel: str | None = None
    reason: str = ""  # why it runs (first run, parameters changed, ...)
    kernel_env: dict[str, str] = field(default_factory=dict)  # added to the kernel's environment
    previous: dict[str, Any] | None = None  # the last successful run's figures (runner.history.last_success)

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
    build_dir: Path | None = None  # the finished run's files, to be swapped in (rundir.commit)
    cells: list[dict[str, Any]] = field(default_factory=list)  # executed cells' timings (runner.timing)
