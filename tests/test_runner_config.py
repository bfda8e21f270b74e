"""helpers.runner.config: YAML values (-p, --params, reports.yaml), reports.yaml and run names."""

from __future__ import annotations

import pytest

from helpers import runner
from helpers.runner import WorkbenchError


def test_yaml_values_of_p_options():
    values = {
        k: v
        for k, (v, _) in runner.parse_assignments(
            [
                "a=3",
                "b=0.25",
                "c=2020-01-31",
                "d=null",
                "e=[x, 2]",
                "f={k: v, n: 1}",
                "g=W",
                "h=",
                "i=a=b",
                "j=true",
            ]
        ).items()
    }
    assert values == {
        "a": 3,
        "b": 0.25,
        "c": "2020-01-31",
        "d": None,
        "e": ["x", 2],
        "f": {"k": "v", "n": 1},
        "g": "W",
        "h": None,
        "i": "a=b",
        "j": True,
    }
    with pytest.raises(WorkbenchError, match="NAME=VALUE"):
        runner.parse_assignments(["novalue"])
    with pytest.raises(WorkbenchError, match="YAML"):
        runner.parse_assignments(["x=[1, 2"])


def test_config_checks(tmp_path):
    cfg = tmp_path / "reports.yaml"
    cfg.write_text("runs:\n  - notebook: good\n    paramters: {n: 1}\n")
    with pytest.raises(WorkbenchError, match=r"unknown key.*paramters"):
        runner.load_config(cfg)
    cfg.write_text("runs:\n  - {notebook: good}\n  - {notebook: good.ipynb}\n")
    with pytest.raises(WorkbenchError, match="used twice"):
        runner.load_config(cfg)
    cfg.write_text("runs:\n  - {name: a, notebook: good, title: T, parameters: {d: 2020-01-01}, key_metrics: [m]}\n")
    (r,) = runner.load_config(cfg)
    assert (r.name, r.notebook, r.title, r.parameters, r.key_metrics) == ("a", "good", "T", {"d": "2020-01-01"}, ["m"])


def test_run_names_longer_than_100_characters_are_refused():
    assert runner.check_run_name("a" * 100) == "a" * 100
    with pytest.raises(WorkbenchError) as err:
        runner.check_run_name("a" * 101)
    assert "101 characters long: use at most 100" in str(err.value) and "\n" not in str(err.value)


def test_yaml_file_that_is_not_utf8_text_is_one_sentence(tmp_path):
    latin1 = tmp_path / "p.yaml"
    latin1.write_bytes("label: caf\xe9\n".encode("latin-1"))
    with pytest.raises(WorkbenchError, match=r"is not UTF-8 text \(byte 10 cannot be decoded\)"):
        runner.load_yaml_file(latin1, "Parameters file")
    binary = tmp_path / "p.bin"
    binary.write_bytes(b"a: 1\n\x00\x01\x02")
    with pytest.raises(WorkbenchError, match="is a binary file, not YAML text"):
        runner.load_yaml_file(binary, "Parameters file")
