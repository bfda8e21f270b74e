"""Text from data is never run: not as script in a report (stored XSS), not as a formula in a CSV
export (formula injection).

Every place data text can land in a report is checked with the same payloads: sentences
(``say``), key-figure cards, table cells and headers, chart titles, the report header (file
names, parameters, the failure banner), the index page, the data-quality report's quarantine
table and profiling sentences, and the rendered page as a whole (outputs sanitised by the
report template). Every CSV the workbench writes puts a ``'`` before a text cell a spreadsheet
would run as a formula, and leaves numbers (``-12.5``) alone.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import reporting as rep

ROOT = Path(__file__).resolve().parents[1]

PAYLOADS = [
    "<img src=x onerror=alert(6)>",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "<iframe src=x></iframe>",
    '<a href="javascript:alert(2)">click</a>',
    "![x](javascript:alert(3))",
    "<svg onload=alert(4)>",
    "<javascript:alert(5)>",
]
FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]

#: Tags that load or run something; none may come from data.
_ACTIVE_TAGS = {"script", "iframe", "img", "svg", "object", "embed", "frame", "frameset", "math", "base", "form"}


class _ActiveContent(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        ours = (tag == "img" and re.fullmatch(r"[\w.-]+/preview\.png", values.get("src") or "")) or (
            tag == "svg" and values.get("class") == "wb-spark"
        )  # the index's own thumbnails (a file beside it) and trend lines
        if tag in _ACTIVE_TAGS and not ours:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and value:
                scheme = value.strip().lower().replace("\t", "").replace("\n", "")
                if scheme.startswith(("javascript:", "vbscript:", "data:text")):
                    self.found.append(f"<{tag} {name}={value!r}>")


def active_content(html: str, allow_img_data_png: bool = False) -> list[str]:
    """Elements and attributes of ``html`` that could run script or load something."""
    parser = _ActiveContent()
    parser.feed(html)
    found = parser.found
    if allow_img_data_png:  # charts are embedded as <img src="data:image/png;base64,...">
        found = [f for f in found if f != "<img>"]
    return found


def visible_text(html: str) -> str:
    class Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    t = Text()
    t.feed(html)
    return "".join(t.parts)


# --- 16. stored XSS -----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_say_escapes_data_values_and_shows_them_as_text(payload):
    sentence = rep.say("Column **{}** has {:,} missing values.", payload, 1234)
    html = sentence._repr_html_()
    assert active_content(html) == [], html
    assert f"Column {payload} has 1,234 missing values." in visible_text(html)
    assert "<strong>" in html  # the trusted template keeps its Markdown


@pytest.mark.parametrize("payload", PAYLOADS)
def test_say_never_passes_raw_html_or_script_links_even_from_a_trusted_template(payload):
    """Defence in depth: a helper that forgot to escape still cannot put script in the report."""
    html = rep.say(f"The file {payload} was read.")._repr_html_()
    assert active_content(html) == [], html


def test_esc_makes_markdown_and_html_literal_and_keeps_one_line():
    text = "a*b*_c_ `d` # e\n- f <b>g</b> [h](i) $j$ | k"
    html = rep.say("{}", text)._repr_html_()
    assert visible_text(html).strip() == text.replace("\n", " ")
    assert "<em>" not in html and "<code>" not in html and "<li>" not in html and "<b>" not in html


def test_say_keeps_markdown_in_the_notebook_and_html_for_the_report():
    from IPython.core.formatters import format_display_data

    data, _ = format_display_data(rep.say("**{}** customers", "<b>x</b>"))
    assert data["text/markdown"] == r"**\<b\>x\</b\>** customers"
    assert "<strong>&lt;b&gt;x&lt;/b&gt;</strong>" in data["text/html"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_key_figures_labels_and_values_are_escaped(payload):
    html = rep.key_figures({payload: payload, "customers": "1,000"}).data
    assert active_content(html) == [] and visible_text(html).count(payload) == 2


def test_table_cells_headers_labels_and_index_are_escaped():
    frame = pd.DataFrame({p: [p, 1.5] for p in PAYLOADS}, index=PAYLOADS[:2])
    html = rep.table(frame, index=True, labels={PAYLOADS[0]: PAYLOADS[1]}).data
    assert active_content(html) == []
    text = visible_text(html)
    assert all(p in text for p in PAYLOADS)


def test_chart_titles_and_labels_from_data_are_drawn_as_plain_text():
    """A column called ``amount_$\\x$`` used to stop the chart (mathtext); titles are images,
    so no chart text reaches the report's HTML."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.formatters import format_display_data

    from helpers.reporting import plots

    plots.use_theme()
    name = "amount_$\\x$ <img src=x onerror=alert(6)>"
    fig = plots.bar(pd.Series([1, 2], index=[name, "b"]), title=f"Distribution of {name}", xlabel=name, ylabel="Rows")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    assert fig.axes[0].get_title(loc="left") == f"Distribution of {name}"
    data, _ = format_display_data(fig)
    assert "text/html" not in data and "text/markdown" not in data
    plt.close(fig)


def test_report_header_escapes_file_names_parameters_and_the_error_banner():
    from helpers.runner.render import jinja_env

    p = PAYLOADS[0]
    html = (
        jinja_env()
        .get_template("header.html.j2")
        .render(
            title=p,
            notebook=p,
            status="failed",
            run_date="today",
            duration="1 s",
            parameters=[{"name": p, "value": PAYLOADS[2], "help": PAYLOADS[1], "set": True}],
            inputs=[
                {
                    "name": p,
                    "file": f"{p}.csv",
                    "rows_read": "1",
                    "rows_accepted": "1",
                    "rows_quarantined": "0",
                    "sha256": p,
                    "sha_short": p,
                }
            ],
            error={"cell": 3, "message": f"Too many rows of '{p}.csv' were set aside", "source": PAYLOADS[4]},
        )
    )
    assert active_content(html) == [], html
    assert f"{p}.csv" in visible_text(html)


def test_index_page_escapes_titles_parameters_figures_and_errors(tmp_path):
    from helpers import runner

    p = PAYLOADS[0]
    folder = tmp_path / "dq-xss"
    folder.mkdir()
    state = {
        "name": "dq-xss",
        "title": p,
        "status": "failed",
        "last_action": "ran",
        "parameters": {"input_file": f"{p}.csv", "columns": {"amount": PAYLOADS[2]}},
        "error": {"cell": 3, "message": PAYLOADS[1], "source": PAYLOADS[4]},
    }
    (folder / "run.json").write_text(json.dumps(state))
    (folder / "metrics.json").write_text(json.dumps({"note": p, "rows.x.read": 3}))
    (folder / "metric_info.json").write_text(json.dumps({"note": {"label": PAYLOADS[3], "kind": "text"}}))
    (folder / "report.html").write_text("<html></html>")
    runner.write_index(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert active_content(page) == [], active_content(page)
    assert p in visible_text(page)


def _dangerous_notebook():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": " ".join(PAYLOADS)}),
        nbformat.v4.new_output("display_data", data={"text/html": " ".join(PAYLOADS), "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(7)"}),
        nbformat.v4.new_output("execute_result", data={"text/html": rep.table(pd.DataFrame({"a": [1]})).data}),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    return nb


def test_rendered_report_runs_no_script_from_any_output():
    """The report template sanitises outputs itself: raw HTML, Markdown links and script outputs
    from a notebook never become active markup (the header and tables keep their look)."""
    from helpers.runner.render import render_report

    header = {"title": "t", "notebook": "n", "status": "ok", "run_date": "", "duration": "", "parameters": []}
    page = render_report(_dangerous_notebook(), {**header, "inputs": [], "error": None}, None, ROOT / "notebooks")
    assert active_content(page) == [], active_content(page)
    assert "<script" not in page.lower()
    assert 'class="wb-table"' in page or "wb-table" in page
    assert "alert(7)" not in page


def test_profiling_sentence_escapes_reasons_and_column_names(engine, tmp_path):
    from helpers import contracts
    from helpers.quality import profiling

    p = PAYLOADS[0]
    path = tmp_path / f"{p}.csv"
    path.write_text(f"customer_id,date,amount,{p}\na,2024-01-01,1,x\nb,2024-01-02,{PAYLOADS[2]},y\n")
    loaded = contracts.load(path, "transactions", engine=engine, max_quarantined_share=1.0)
    profile = profiling.Profile(loaded)
    profile.reasons = pd.DataFrame({"reason": [f"{p}: not a number"], "rows": [1]})
    html = rep.say(profile.quality_sentence())._repr_html_()
    assert active_content(html) == [] and f"{p}: not a number" in visible_text(html)
    assert profile.quality_sentence().count("\\<img") == 1  # escaped in the Markdown itself
    table = rep.table(profile.columns).data + rep.table(loaded.quarantine).data
    assert active_content(table) == [] and p in visible_text(table) and PAYLOADS[2] in visible_text(table)


def test_notebooks_pass_data_to_say_as_values_not_in_f_strings():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            assert not re.search(r"rep\.say\(f[\"']", source) and "say(tx.describe()" not in source, (path.name, source)


def test_data_quality_report_on_a_hostile_file_runs_no_script(tmp_path):
    """End to end: a file named ``<img src=x onerror=alert(6)>.csv`` with a column of that name,
    hostile values (one of them set aside) and formulas; the report shows them all as text."""
    p = PAYLOADS[0]
    rows = [[f"c{i}", f"2024-01-{1 + i % 28:02d}", 10 + i, PAYLOADS[i % len(PAYLOADS)]] for i in range(300)]
    rows += [[PAYLOADS[1], "2024-02-01", PAYLOADS[2], FORMULAS[0]], [FORMULAS[1], "2024-02-02", 5, p]]
    data = tmp_path / f"{p}.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount", p]).to_csv(data, index=False)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "data_quality", "-p", f"input_file={json.dumps(str(data))}",
         "-p", "include_customer_detail=true", "--name", "dq-xss", "--output-dir", str(out), "--force"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    page = (out / "dq-xss" / "report.html").read_text()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert active_content(page, allow_img_data_png=True) == [], active_content(page, allow_img_data_png=True)
    imgs = [line for line in page.splitlines() if "<img" in line]
    assert all('src="data:image/png;base64,' in line for line in imgs)
    text = visible_text(page)
    assert f"{p}.csv" in text and PAYLOADS[2] in text and PAYLOADS[1] in text
    index = (out / "index.html").read_text()
    assert active_content(index) == []


def test_clv_report_on_a_hostile_file_name_and_formula_ids_runs_nothing(tmp_path, cdnow_transactions):
    """The CLV report names its input file in a sentence ("About the data"): a file called
    ``<img src=x onerror=alert(6)>.csv`` used to put a live ``<img onerror>`` in the report. Its
    ``customers.csv`` (for CRM tools) holds customer ids that are formulas, neutralised."""
    p = PAYLOADS[0]
    tx = cdnow_transactions.copy()
    first = list(tx["customer_id"].unique()[:3])
    tx["customer_id"] = tx["customer_id"].replace(dict(zip(first, [FORMULAS[0], FORMULAS[1], PAYLOADS[2]])))
    data = tmp_path / f"{p}.csv"
    tx.to_csv(data, index=False)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "clv", "-p", f"transactions={json.dumps(str(data))}",
         "--name", "clv-xss", "--output-dir", str(out), "--force"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    page = (out / "clv-xss" / "report.html").read_text()
    assert active_content(page, allow_img_data_png=True) == [], active_content(page, allow_img_data_png=True)
    assert f"{p}.csv: 6,919 rows read" in visible_text(page)
    customers = pd.read_csv(out / "clv-xss" / "customers.csv", dtype={"customer_id": str}, keep_default_na=False)
    ids = set(customers["customer_id"])
    assert {"'" + FORMULAS[0], "'" + FORMULAS[1], PAYLOADS[2]} <= ids and not ids & set(FORMULAS)


# --- 17. CSV formula injection ------------------------------------------------------------------


def test_neutralise_formula_prefixes_text_formulas_and_leaves_numbers():
    from helpers.core.io import neutralise_formula

    for value in FORMULAS:
        assert neutralise_formula(value) == "'" + value
    for value in ["-12.5", "+3", "-1,234.50", "1e-3", "plain", "", None, -12.5, 3]:
        assert neutralise_formula(value) == value


def test_write_csv_safe_neutralises_cells_and_headers_but_not_numbers(tmp_path):
    from helpers.core.io import write_csv_safe

    frame = pd.DataFrame({"=SUM(A1)": FORMULAS, "text_number": ["-12.5"] * len(FORMULAS), "n": -12.5})
    path = write_csv_safe(frame, tmp_path / "x.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == ["'=SUM(A1)", "text_number", "n"]
    assert list(back["'=SUM(A1)"]) == ["'" + f for f in FORMULAS]
    assert set(back["text_number"]) == {"-12.5"} and set(back["n"]) == {"-12.5"}
    assert not [p.name for p in tmp_path.iterdir() if p.name != "x.csv"]  # atomic: no temporary left


def test_write_csv_safe_streams_arrow_readers_from_duckdb(tmp_path):
    from helpers.core.io import write_csv_safe

    con = duckdb.connect()
    con.execute("CREATE TABLE q (line BIGINT, reason VARCHAR, amount VARCHAR, note VARCHAR)")
    con.executemany("INSERT INTO q VALUES (?, ?, ?, ?)", [(i, "bad", f, "-12.5") for i, f in enumerate(FORMULAS)])
    path = write_csv_safe(con.sql("SELECT * FROM q ORDER BY line").to_arrow_reader(batch_size=2), tmp_path / "q.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back["amount"]) == ["'" + f for f in FORMULAS]
    assert set(back["note"]) == {"-12.5"} and list(back["line"]) == [str(i) for i in range(len(FORMULAS))]


def test_write_csv_safe_on_several_threads_writes_the_bytes_of_one_thread(tmp_path, monkeypatch):
    """Slices formatted on three threads and written in order give the file one thread writes:
    rows in order, formulas neutralised in every slice, missing values, dates and quotes alike."""
    from helpers.core import io as wio

    n = 1000
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "customer_id": [FORMULAS[i % len(FORMULAS)] if i % 7 == 0 else f'c"{i}, x' for i in range(n)],
            "clv": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "tier": pd.Categorical(rng.choice(["top", "rest"], n)),
        }
    )
    monkeypatch.setattr(wio, "CSV_SLICE_ROWS", 37)
    monkeypatch.setenv("WORKBENCH_THREADS", "3")
    threaded = wio.write_csv_safe(frame, tmp_path / "threads.csv").read_bytes()
    monkeypatch.setenv("WORKBENCH_THREADS", "1")
    single = wio.write_csv_safe(frame, tmp_path / "one.csv").read_bytes()
    assert threaded == single
    back = pd.read_csv(tmp_path / "threads.csv", dtype=str, keep_default_na=False)
    assert len(back) == n and back["customer_id"].iloc[1] == 'c"1, x' and back["customer_id"].iloc[0].startswith("'")
    assert list(wio._ordered_map(lambda v: v * v, iter(range(50)), 4)) == [v * v for v in range(50)]


def test_write_table_exports_for_crm_tools_without_formulas(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    frame = pd.DataFrame({"customer_id": FORMULAS[:3], "clv": [-12.5, 0.0, 3.25]})
    text = rep.write_table(frame, "customers.csv").read_text()
    assert text.splitlines() == [
        "customer_id,clv",
        '"\'=HYPERLINK(""http://evil.example"",""click"")",-12.5',
        "\"'=cmd|' /C calc'!A0\",0",
        '"\'+1+1",3.25',
    ]


def test_quarantine_file_neutralises_formulas(tmp_path):
    """The quarantine writer (contracts) goes through the same neutralisation."""
    from helpers.contracts.checks import write_quarantine

    con = duckdb.connect()
    con.execute("CREATE TABLE quarantine (line BIGINT, reason VARCHAR, amount VARCHAR)")
    con.executemany("INSERT INTO quarantine VALUES (?, ?, ?)", [(i, "bad", f) for i, f in enumerate(FORMULAS)])
    path = write_quarantine(con, "quarantine", tmp_path / "q.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back["amount"]) == ["'" + f for f in FORMULAS]


def test_the_first_byte_gate_finds_every_slice_with_a_formula_cell():
    """The writer runs its regular expressions only on text where some cell starts with a formula
    character; the gate reads the first bytes through the Arrow buffers, so it must hold for
    slices (offsets), nulls, empty cells and both string widths."""
    import pyarrow as pa

    from helpers.core.io import _may_be_formula

    cells = ["ab", "", None, "=1+1", "x", "@SUM(A1)", "", "c", "-3", None, "\tz", "ok"]
    for kind in (pa.string(), pa.large_string()):
        arr = pa.array(cells, type=kind)
        for lo in range(len(cells)):
            for hi in range(lo, len(cells) + 1):
                expect = any(c and c[0] in "=+-@\t\r" for c in cells[lo:hi])
                assert _may_be_formula(arr.slice(lo, hi - lo)) == expect, (kind, lo, hi)
    assert not _may_be_formula(pa.array(["", ""], type=pa.string()))
    assert not _may_be_formula(pa.array([None, None], type=pa.string()))
