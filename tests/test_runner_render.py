"""helpers.runner.render and .preprocess: what readers see, and how values are shown."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import runner


def test_prepare_for_report_filters_outputs():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title\n\nKept paragraph."),
            new_code_cell(
                "x",
                outputs=[
                    new_output("stream", name="stderr", text="warning!"),
                    new_output("stream", name="stdout", text="shown"),
                    new_output(
                        "execute_result", data={"text/plain": "<matplotlib.lines.Line2D at 0x7f00>"}, execution_count=1
                    ),
                ],
            ),
            new_code_cell(
                "y", outputs=[new_output("stream", name="stdout", text="gone")], metadata={"tags": ["remove-output"]}
            ),
            new_code_cell("z", outputs=[new_output("error", ename="E", evalue="v", traceback=["tb"])]),
            new_markdown_cell("after failure"),
        ]
    )
    out = runner.prepare_for_report(nb, {"cell_index": 3})
    assert [c.cell_type for c in out.cells] == ["markdown", "code"]
    assert out.cells[0].source == "Kept paragraph."
    assert [o.get("text") for o in out.cells[1].outputs] == ["shown"]


def test_external_references():
    assert runner.external_references('<img src="data:image/png;base64,xx"><a href="#x">') == []
    assert runner.external_references('<script src="https://cdn.example/x.js"></script>')
    assert runner.external_references("<style>@import url('//fonts.example/css');</style>")


def test_prepare_for_report_uses_tags_and_drops_parameter_cells():
    nb = new_notebook(
        cells=[
            new_markdown_cell("gone", metadata={"tags": ["remove-cell"]}),
            new_code_cell(
                "p = 1", outputs=[new_output("stream", name="stdout", text="params")], metadata={"tags": ["parameters"]}
            ),
            new_code_cell(
                "p = 2",
                outputs=[new_output("stream", name="stdout", text="inj")],
                metadata={"tags": ["injected-parameters"]},
            ),
            new_code_cell(
                "k", outputs=[new_output("stream", name="stdout", text="kept")], metadata={"tags": ["remove-input"]}
            ),
            new_code_cell(
                "f",
                outputs=[
                    new_output(
                        "execute_result", data={"text/plain": "<Figure size 800x400 with 1 Axes>"}, execution_count=2
                    )
                ],
            ),
        ]
    )
    out = runner.prepare_for_report(nb)
    assert [[o.get("text") for o in c.outputs] for c in out.cells] == [["kept"]]
    assert len(nb.cells) == 5  # the executed notebook itself is left as it was


def test_metric_values_are_formatted_by_kind():
    """The runner shows figures with the one set of rules in helpers.core.formats."""
    assert runner.format_metric(0.7867, "share") == "79 %"
    assert runner.format_metric(78.67, "pct") == "79 %"
    assert runner.format_metric(1234567, "int") == "1,234,567"
    assert runner.format_metric(68813.2, "money", "$") == "$68,813"
    assert runner.format_metric(1234.5, "money", "EUR") == "1,235 EUR"
    assert runner.format_metric("1997-01-01", "date") == "1997-01-01"
    assert runner.format_metric(0.2426, "float") == "0.2426" == runner.format_metric(0.2426)
    assert runner.format_metric(None, "share") == "n/a"
