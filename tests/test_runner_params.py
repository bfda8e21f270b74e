"""helpers.runner.params and .notebook: the parameters-cell parser, type, choice and range checks,
and what the runner reads from a notebook without executing it."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from helpers import runner
from helpers.runner import Parameter, WorkbenchError
from notebook_factory import good_notebook, params_cell, write_nb


def test_parse_parameters_names_types_defaults_help():
    src = (
        "import math\n"
        'time_unit: str = "W"  # unit of time (D, W or M)\n'
        "churn_threshold: float = 0.3  # probability below which a customer counts as lost\n"
        "# number of customers\n# to show\n"
        "top = 10\n"
        "columns: dict = {\n    'a': 1,  # inner comment\n    'b': 2,\n}\n"
        "cutoff: str | None = None\n"
        "scale = (1, 5)  # answer scale\n"
        "derived: float = math.pi / 2  # computed\n"
        "required_one: int  # must be given\n"
    )
    params = {p.name: p for p in runner.parse_parameters(src)}
    assert list(params) == [
        "time_unit",
        "churn_threshold",
        "top",
        "columns",
        "cutoff",
        "scale",
        "derived",
        "required_one",
    ]
    assert params["time_unit"] == Parameter("time_unit", "str", "W", '"W"', "unit of time (D, W or M)")
    assert params["churn_threshold"].type == "float" and params["churn_threshold"].default == 0.3
    assert (
        params["top"].type == "int"
        and params["top"].default == 10
        and params["top"].help == "number of customers to show"
    )
    assert params["columns"].default == {"a": 1, "b": 2} and params["columns"].help == "inner comment"
    assert params["cutoff"].type == "str | None" and params["cutoff"].default is None and params["cutoff"].help == ""
    assert params["scale"].type == "tuple" and params["scale"].default == (1, 5)
    assert params["derived"].literal is False and params["derived"].default_source == "math.pi / 2"
    assert params["required_one"].required and params["required_one"].describe_default() == "(required)"


def test_parse_parameters_rejects_invalid_python():
    with pytest.raises(WorkbenchError, match="not valid Python"):
        runner.parse_parameters("x: int = = 3")


def test_read_notebook_info(tmp_path):
    info = runner.read_notebook_info(good_notebook(tmp_path / "good.ipynb"))
    assert [p.name for p in info.parameters] == ["n", "label", "start"]
    assert info.title == "A good notebook"
    assert info.kernel_name == "python3"
    # what the notebook does is hashed, not incidental outputs/metadata
    nb = nbformat.read(tmp_path / "good.ipynb", as_version=4)
    nb.cells[2].outputs = [new_output("stream", name="stdout", text="x")]
    nb.cells[2].execution_count = 5
    nbformat.write(nb, tmp_path / "good.ipynb")
    assert runner.read_notebook_info(tmp_path / "good.ipynb").content_hash == info.content_hash
    nb.cells[2].source += "\n# changed"
    nbformat.write(nb, tmp_path / "good.ipynb")
    assert runner.read_notebook_info(tmp_path / "good.ipynb").content_hash != info.content_hash


def test_check_value_types():
    p = lambda typ: Parameter("x", typ, None, "None", "")  # noqa: E731
    assert runner.check_value(p("str"), 2020, "2020", "nb") == "2020"  # -p x=2020 for a str
    assert runner.check_value(p("str"), False, "no", "nb") == "no"
    assert runner.check_value(p("str"), {"a": "b"}, "a: b", "nb") == "a: b"
    assert runner.check_value(p("dict | str"), {"a": "b"}, "a: b", "nb") == {"a": "b"}
    assert runner.check_value(p("float"), 1, "1", "nb") == 1
    assert runner.check_value(p("str | None"), None, "null", "nb") is None
    assert runner.check_value(p("list | str | None"), ["a"], "[a]", "nb") == ["a"]
    assert runner.check_value(p("date"), "anything", None, "nb") == "anything"  # not checked
    assert runner.check_value(p("int | str"), 3, "3", "nb") == 3  # a number stays one when int is accepted
    assert runner.check_value(p("int | str"), "auto", "auto", "nb") == "auto"
    assert runner.check_value(p("str | int | None"), True, "yes", "nb") == "yes"  # no bool: the text
    with pytest.raises(WorkbenchError, match="expects int, got abc"):
        runner.check_value(p("int"), "abc", "abc", "nb")
    with pytest.raises(WorkbenchError, match="expects float"):
        runner.check_value(p("float"), True, "true", "nb")
    with pytest.raises(WorkbenchError, match="expects list"):
        runner.check_value(p("list"), None, "null", "nb")


def test_resolve_parameters_precedence_and_unknown(tmp_path):
    info = runner.read_notebook_info(good_notebook(tmp_path / "good.ipynb"))
    values = runner.resolve_parameters(
        info,
        [
            {"n": (1, None), "label": ("yaml", None), "start": ("2021-01-01", None)},
            {"n": (2, None), "label": ("file", None)},
            {"n": (3, "3")},
        ],
    )
    assert values == {"n": 3, "label": "file", "start": "2021-01-01"}
    with pytest.raises(WorkbenchError) as err:
        runner.resolve_parameters(info, [{"nn": (1, "1"), "n": (2, "2")}])
    msg = str(err.value)
    assert "Unknown parameter 'nn' for notebook good" in msg
    assert re.search(r"^  n: int = 3 +# how many things$", msg, re.M)
    assert re.search(r'^  label: str = "alpha" +# label shown$', msg, re.M)


# --------------------------------------------------------------------------------------------
# Choices and ranges


def test_literal_annotations_give_choices():
    src = (
        "from typing import Literal\n"
        'time_unit: Literal["W", "D"] = "W"  # unit of time\n'
        "level: Literal[1, 2, 3] | None = None  # a level\n"
        'mode: typing.Optional[typing.Literal["a"]] = None  # a mode\n'
        'plain: str = "x"  # not a choice\n'
        'mixed: Literal["a"] | int = 1  # checked by type only\n'
    )
    params = {p.name: p for p in runner.parse_parameters(src)}
    assert list(params) == ["time_unit", "level", "mode", "plain", "mixed"]
    assert params["time_unit"].choices == ("W", "D")
    assert params["level"].choices == (1, 2, 3) and runner.annotation_spec(params["level"].type).optional
    assert params["mode"].choices == ("a",)
    assert params["plain"].choices is None and params["mixed"].choices is None
    assert params["time_unit"].describe_type() == "one of W, D"
    assert params["level"].describe_type() == "one of 1, 2, 3 or None"


def test_check_value_accepts_only_listed_choices():
    unit = Parameter("time_unit", 'Literal["W", "D"]', "W", '"W"', "unit of time")
    level = Parameter("level", "Literal[1, 2] | None", None, "None", "")
    assert runner.check_value(unit, "D", "D", "clv") == "D"
    assert runner.check_value(level, 2, "2", "clv") == 2
    assert runner.check_value(level, None, "null", "clv") is None
    text = Parameter("code", 'Literal["2020", "2021"]', "2020", '"2020"', "")
    assert runner.check_value(text, 2021, "2021", "nb") == "2021"  # -p code=2021: the raw text is a choice
    with pytest.raises(WorkbenchError) as err:
        runner.check_value(unit, "M", "M", "clv")
    assert str(err.value) == "Parameter 'time_unit' of notebook clv must be one of W, D; got M."
    with pytest.raises(WorkbenchError, match="must be one of 1, 2 or null; got 3"):
        runner.check_value(level, 3, "3", "clv")
    with pytest.raises(WorkbenchError, match="must be one of W, D; got null"):
        runner.check_value(unit, None, "null", "clv")
    with pytest.raises(WorkbenchError, match="got true"):  # True is not the choice 1
        runner.check_value(Parameter("x", "Literal[1, 2]", 1, "1", ""), True, "true", "nb")


def test_range_in_help_comment_is_checked():
    src = (
        "discount_rate: float = 0.1  # annual discount rate; range [0, 1]\n"
        "margin: float = 1.0  # share kept; range (0, 1]\n"
        "horizon: int = 12  # months ahead; range [1, )\n"
        "shares: list = [0.2, 0.5]  # tier shares; range (0, 1)\n"
    )
    params = {p.name: p for p in runner.parse_parameters(src)}
    assert str(params["discount_rate"].bounds) == "[0, 1]" and str(params["margin"].bounds) == "(0, 1]"
    assert params["horizon"].bounds == runner.Bounds(1.0, None, True, False)
    assert runner.check_value(params["discount_rate"], 0, "0", "clv") == 0
    assert runner.check_value(params["margin"], 1, "1", "clv") == 1
    assert runner.check_value(params["horizon"], 10_000, "10000", "clv") == 10_000
    assert runner.check_value(params["shares"], [0.1, 0.9], "[0.1, 0.9]", "clv") == [0.1, 0.9]
    with pytest.raises(WorkbenchError) as err:
        runner.check_value(params["discount_rate"], 1.5, "1.5", "clv")
    assert str(err.value) == "Parameter 'discount_rate' of notebook clv must lie in [0, 1]; got 1.5."
    with pytest.raises(WorkbenchError, match=r"margin' of notebook clv must lie in \(0, 1\]; got 0"):
        runner.check_value(params["margin"], 0, "0", "clv")
    with pytest.raises(WorkbenchError, match="must lie in"):
        runner.check_value(params["horizon"], 0, "0", "clv")
    with pytest.raises(WorkbenchError, match=r"shares.*must lie in \(0, 1\); got \[0.5, 1\]"):
        runner.check_value(params["shares"], [0.5, 1], "[0.5, 1]", "clv")
    with pytest.raises(WorkbenchError, match="cannot read 'range \\[a, 1\\]'"):
        runner.parse_parameters("x: float = 0.5  # range [a, 1]")


def test_helper_imports_found_by_parsing_code_cells(tmp_path):
    path = write_nb(
        tmp_path / "nb.ipynb",
        [
            params_cell("n: int = 1  # n"),
            new_code_cell(
                "%matplotlib inline\n"
                "from helpers import contracts, reporting as rep\n"
                "from helpers.clv.workflow import CLVAnalysis\n"
                "import helpers.survey.scores\n"
                "def f():\n    from helpers.segmentation import models\n"
                "# from helpers.channels import x  (a comment is not an import)\n"
                "import numpy as np"
            ),
            new_code_cell("this is not python"),
        ],
    )
    info = runner.read_notebook_info(path)
    assert info.helper_imports == ("clv", "contracts", "reporting", "segmentation", "survey")
