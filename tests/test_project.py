"""The project's own hygiene: dependencies declared once, notebooks committed clean."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name where they differ
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", spec)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have.update(_split(s) for s in dep["pip"] if not s.startswith("-e"))
        elif not dep.startswith(("python=", "pip")) or dep.startswith("pip-"):
            have.update([_split(dep)])
    expected = {CONDA_NAMES.get(name, name): spec for name, spec in wanted.items()}
    assert have == expected


def test_committed_notebooks_have_no_outputs_and_a_documented_parameters_cell():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in code), f"{path.name} has outputs"
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
        for line in "".join(tagged[0]["source"]).splitlines():
            if line.startswith("from typing import "):  # Literal[...] annotations need it in the cell
                continue
            if line.strip() and not line.lstrip().startswith("#"):
                assert re.match(r"^\w+: [^=]+ = .+  # \S", line), (
                    f"{path.name}: parameter without type hint or help: {line}"
                )
        assert nb["metadata"]["kernelspec"]["name"] == "workbench", f"{path.name} should use the project's kernel"


def test_every_report_run_names_an_existing_notebook():
    config = yaml.safe_load((ROOT / "reports.yaml").read_text())
    names = [run["name"] for run in config["runs"]]
    assert len(names) == len(set(names)), "report run names must be unique"
    for run in config["runs"]:
        assert (ROOT / "notebooks" / f"{run['notebook']}.ipynb").exists(), run


def test_every_report_run_passes_planning():
    """Parameters, their types and choices, and every key_metrics name (declared by the domains
    the notebook imports) are checked exactly as `workbench run` checks them."""
    from helpers import runner

    project = runner.open_project(cwd=ROOT)
    specs = runner.plan_runs(project, runner.RunOptions())
    assert [s.name for s in specs] == [r.name for r in project.runs]


def test_bundled_data_is_documented():
    readme = (ROOT / "data" / "README.md").read_text()
    for path in (ROOT / "data").rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert path.name in readme, f"data/README.md does not describe {path.relative_to(ROOT)}"


def test_data_quality_kind_choices_are_the_registered_contract_kinds():
    """The notebook's `kind: Literal[...]` is checked at planning; it must offer exactly the kinds
    the domains register (a new domain's kind added there fails this test until listed)."""
    from helpers import runner
    from helpers.core import registry

    info = runner.read_notebook_info(ROOT / "notebooks" / "data_quality.ipynb")
    kind = next(p for p in info.parameters if p.name == "kind")
    assert sorted(kind.choices) == sorted(registry.kind_names())


def test_importing_helpers_makes_openmp_threads_wait_passively_unless_set():
    """Spinning OpenMP waits stalled a CLV fit for minutes beside one busy process (issue 7, 23)."""
    import os
    import subprocess
    import sys

    code = "import helpers, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"
