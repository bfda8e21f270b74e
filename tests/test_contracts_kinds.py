"""Contract kinds come from the domains' registrations: declared once, light to import, with
each kind's special handling as hooks; loading under one name again replaces, never piles up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import contracts
from helpers.contracts import Contract, ContractError, Field, load, validate
from helpers.core import registry
from helpers.core.engine import Engine


def test_registry_lists_all_eight_kinds_each_with_a_simulator():
    assert set(registry.kind_names()) == {
        "transactions",
        "customers",
        "responses",
        "journeys",
        "touchpoints",
        "spend",
        "costs",
        "funnel",
    }
    assert set(registry.simulated_kinds()) == set(registry.kind_names())
    assert all(isinstance(c, Contract) for c in registry.contracts().values())
    # the package's KINDS / CONTRACTS are the registry's, not a second list
    assert registry.kind_names() == contracts.KINDS and registry.contracts() == contracts.CONTRACTS


def test_discovering_the_domains_imports_no_numpy_pandas_or_duckdb():
    code = (
        "import json, sys\n"
        "from helpers.core import registry\n"
        "registry.domains(); registry.kind_names(); registry.simulated_kinds()\n"
        "print(json.dumps(sorted(m for m in ('numpy', 'pandas', 'duckdb', 'pyarrow', 'ibis', 'scipy') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_contracts_register_the_shared_row_count_metrics_with_labels():
    labels = {m.name: m.label for m in registry.metrics_for([])}
    assert labels["rows.{input}.read"] == "Rows read"
    assert labels["rows.{input}.accepted"] == "Rows accepted"
    assert labels["rows.{input}.quarantined"] == "Rows set aside"
    assert registry.find_metric("rows.orders.quarantined").kind == "int"


def test_loading_again_under_the_same_name_replaces_its_tables(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-01,1\nc2,2024-01-02,x\n")
    engine = Engine()

    def relations():
        tables = engine.con.sql("SELECT count(*) FROM duckdb_tables() WHERE NOT internal").fetchall()[0][0]
        views = engine.con.sql("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall()[0][0]
        return tables + views

    before = relations()
    counts = []
    for _ in range(3):
        res = validate(path, "transactions", name="orders", engine=engine)
        counts.append(relations())
    assert counts[0] == counts[1] == counts[2] <= before + 3  # accepted, quarantine and the checked rows
    assert (res.rows_accepted, res.rows_quarantined) == (1, 1)
    # another name is another set of tables, and both stay readable
    other = validate(path, "transactions", name="refunds", engine=engine)
    assert relations() == counts[0] + (counts[0] - before)
    assert res.to_pandas()["customer_id"].tolist() == other.to_pandas()["customer_id"].tolist() == ["c1"]
    engine.close()


def test_a_failed_load_leaves_no_intermediate_tables(tmp_path):
    engine = Engine()
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date\nc1,2024-01-01\n")
    with pytest.raises(ContractError):
        validate(bad, "transactions", engine=engine)
    assert engine.con.sql("SELECT count(*) FROM duckdb_tables() WHERE NOT internal").fetchall()[0][0] == 0
    engine.close()


def test_kind_options_go_to_their_kind_and_unknown_options_are_type_errors(tmp_path, engine):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-01,1\n")
    # a notebook passes the responses options whatever the kind: None and other kinds' options are ignored
    res = validate(path, "transactions", items=None, scale=None, channels=None, engine=engine)
    assert res.rows_accepted == 1
    with pytest.raises(TypeError, match="'colour'"):
        validate(path, "transactions", colour="red", engine=engine)


def test_a_kind_declares_its_special_handling_as_hooks():
    survey, channels = registry.domain("survey"), registry.domain("channels")
    (responses,) = survey.kinds
    spend = next(c for c in channels.kinds if c.kind == "spend")
    assert responses.options == ("items", "scale", "missing_codes") and responses.extra_fields and responses.extra_rules
    assert spend.options == ("channels", "controls") and spend.extra_fields
    assert registry.contracts()["customers"].unique == "customer_id"
    with pytest.raises(ValueError, match="type must be one of"):
        Field("x", "money")


def test_spend_and_answer_columns_that_are_not_there_are_one_sentence(tmp_path, engine):
    spend = tmp_path / "s.csv"
    spend.write_text("date,tv,kpi\n2024-01-01,1,2\n")
    with pytest.raises(ContractError, match=r"has no spend column\(s\) 'radio'; columns found: date, tv, kpi\."):
        validate(spend, "spend", channels=["tv", "radio"], engine=engine)
    only_date = tmp_path / "d.csv"
    only_date.write_text("date,kpi\n2024-01-01,2\n")
    with pytest.raises(ContractError, match="no spend columns besides the date and KPI"):
        validate(only_date, "spend", engine=engine)
    survey = tmp_path / "r.csv"
    survey.write_text("respondent_id,q1\nr1,3\n")
    with pytest.raises(ContractError, match=r"no answer column\(s\) 'q2'"):
        validate(survey, "responses", items=["q1", "q2"], engine=engine)
    with pytest.raises(ContractError, match=r"no answer columns matching 'x\.\*'"):
        validate(survey, "responses", items="x.*", engine=engine)
    res = validate(survey, "responses", items="q.*", scale=(1, 5), engine=engine)
    assert res.rows_accepted == 1 and res.schema["q1"] == "number"


def test_load_writes_the_quarantine_file_atomically_and_readable(tmp_path, engine):
    path = tmp_path / "t.csv"
    path.write_text('customer_id,date,amount\nc1,2024-01-01,1\n"c,2",2024-01-02,x\n')
    res = load(
        path,
        "transactions",
        name="orders",
        engine=engine,
        record=False,
        quarantine_dir=tmp_path / "q",
        max_quarantined_share=1.0,  # 1 of 2 rows set aside would stop the load
    )
    text = res.quarantine_path.read_text()
    assert text.splitlines()[0] == "line,reason,customer_id,date,amount,raw_line"
    assert '"c,2"' in text and "amount: not a number" in text
    assert [p.name for p in (tmp_path / "q").iterdir()] == ["orders.csv"]
