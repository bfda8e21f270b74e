"""The ``workbench`` command (also ``python -m helpers``).

    workbench run [NOTEBOOK ...] [-p KEY=VALUE ...] [--params FILE.yaml] [--force] [--jobs N]
    workbench list
    workbench validate FILE --kind KIND [--map contract_col=file_col ...]
    workbench synth --kind KIND --rows N --seed S --out FILE
    workbench index
    workbench check-reports [DIR]

Exit codes: 0 success, 1 a run failed / a file broke its contract, 2 a usage or setup problem
found before anything ran. Only the standard library is imported at start; each subcommand
imports what it needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

# --help stays fast: the kinds come from helpers.core.registry, read only by validate and synth.
KINDS_HELP = "a contract kind declared by a domain (see the error for the list)"


def _add_dirs(p: argparse.ArgumentParser, output: bool = True) -> None:
    p.add_argument(
        "--notebooks-dir",
        type=Path,
        metavar="DIR",
        help="folder of notebooks (default: notebooks/ in the project root)",
    )
    if output:
        p.add_argument(
            "--output-dir", type=Path, metavar="DIR", help="folder for reports (default: reports/ in the project root)"
        )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="reports.yaml listing the runs (default: found from the current folder upward)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Run the analysis notebooks as reports, list their parameters, check and simulate data files.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser(
        "run",
        help="execute notebooks and render HTML reports",
        description=(
            "Execute notebooks with papermill and render each as DIR/NAME/report.html, then rewrite "
            "DIR/index.html. Without NOTEBOOK, runs every run listed in reports.yaml. A run whose "
            "notebook, parameters, helper code and input files are unchanged since its last successful "
            "run is skipped (use --force to re-run)."
        ),
    )
    run.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="notebook name in notebooks/ (without .ipynb) or a run name from reports.yaml",
    )
    run.add_argument("--name", help="run name = output subfolder (default: the notebook name); one notebook only")
    run.add_argument(
        "-p",
        "--param",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter; VALUE is read as YAML (3, 0.5, null, [a, b], {k: v}); repeatable",
    )
    run.add_argument(
        "--params",
        dest="params_file",
        type=Path,
        metavar="FILE.yaml",
        help="YAML mapping of parameters (reports.yaml < --params < -p)",
    )
    _add_dirs(run)
    run.add_argument("--force", action="store_true", help="re-run even if nothing changed")
    run.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="run N notebooks at once (default 1)")
    run.add_argument("--kernel", help="Jupyter kernel (default: the notebook's kernel if installed, else python3)")
    run.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop (and fail) a run that takes longer than this, kernel start and every cell included; "
        "0 = no limit (default: the run's 'timeout' in reports.yaml, else 1800)",
    )

    lst = sub.add_parser(
        "list",
        help="list notebooks and their parameters",
        description="List the notebooks, their parameters (name, type, default, help) and the runs in reports.yaml.",
    )
    _add_dirs(lst, output=False)

    idx = sub.add_parser("index", help="rewrite DIR/index.html from the runs found in DIR")
    _add_dirs(idx)

    chk = sub.add_parser(
        "check-reports",
        help="check the reports in a browser",
        description=(
            "Open DIR/index.html and every DIR/NAME/report.html in headless Chromium, network off, and "
            "list what is wrong with each: console or script errors, images that do not decode, links "
            "without a target, content wider than the page, network requests. Exit code 1 if any."
        ),
    )
    chk.add_argument(
        "dir", nargs="?", type=Path, metavar="DIR", help="folder of reports (default: reports/ in the project root)"
    )

    val = sub.add_parser(
        "validate",
        help="check a data file against its contract",
        description="Read FILE as data of KIND, count rows read, accepted and set aside, and show why rows were set aside.",
    )
    val.add_argument("file", type=Path, metavar="FILE")
    val.add_argument("--kind", required=True, help=f"contract: {KINDS_HELP}")
    val.add_argument(
        "--map",
        dest="mapping",
        action="append",
        default=[],
        metavar="CONTRACT_COL=FILE_COL",
        help="file column holding a contract column; repeatable",
    )
    val.add_argument(
        "--date-format", metavar="FMT", help="strftime format of the dates, e.g. %%Y%%m%%d (default: detected)"
    )
    val.add_argument(
        "--quarantine-out",
        type=Path,
        metavar="FILE",
        help="write the rows set aside (line, reason, original values) to this CSV file",
    )
    val.add_argument(
        "-o",
        "--option",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="other contracts.load option as YAML, e.g. -o 'scale=[1, 5]' -o delimiter=';'",
    )

    syn = sub.add_parser(
        "synth",
        help="write a simulated data file with known truth",
        description="Simulate data of KIND with helpers.synth and write it by extension (.csv, .csv.gz, .parquet, .xlsx).",
    )
    syn.add_argument("--kind", required=True, help=f"what to simulate: {KINDS_HELP}")
    syn.add_argument(
        "--rows", required=True, type=int, metavar="N", help="rows to simulate (see helpers.synth for each kind)"
    )
    syn.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    syn.add_argument("--out", required=True, type=Path, metavar="FILE", help="output file")
    syn.add_argument("--truth-out", type=Path, metavar="FILE.json", help="also write the true parameters as JSON")
    syn.add_argument(
        "-o",
        "--option",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="generator option as YAML; repeatable",
    )
    return parser


def _error(message: str) -> None:
    print(f"workbench: error: {message}", file=sys.stderr)


# --------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from helpers import runner

    if args.jobs < 1:
        raise runner.WorkbenchError("--jobs must be at least 1.")
    if args.timeout is not None and not 0 <= args.timeout < 1e7:
        raise runner.WorkbenchError("--timeout must be a number of seconds (0 = no limit).")
    options = runner.RunOptions(
        notebooks=list(args.notebooks),
        name=args.name,
        assignments=list(args.assignments),
        params_file=args.params_file,
        output_dir=args.output_dir,
        notebooks_dir=args.notebooks_dir,
        config=args.config,
        force=args.force,
        jobs=args.jobs,
        kernel=args.kernel,
        timeout=args.timeout,
    )
    return runner.run_reports(options)


def cmd_list(args: argparse.Namespace) -> int:
    from helpers import runner

    project = runner.open_project(args.notebooks_dir, None, args.config)
    notebooks = runner.list_notebooks(project.notebooks_dir)
    if not notebooks:
        print(f"No notebooks in {project.notebooks_dir}.")
    problems = 0
    for path in notebooks:
        try:
            info = runner.read_notebook_info(path)
        except runner.WorkbenchError as exc:
            print(f"{path.stem}\n  (cannot be read: {exc})\n")
            problems += 1
            continue
        title = f"  {info.title}" if info.title else ""
        print(f"{info.stem}{title}")
        if not info.parameters:
            print("  no parameters" + ("" if info.has_parameters_cell else " (no cell tagged 'parameters')"))
        else:
            rows = [(p.name, p.describe_type() or "", p.describe_default(), p.help) for p in info.parameters]
            widths = [max(len(r[i]) for r in rows) for i in range(3)]
            for name, typ, default, help_text in rows:
                line = f"  {name:<{widths[0]}}  {typ:<{widths[1]}}  {default:<{widths[2]}}"
                print((line + f"  {help_text}" if help_text else line).rstrip())
        print()
    if project.runs:
        print(f"Runs in {project.config_path}:")
        width = max(len(r.name) for r in project.runs)
        for r in project.runs:
            params = " ".join(f"{k}={runner.format_value(v)}" for k, v in r.parameters.items())
            print(f"  {r.name:<{width}}  {r.notebook}" + (f"  {params}" if params else ""))
    return 1 if problems else 0


def cmd_index(args: argparse.Namespace) -> int:
    from helpers import runner

    project = runner.open_project(args.notebooks_dir, args.output_dir, args.config)
    path = runner.write_index(project.output_dir, [r.name for r in project.runs])
    print(f"Wrote {path}")
    return 0


def cmd_check_reports(args: argparse.Namespace) -> int:
    from helpers import runner
    from helpers.runner import browser

    reason = browser.missing()
    if reason:
        raise runner.WorkbenchError(reason)
    folder = args.dir.resolve() if args.dir else runner.find_project_root() / "reports"
    pages = [folder / "index.html"] if (folder / "index.html").is_file() else []
    pages += sorted(p for p in folder.glob("*/report.html") if not p.parent.name.startswith((".", "_")))
    if not pages:
        raise runner.WorkbenchError(f"No reports in {folder}: no index.html, no NAME/report.html.")
    try:
        found = browser.check_pages(pages)
    except browser.BrowserUnavailable as exc:
        raise runner.WorkbenchError(str(exc)) from None
    bad = {page: problems for page, problems in found.items() if problems}
    for page, problems in bad.items():
        print(f"{page.relative_to(folder)}:" + "".join(f"\n  - {p}" for p in problems))
    print(f"{len(pages)} pages checked: " + (f"{len(bad)} with problems" if bad else "no problems"))
    return 1 if bad else 0


def _options(items: Sequence[str]) -> dict:
    from helpers import runner

    return {k: v for k, (v, _) in runner.parse_assignments(items).items()}


def _mapping(items: Sequence[str]) -> dict[str, str]:
    from helpers import runner

    mapping = {}
    for item in items:
        contract_col, sep, file_col = item.partition("=")
        if not sep or not contract_col.strip() or not file_col.strip():
            raise runner.WorkbenchError(f"--map {item!r} is not of the form contract_col=file_col.")
        mapping[contract_col.strip()] = file_col.strip()
    return mapping


def _print_table(rows: list[tuple[str, str]], headers: tuple[str, str]) -> None:
    w0 = max(len(headers[0]), *(len(r[0]) for r in rows))
    w1 = max(len(headers[1]), *(len(r[1]) for r in rows))
    print(f"  {headers[0]:<{w0}}  {headers[1]:>{w1}}")
    print(f"  {'-' * w0}  {'-' * w1}")
    for a, b in rows:
        print(f"  {a:<{w0}}  {b:>{w1}}")


def cmd_validate(args: argparse.Namespace) -> int:
    from helpers import runner
    from helpers.core.io import write_csv_safe

    options = _options(args.options)
    if "scale" in options and isinstance(options["scale"], list):
        options["scale"] = tuple(options["scale"])
    mapping = _mapping(args.mapping)
    if mapping:
        options["columns"] = mapping
    if args.date_format:
        options["date_format"] = args.date_format
    from helpers.core import registry

    kinds = registry.kind_names()
    if args.kind not in kinds:
        raise runner.WorkbenchError(
            f"Unknown kind {args.kind!r}: expected one of {', '.join(kinds) or '(none declared)'}."
        )
    from helpers import contracts

    try:
        result = contracts.validate(args.file, args.kind, **options)
    except contracts.ContractError as exc:
        print(str(exc), file=sys.stderr)
        if "column" in str(exc) and not mapping:
            print("Hint: --map contract_col=file_col tells which file column holds a contract column.", file=sys.stderr)
        return 1
    except TypeError as exc:  # an -o option contracts.load does not take
        raise runner.WorkbenchError(f"Option not accepted by contracts.load: {exc}.") from None
    width = len(f"{result.rows_read:,}")
    print(f"{args.file} ({args.kind})")
    print(f"  rows read       {result.rows_read:>{width},}")
    print(f"  rows accepted   {result.rows_accepted:>{width},}")
    print(f"  rows set aside  {result.rows_quarantined:>{width},}")
    if result.rows_quarantined:
        reasons = result.reasons
        print("\nReasons rows were set aside (a row can break several rules):")
        _print_table([(str(r.reason), f"{int(r.rows):,}") for r in reasons.itertuples()], ("reason", "rows"))
    if args.quarantine_out:
        frame = result.quarantine
        write_csv_safe(frame, args.quarantine_out)
        print(f"\nWrote {len(frame):,} set-aside row(s) to {args.quarantine_out}")
    if result.over_threshold:  # more rows set aside than max_quarantined_share allows
        print(f"\n{result.threshold_message}", file=sys.stderr)
        return 1
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from helpers import runner
    from helpers.core import registry
    from helpers.core.io import write_json_atomic

    options = _options(args.options)
    kinds = registry.simulated_kinds()
    if args.kind not in kinds:
        raise runner.WorkbenchError(
            f"Unknown kind {args.kind!r}: kinds with a simulator are {', '.join(kinds) or '(none declared)'}."
        )
    simulate = registry.simulator(args.kind)
    from helpers import synth

    try:
        data = simulate(args.rows, seed=args.seed, **options)
    except (ValueError, TypeError) as exc:
        raise runner.WorkbenchError(str(exc)) from None
    try:
        path = synth.write_frame(data.frame, args.out)
    except ValueError as exc:
        raise runner.WorkbenchError(str(exc)) from None
    print(f"Wrote {len(data.frame):,} rows of simulated {args.kind} (seed {args.seed}) to {path}")
    if args.truth_out:
        write_json_atomic(args.truth_out, data.truth)
        print(f"Wrote the true parameters to {args.truth_out}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "list": cmd_list,
    "index": cmd_index,
    "check-reports": cmd_check_reports,
    "validate": cmd_validate,
    "synth": cmd_synth,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from helpers.runner import WorkbenchError

    try:
        return COMMANDS[args.command](args)
    except WorkbenchError as exc:
        _error(str(exc))
        return 2
    except OSError as exc:  # a folder that cannot be written, a disk that is full, ...
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        _error(f"{exc.strerror or type(exc).__name__}{where}.")
        return 2
    except KeyboardInterrupt:
        print(
            "\nworkbench: interrupted; finished reports were kept, unfinished ones left as they were.", file=sys.stderr
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
