"""Reports checked in a real browser (Debian's Chromium, headless, network off, through Playwright).

The checker is first shown able to fail, on tiny hand-written pages that each have one problem
(and one page that has none, with everything the others get wrong done right). Then real reports:
one run per notebook in notebooks/ on the bundled data, plus a run that fails, made by
``workbench run`` in a temporary folder with previews on; every report and the index must load
without console errors, decode every image, resolve every in-page link, stay within the page width
and request nothing from the network, and every report run must have its preview, shown on the
index as a thumbnail.

Skipped, saying how to install them, where Chromium or Playwright is missing (CI installs both).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers.runner import browser as wb
from helpers.runner import previews
from notebook_factory import build_once

_MISSING = wb.missing()
if _MISSING:
    pytest.skip(f"the browser tests need Chromium and Playwright. {_MISSING}", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
# a 1x1 PNG
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def browser():
    with wb.Browser() as b:
        yield b


def page(tmp_path: Path, body: str, name: str = "page.html") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
        "<style>body { margin: 0; font: 14px sans-serif; } main { max-width: 800px; margin: 0 auto; }</style>"
        f"</head><body><main>{body}</main></body></html>",
        encoding="utf-8",
    )
    return path


# --- the checker can fail ------------------------------------------------------------------------


def test_a_sound_page_passes(browser, tmp_path):
    """Everything the failing pages below get wrong, done right: no false alarms."""
    (tmp_path / "other.html").write_text("<p>other</p>")
    body = (
        '<h1 id="top">Title</h1><nav><a href="#part-1">Part 1</a> <a href="#Does-it-fit%3F">fit?</a></nav>'
        '<h2 id="part-1">Part 1</h2><a name="legacy"></a><a href="#legacy">legacy anchor</a> <a href="#">top</a>'
        f'<img src="data:image/png;base64,{PNG_B64}" alt="dot"><h2 id="Does-it-fit?">Does it fit?</h2>'
        '<div style="overflow-x: auto"><table style="width: 3000px"><tr><td>wide, in a scrolling box</td></tr></table></div>'
        '<pre style="overflow-x: auto">' + "x" * 500 + "</pre>"
        "<p>A long sentence that wraps inside its box. " * 20 + "</p>"
        '<a href="other.html">another page</a> <a href="other.html#x">with a fragment</a> '
        '<a href="https://example.com/">a link out (not a request)</a>'
        '<script>console.log("hello"); console.warn("a warning is not an error");</script>'
        '<p><a href="#top">back to top</a></p>'
    )
    assert browser.check(page(tmp_path, body)) == []


def test_console_and_script_errors(browser, tmp_path):
    problems = browser.check(page(tmp_path, '<script>console.error("boom 42"); null.x;</script>'))
    assert any(p.startswith("console error: boom 42") for p in problems), problems
    assert any(p.startswith("script error:") for p in problems), problems


def test_images_that_do_not_decode(browser, tmp_path):
    body = (
        '<img src="data:image/png;base64,AAAAAAAA" alt="corrupt">'
        '<img src="missing.png" alt="gone"><img alt="no source">'
        f'<img src="data:image/png;base64,{PNG_B64}" alt="fine" loading="lazy" style="margin-top: 5000px">'
    )
    problems = browser.check(page(tmp_path, body))
    broken = [p for p in problems if p.startswith("image does not decode")]
    assert len(broken) == 3, problems
    assert any('alt="corrupt"' in p and "data:image/png" in p for p in broken)
    assert any("missing.png" in p for p in broken)
    assert not any('alt="fine"' in p for p in problems)  # lazy and far below the window, but fine


def test_in_page_links_without_a_target(browser, tmp_path):
    body = '<h2 id="there">There</h2><a href="#there">ok</a><a href="#nowhere">Contents entry</a><a href="#top">Top</a>'
    problems = browser.check(page(tmp_path, body))
    assert problems == [
        'in-page link "#nowhere" ("Contents entry") has no element with id "nowhere"',
        'in-page link "#top" ("Top") has no element with id "top"',
    ]


def test_links_to_missing_local_files(browser, tmp_path):
    problems = browser.check(page(tmp_path, '<a href="run/report.html">a run</a>'))
    assert len(problems) == 1 and "does not exist" in problems[0] and "run/report.html" in problems[0]


def test_elements_wider_than_the_page_are_named(browser, tmp_path):
    body = (
        '<div class="wb-cards"><span>cards</span><div class="card" style="width: 1500px">inner</div></div>'
        '<p style="white-space: nowrap">' + "unbroken " * 300 + "</p>"
    )
    problems = browser.check(page(tmp_path, body))
    # named where the overflow starts: the child too wide for its parent, not the parent it pushes
    assert len(problems) == 2, problems
    assert problems[0].startswith('element <div.card> ("inner") overflows the page width: its right edge is at 1700 px')
    assert problems[0].endswith("the page is 1200 px wide (element 1500 px wide)")
    assert problems[1].startswith('the text of <p> ("unbroken unbroken') and "overflows the page width" in problems[1]

    table = page(tmp_path, '<table class="wb-params-table" style="min-width: 700px"><tr><td>cell</td></tr></table>')
    assert browser.check(table) == []
    problems = browser.check(table, [400])  # other window widths on request
    assert len(problems) == 1 and problems[0].startswith('element <table.wb-params-table> ("cell")'), problems
    assert "at a window 400 px wide" in problems[0]


def test_the_cause_of_an_overflow_is_named_and_closed_details_count(browser, tmp_path):
    """A flex item grows to fit its widest unbreakable content: the checker names that content,
    also inside a closed <details> (readers open it)."""
    body = (
        '<div style="display: flex"><div class="thumb" style="width: 300px; flex: none">thumb</div>'
        '<div class="run-body"><p>Some words that wrap.</p><details><summary>Parameters</summary>'
        "<p><code>input_file=" + "x" * 150 + ".csv</code></p></details></div></div>"
    )
    problems = browser.check(page(tmp_path, body))
    assert len(problems) == 1, problems
    assert problems[0].startswith('element <div.run-body> ("Some words that wrap. Parameters input_file=xxx')
    assert problems[0].endswith('it holds <code> ("input_file=' + "x" * 49 + '"), which does not fit'), problems


def test_overflow_hidden_by_the_body_is_still_found(browser, tmp_path):
    path = page(tmp_path, '<style>body { overflow-x: hidden; }</style><div style="width: 2000px">cut off</div>')
    problems = browser.check(path)
    assert len(problems) == 1 and 'element <div> ("cut off")' in problems[0], problems


def test_network_requests_are_blocked_and_reported(browser, tmp_path):
    body = (
        '<img src="http://example.com/x.png" alt="remote">'
        '<link rel="stylesheet" href="https://cdn.example.org/style.css">'
        '<script>fetch("https://api.example.net/track").catch(() => {});</script>'
    )
    problems = browser.check(page(tmp_path, body))
    network = [p for p in problems if p.startswith("network request attempted")]
    assert {p.rsplit(": ", 1)[1] for p in network} == {
        "http://example.com/x.png",
        "https://cdn.example.org/style.css",
        "https://api.example.net/track",
    }, problems
    assert any("remote" in p for p in problems if p.startswith("image does not decode"))
    assert not any("ERR_BLOCKED_BY_CLIENT" in p for p in problems)  # said once, as a request


def test_a_dialog_is_a_problem(browser, tmp_path):
    problems = browser.check(page(tmp_path, '<img src="x" onerror="alert(6)" alt="">'))
    assert any("alert dialog: '6'" in p for p in problems), problems


def test_a_missing_page(browser, tmp_path):
    assert browser.check(tmp_path / "nope.html") == [f"{tmp_path / 'nope.html'} does not exist"]


# --- previews ------------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_write_previews_warns_about_one_report_and_goes_on(tmp_path):
    good = page(tmp_path / "a", "<h1>Report A</h1>", "report.html")
    bad = page(tmp_path / "b", "<h1>Report B</h1>", "report.html")
    (bad.parent / wb.PREVIEW_FILE).mkdir()  # the preview cannot be written there
    warnings = []
    written, launch = previews.write_previews(
        [good, bad, tmp_path / "c" / "report.html"], lambda r, why: warnings.append(r)
    )
    assert written == [good.parent / wb.PREVIEW_FILE] and warnings == [bad]
    assert png_size(good.parent / wb.PREVIEW_FILE) == (600, 400)
    assert 0 < launch < 30
    assert not list(bad.parent.glob(".preview.png.*"))  # no temporary file left behind


def test_the_runner_step_says_once_what_is_missing(tmp_path, monkeypatch):
    reports = [page(tmp_path / n, "<h1>R</h1>", "report.html") for n in ("a", "b")]
    lines = []
    monkeypatch.setenv(wb.PREVIEWS_ENV, "1")  # (tests/conftest.py turns previews off by default)
    monkeypatch.setenv(wb.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    previews.runner_previews(reports, lines.append)
    assert len(lines) == 1 and "apt-get install chromium" in lines[0] and "without previews" in lines[0], lines
    monkeypatch.delenv(wb.CHROMIUM_ENV)
    monkeypatch.setenv(wb.PREVIEWS_ENV, "0")
    previews.runner_previews(reports, lines.append)
    assert len(lines) == 1 and not (tmp_path / "a" / wb.PREVIEW_FILE).exists()


def test_the_worker_previews_each_report_given_and_warns_about_one(tmp_path, monkeypatch):
    monkeypatch.setenv(wb.PREVIEWS_ENV, "1")
    good = page(tmp_path / "a", "<h1>Report A</h1>", "report.html")
    bad = page(tmp_path / "b", "<h1>Report B</h1>", "report.html")
    (bad.parent / wb.PREVIEW_FILE).mkdir()  # the preview cannot be written there
    worker = previews.PreviewWorker()
    worker.start()
    for report in (good, bad, tmp_path / "c" / "report.html", good):  # a missing one, one twice
        worker.submit(report)
    warnings = worker.finish()
    assert len(warnings) == 1 and warnings[0].startswith("[b] warning: preview not written:"), warnings
    assert png_size(good.parent / wb.PREVIEW_FILE) == (600, 400)
    assert 0 < worker.launch_seconds < 30


def test_the_worker_does_nothing_when_previews_are_off(tmp_path, monkeypatch):
    monkeypatch.setenv(wb.PREVIEWS_ENV, "0")
    report = page(tmp_path / "a", "<h1>R</h1>", "report.html")
    worker = previews.PreviewWorker()
    worker.start()
    worker.submit(report)
    assert not worker.started and worker.finish() == [] and not (tmp_path / "a" / wb.PREVIEW_FILE).exists()


def test_a_cancelled_worker_stops_without_making_the_previews_left(tmp_path, monkeypatch):
    """Ctrl-C: the previews still queued are not made (the next run makes them), and the wait for
    the browser to close is bounded."""
    monkeypatch.setenv(wb.PREVIEWS_ENV, "1")
    reports = [page(tmp_path / f"r{i}", f"<h1>Report {i}</h1>", "report.html") for i in range(30)]
    worker = previews.PreviewWorker()
    worker.start()
    for report in reports:
        worker.submit(report)
    t0 = time.perf_counter()
    worker.cancel(wait=30)
    assert time.perf_counter() - t0 < 15
    assert worker.finish() == []
    assert sum((r.parent / wb.PREVIEW_FILE).exists() for r in reports) < len(reports)


def test_the_runner_starts_the_browser_before_the_run_and_previews_it_once_committed(
    tmp_path, monkeypatch, stable_helpers
):
    """The browser's start is hidden behind the kernel: the worker starts before the run executes,
    gets the report as soon as the run is committed, and is waited for before the index."""
    from helpers.runner import batch
    from notebook_factory import GOOD_METRICS, good_notebook, registry_with, run

    monkeypatch.setenv(wb.PREVIEWS_ENV, "1")
    events = []
    for name in ("start", "submit", "finish"):
        original = getattr(previews.PreviewWorker, name)

        def record(self, *a, _name=name, _original=original, **k):
            events.append((_name, Path(a[0]).parent.name) if _name == "submit" else _name)
            return _original(self, *a, **k)

        monkeypatch.setattr(previews.PreviewWorker, name, record)
    execute = batch.execute_run
    monkeypatch.setattr(batch, "execute_run", lambda spec, *a: events.append("execute") or execute(spec, *a))
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    with registry_with(shared=GOOD_METRICS):
        code, out = run(tmp_path, "good")
    assert code == 0 and "without previews" not in out and "] warning" not in out, out
    assert events == ["start", "execute", ("submit", "good"), ("submit", "good"), "finish"], events
    assert png_size(tmp_path / "reports" / "good" / wb.PREVIEW_FILE) == (600, 400)


def test_the_runner_previews_what_it_ran_and_what_has_no_preview(tmp_path, monkeypatch, stable_helpers):
    from notebook_factory import GOOD_METRICS, good_notebook, registry_with, run

    monkeypatch.setenv(wb.PREVIEWS_ENV, "1")
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    preview = tmp_path / "reports" / "good" / wb.PREVIEW_FILE
    with registry_with(shared=GOOD_METRICS):
        code, out = run(tmp_path, "good")
        assert code == 0 and "without previews" not in out and "] warning" not in out, out
        assert png_size(preview) == (600, 400)
        before = preview.stat().st_mtime_ns
        code, out = run(tmp_path, "good")  # skipped: its preview is there already
        assert code == 0 and "skipped" in out and preview.stat().st_mtime_ns == before, out
        preview.unlink()
        code, out = run(tmp_path, "good")  # skipped, but its preview was missing
        assert code == 0 and "skipped" in out and png_size(preview) == (600, 400), out
    assert '<img src="good/preview.png"' in (tmp_path / "reports" / "index.html").read_text()


# --- real reports --------------------------------------------------------------------------------


def _declares(notebook: str, parameter: str) -> bool:
    from helpers.runner import read_notebook_info

    info = read_notebook_info(ROOT / "notebooks" / f"{notebook}.ipynb")
    return any(p.name == parameter for p in info.parameters)


def _runs(tmp: Path) -> list[dict]:
    one_customer = tmp / "one_customer.csv"
    one_customer.write_text("customer_id,date,amount\nC1,2024-01-05,10\nC1,2024-02-05,12\nC1,2024-03-09,9\n")
    quality = {"input_file": str(DATA / "synthetic" / "transactions_messy.csv"), "kind": "transactions"}
    if _declares("data_quality", "include_customer_detail"):
        quality["include_customer_detail"] = True
    runs = {
        "data_quality": {
            "name": "dq-messy",
            "notebook": "data_quality",
            "title": "Data quality: a messy export <checked in a browser>",
            "parameters": quality,
            "key_metrics": ["rows.input_file.read", "rows.input_file.quarantined"],
        },
        "clv": {
            "name": "clv-cdnow",
            "notebook": "clv",
            "title": "Customer lifetime value: CDNOW",
            "parameters": {"transactions": str(DATA / "cdnow" / "cdnow_sample_transactions.csv"), "time_unit": "W"},
            "key_metrics": ["customers", "clv.total"],
        },
    }
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    extra = [n for n in notebooks if n not in runs]  # a notebook added later runs with its defaults
    chosen = [runs[n] for n in notebooks if n in runs] + [{"name": n, "notebook": n} for n in extra]
    failing = {
        "name": "clv-fails",
        "notebook": "clv",
        "title": "CLV on one customer (fails on purpose)",
        "parameters": {"transactions": str(one_customer), "calibration_end": None, "observation_end": None},
    }
    return [*chosen, failing]


@pytest.fixture(scope="session")
def real_reports(tmp_path_factory):
    """One ``workbench run`` of every notebook plus a failing run, with previews; built once per
    test session and shared by the pytest-xdist workers."""

    def build(tmp: Path) -> dict:
        runs = _runs(tmp)
        (tmp / "reports.yaml").write_text(yaml.safe_dump({"runs": runs}, sort_keys=False))
        proc = subprocess.run(
            [sys.executable, "-m", "helpers", "run", "--config", str(tmp / "reports.yaml"),
             "--notebooks-dir", str(ROOT / "notebooks"), "--output-dir", str(tmp / "out"), "--jobs", "2"],
            cwd=tmp, capture_output=True, text=True, timeout=900,
            env={**os.environ, "WORKBENCH_MEMORY_LIMIT": "2GB", wb.PREVIEWS_ENV: "1"},
        )  # fmt: skip
        return {"code": proc.returncode, "out": proc.stdout + proc.stderr, "runs": runs}

    tmp, result = build_once(tmp_path_factory, "browser-reports", build)
    return tmp / "out", result["code"], result["out"], result["runs"]


def test_the_runner_wrote_a_preview_of_every_report(real_reports):
    out, code, output, runs = real_reports
    assert code == 1, output  # the failing run, and only it
    assert "without previews" not in output and "warning: preview" not in output, output
    for run in runs:
        state = json.loads((out / run["name"] / "run.json").read_text())
        assert state["status"] == ("failed" if run["name"] == "clv-fails" else "ok"), (run["name"], output[-3000:])
        preview = out / run["name"] / wb.PREVIEW_FILE
        assert png_size(preview) == (600, 400), run["name"]
        assert 5_000 < preview.stat().st_size < 500_000, (run["name"], preview.stat().st_size)


def test_every_report_and_the_index_pass_the_browser_checks(real_reports, browser):
    out, _, _, runs = real_reports
    pages = [out / r["name"] / "report.html" for r in runs] + [out / "index.html"]
    found = {p: browser.check(p, [1200, 600]) for p in pages}  # a desktop window and a narrow one
    problems = {str(p.relative_to(out)): v for p, v in found.items() if v}
    assert not problems, "\n".join(f"{name}:\n  " + "\n  ".join(v) for name, v in problems.items())


def test_the_index_shows_every_preview_and_the_failed_run(real_reports, browser):
    out, _, _, runs = real_reports
    tab = browser.new_page()
    try:
        tab.goto((out / "index.html").as_uri())
        thumbs = tab.evaluate(
            """() => Array.from(document.images).map((img) => [img.getAttribute('src'), img.complete && img.naturalWidth,
                img.closest('section') && img.closest('section').id])"""
        )
        failed = tab.evaluate("() => document.querySelector('#run-clv-fails').className")
    finally:
        tab.close()
    shown = {src: (width, section) for src, width, section in thumbs}
    for run in runs:
        assert shown.get(f"{run['name']}/{wb.PREVIEW_FILE}") == (600, f"run-{run['name']}"), (run["name"], thumbs)
    assert "wb-run-failed" in failed
    banner = (out / "clv-fails" / "report.html").read_text()
    assert "problem with the data" in banner
