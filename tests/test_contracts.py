"""Data contracts: every kind of bad row is set aside with its reason, every whole-file problem is
one clear sentence, every format and delimiter reads to the same typed table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.contracts import ContractError, detect_delimiter, load, validate
from helpers.core import registry
from helpers.synth import write_messy_transactions

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow"
GOOD = [
    ("c1", "2024-01-02", "10.50", "2"),
    ("c2", "2024-01-03", "5", "1"),
    ("c1", "2024-02-01", "-3.25", "1"),
]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def csv_text(rows, sep=",", header=("customer_id", "date", "amount", "quantity")):
    lines = [sep.join(header)] if header else []
    lines += [sep.join(r) for r in rows]
    return "\n".join(lines) + "\n"


def test_good_rows_are_all_accepted_with_fixed_types(tmp_path, engine):
    res = validate(write(tmp_path / "t.csv", csv_text(GOOD)), "transactions", engine=engine)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (3, 3, 0)
    df = res.to_pandas()
    assert list(df.columns) == ["customer_id", "date", "amount", "quantity"]
    assert str(df["customer_id"].dtype) == "string"
    assert str(df["date"].dtype) == "datetime64[ns]"
    assert df["amount"].dtype == "float64"
    assert str(df["quantity"].dtype) == "Int64"
    assert df["amount"].tolist() == [10.5, 5.0, -3.25]
    assert df["date"].iloc[0] == pd.Timestamp("2024-01-02")


@pytest.mark.parametrize(
    "row, reason",
    [
        (("", "2024-01-02", "1", "1"), "customer_id: missing"),
        (("c9", "2024-13-45", "1", "1"), "date: not a date in format %Y-%m-%d"),
        (("c9", "", "1", "1"), "date: missing"),
        (("c9", "2024-01-02", "ten", "1"), "amount: not a number"),
        (("c9", "2024-01-02", "", "1"), "amount: missing"),
        (("c9", "2024-01-02", "1", "1.5"), "quantity: not a whole number"),
        (("c9", "2024-01-02", "nan", "1"), "amount: not a number"),
    ],
)
def test_each_kind_of_bad_row_is_set_aside_with_its_reason(tmp_path, engine, row, reason):
    path = write(tmp_path / "t.csv", csv_text(GOOD + [row]))
    res = validate(path, "transactions", engine=engine)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (4, 3, 1)
    q = res.quarantine
    assert q["reason"].tolist() == [reason]
    assert q["line"].tolist() == [5]  # header is line 1
    assert q["customer_id"].fillna("").tolist() == [row[0]]  # original values kept


def test_too_few_and_too_many_fields_are_set_aside_with_their_lines(tmp_path, engine):
    text = csv_text(GOOD[:1]) + "c2,2024-01-03\n" + "c3,2024-01-04,1,1,extra\n" + csv_text(GOOD[1:], header=None)
    res = validate(write(tmp_path / "t.csv", text), "transactions", engine=engine)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (5, 3, 2)
    q = res.quarantine.set_index("line")
    assert q.loc[3, "reason"] == "too few fields (expected 4, found 2)"
    assert q.loc[4, "reason"] == "too many fields (expected 4, found 5)"
    assert q.loc[3, "raw_line"] == "c2,2024-01-03"
    # rows after the broken ones keep their true line numbers
    bad = write(tmp_path / "u.csv", text + "c4,notadate,1,1\n")
    q2 = validate(bad, "transactions", engine=engine).quarantine.set_index("line")
    assert q2.loc[7, "reason"].startswith("date: not a date")
    # a broken row right after a single rejected line
    one = csv_text(GOOD[:1]) + "c2,2024-01-03\n" + "c4,notadate,1,1\n" + csv_text(GOOD[1:], header=None) + "c5,,1,1\n"
    q3 = validate(write(tmp_path / "v.csv", one), "transactions", engine=engine).quarantine
    assert dict(zip(q3["line"], q3["reason"])) == {
        3: "too few fields (expected 4, found 2)",
        4: "date: not a date in format %Y-%m-%d",
        7: "date: missing",
    }


def test_counts_add_up_and_reasons_are_counted(tmp_path, engine):
    rows = GOOD * 5 + [("", "x", "y", "1")] * 3 + [("c1", "2024-01-01", "z", "1")] * 2
    res = validate(write(tmp_path / "t.csv", csv_text(rows)), "transactions", engine=engine)
    assert res.rows_read == res.rows_accepted + res.rows_quarantined == 20
    reasons = dict(zip(res.reasons["reason"], res.reasons["rows"]))
    # a row may break several rules; each rule is counted
    assert reasons == {"amount: not a number": 5, "customer_id: missing": 3, "date: not a date in format %Y-%m-%d": 3}


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, engine, sep):
    res = validate(write(tmp_path / "t.txt", csv_text(GOOD, sep=sep)), "transactions", engine=engine)
    assert res.rows_accepted == 3
    assert res.source.delimiter == sep


def test_runs_of_whitespace_and_headerless_files_with_positions(tmp_path, engine):
    text = "  00004 0001 19970101  2  29.33\r\n00004   0001 19970118 2 29.73\r\n00005 0002 19970101 1\r\n"
    res = validate(
        write(tmp_path / "cdnow.txt", text),
        "transactions",
        columns={"customer_id": 1, "date": 2, "amount": 4, "quantity": 3},
        date_format="%Y%m%d",
        engine=engine,
    )
    assert res.source.format == "whitespace" and res.source.header is False
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (3, 2, 1)
    assert res.quarantine["reason"].tolist() == ["too few fields (expected 5, found 4)"]
    assert res.quarantine["line"].tolist() == [3]
    df = res.to_pandas()
    assert df["amount"].tolist() == [29.33, 29.73]
    assert df["date"].dt.strftime("%Y-%m-%d").tolist() == ["1997-01-01", "1997-01-18"]


def test_parquet_and_excel_read_to_the_same_table_as_csv(tmp_path, engine):
    frame = pd.DataFrame(GOOD, columns=["customer_id", "date", "amount", "quantity"])
    csv = write(tmp_path / "t.csv", csv_text(GOOD))
    typed = frame.assign(date=pd.to_datetime(frame["date"]), amount=frame["amount"].astype(float))
    typed.to_parquet(tmp_path / "t.parquet")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    expected = validate(csv, "transactions", engine=engine).to_pandas()
    for name in ("t.parquet", "t.xlsx"):
        got = validate(tmp_path / name, "transactions", engine=engine).to_pandas()
        pd.testing.assert_frame_equal(got, expected)


def test_bad_rows_in_excel_name_their_spreadsheet_row(tmp_path, engine):
    frame = pd.DataFrame(GOOD + [("c5", "someday", "1", "1")], columns=["customer_id", "date", "amount", "quantity"])
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    q = validate(tmp_path / "t.xlsx", "transactions", engine=engine).quarantine
    assert q["line"].tolist() == [5]


def test_bad_rows_in_parquet_are_set_aside_with_their_row_and_values(tmp_path, engine):
    """Parquet is checked straight from the file (a view, not a copy): set-aside rows still keep
    their row number and their values as the file holds them, and the counts add up."""
    frame = pd.DataFrame(
        {"customer_id": ["a", None, "c", "d"], "date": ["1997-01-01", "1997-01-02", "soon", "1997-01-04"]}
    ).assign(amount=[1.0, 2.0, 3.0, 4.0])
    frame.to_parquet(tmp_path / "t.parquet")
    res = validate(tmp_path / "t.parquet", "transactions", engine=engine)
    q = res.quarantine.sort_values("line")
    assert q["line"].tolist() == [2, 3] and q["date"].tolist() == ["1997-01-02", "soon"]
    assert len(res.to_pandas()) + len(q) == 4


def test_typed_parquet_columns_are_checked_in_their_own_type_with_the_same_verdicts_as_text(tmp_path, engine):
    """Dates and numbers stored as such in Parquet are checked as they are (no text round trip):
    a null is missing, NaN, infinity or 2.5 items are broken, a 1900 date is outside the window,
    and every row gets the reasons and values the same data gets as text (CSV)."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f", "g", " "],
            "date": pd.to_datetime(
                ["2024-01-01", None, "1900-01-01", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]
            ),
            "amount": [1.5, 2.0, 3.0, np.nan, np.inf, 6.0, None, 8.0],
            "quantity": pd.array([1, 2, 3, 4, 5, None, 7, 8], dtype="Int64"),
        }
    )
    frame.loc[5, "amount"] = 6.25  # with no quantity (it may be blank): accepted
    with_fraction = frame.assign(quantity=frame["quantity"].astype("Float64"))
    with_fraction.loc[2, "quantity"] = 2.5
    with_fraction["date"] = with_fraction["date"].dt.date  # a Parquet DATE column
    table = pa.Table.from_pandas(with_fraction, preserve_index=False)
    amounts = pa.array([1.5, 2.0, 3.0, float("nan"), float("inf"), 6.25, None, 8.0])  # NaN and a null
    pq.write_table(table.set_column(2, "amount", amounts), tmp_path / "t.parquet")
    text = with_fraction.astype(object).where(with_fraction.notna(), None)
    text["amount"] = ["1.5", "2.0", "3.0", "nan", "inf", "6.25", "", "8.0"]
    text.to_csv(tmp_path / "t.csv", index=False)
    native = validate(tmp_path / "t.parquet", "transactions", name="native", engine=engine)
    assert {"date": "DATE", "amount": "DOUBLE", "quantity": "DOUBLE"}.items() <= native.source.native_types.items()
    as_text = validate(tmp_path / "t.csv", "transactions", name="text", engine=engine)
    q, expected = native.quarantine.sort_values("line"), as_text.quarantine.sort_values("line")
    assert q["line"].tolist() == [2, 3, 4, 5, 7, 8]  # Parquet rows are numbered from 1, CSV lines after the header
    assert expected["line"].tolist() == [3, 4, 5, 6, 8, 9]
    assert q["reason"].tolist() == expected["reason"].tolist()
    assert q["reason"].str.contains("date: missing").tolist() == [True] + [False] * 5
    assert "not a whole number" in q["reason"].iloc[1] and "outside 1950-01-01" in q["reason"].iloc[1]
    assert q["amount"].tolist()[2:4] == ["nan", "inf"] and pd.isna(q["amount"].iloc[4])  # as the file holds them
    assert q["reason"].tolist()[2:5] == ["amount: not a number", "amount: not a number", "amount: missing"]
    pd.testing.assert_frame_equal(native.to_pandas(), as_text.to_pandas())
    assert native.rows_accepted + native.rows_quarantined == 8


def test_column_mapping_and_case_insensitive_names(tmp_path, engine):
    text = csv_text(GOOD, header=("Customer ID", "Order Date", "Revenue", "QUANTITY"))
    res = validate(
        write(tmp_path / "t.csv", text),
        "transactions",
        columns={"customer_id": "customer id", "date": "Order Date", "amount": "Revenue"},
        engine=engine,
    )
    assert res.columns == {
        "customer_id": "Customer ID",
        "date": "Order Date",
        "amount": "Revenue",
        "quantity": "QUANTITY",
    }
    assert res.to_pandas()["amount"].sum() == pytest.approx(12.25)


def test_date_formats_are_detected_and_ambiguity_is_an_error(tmp_path, engine):
    rows = [("c1", "25/12/2024", "1", "1"), ("c2", "01/02/2024", "2", "1")]
    res = validate(write(tmp_path / "t.csv", csv_text(rows)), "transactions", engine=engine)
    assert res.date_format == "%d/%m/%Y"
    assert res.to_pandas()["date"].tolist() == [pd.Timestamp("2024-12-25"), pd.Timestamp("2024-02-01")]
    ambiguous = [("c1", "01/02/2024", "1", "1"), ("c2", "03/04/2024", "2", "1")]
    with pytest.raises(ContractError, match="day-first or month-first"):
        validate(write(tmp_path / "a.csv", csv_text(ambiguous)), "transactions", engine=engine)
    res = validate(tmp_path / "a.csv", "transactions", date_format="%m/%d/%Y", engine=engine)
    assert res.to_pandas()["date"].iloc[0] == pd.Timestamp("2024-01-02")


def test_whole_file_problems_are_one_clear_sentence(tmp_path, engine):
    with pytest.raises(ContractError, match=r"'.*nowhere.csv' does not exist \(input 'transactions'"):
        validate(tmp_path / "nowhere.csv", "transactions", engine=engine)
    with pytest.raises(ContractError, match="is empty"):
        validate(write(tmp_path / "empty.csv", ""), "transactions", engine=engine)
    with pytest.raises(ContractError, match="has no data rows"):
        validate(write(tmp_path / "header.csv", "customer_id,date,amount\n"), "transactions", engine=engine)
    with pytest.raises(ContractError) as err:
        validate(
            write(tmp_path / "noamount.csv", "customer_id,date,price\nc1,2024-01-01,3\n"), "transactions", engine=engine
        )
    msg = str(err.value)
    assert "noamount.csv" in msg and "'amount'" in msg and "columns found: customer_id, date, price" in msg
    assert "\n" not in msg
    with pytest.raises(ContractError, match="not valid UTF-8 text"):
        validate(
            write(tmp_path / "latin.csv", "customer_id,date,amount\nJos\xe9,2024-01-01,3\n", "latin-1"),
            "transactions",
            engine=engine,
        )
    with pytest.raises(ContractError, match="not text"):
        validate(write(tmp_path / "bin.csv", b"\x00\x01\x02customer_id"), "transactions", engine=engine)
    with pytest.raises(ValueError, match="Unknown kind"):
        validate(tmp_path / "empty.csv", "orders", engine=engine)


def test_latin1_files_read_when_the_encoding_is_given(tmp_path, engine):
    path = write(tmp_path / "latin.csv", "customer_id,date,amount\nJos\xe9,2024-01-01,3\n", "latin-1")
    res = validate(path, "transactions", encoding="latin-1", engine=engine)
    assert res.to_pandas()["customer_id"].tolist() == ["Jos\xe9"]


def test_load_records_metrics_inputs_and_the_quarantine_file(tmp_path, engine, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(run))
    path = write(tmp_path / "t.csv", csv_text(GOOD + [("c9", "2024-01-02", "oops", "1")]))
    res = load(path, "transactions", name="orders", engine=engine, max_quarantined_share=1.0)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics.pop("rows.orders.quarantined_share") == 0.25  # added with the share of rows set aside
    assert metrics.pop("engine") == "duckdb"  # every load records the engine that read it
    assert metrics == {"rows.orders.read": 4, "rows.orders.accepted": 3, "rows.orders.quarantined": 1}
    inputs = json.loads((run / "inputs.json").read_text())
    assert inputs["orders"]["sha256"] == res.sha256 and inputs["orders"]["rows_read"] == 4
    assert inputs["orders"]["engine"].startswith("DuckDB ")
    q = pd.read_csv(run / "quarantine" / "orders.csv", dtype=str)
    assert q[["line", "reason", "customer_id", "amount"]].values.tolist() == [
        ["5", "amount: not a number", "c9", "oops"]
    ]
    assert "1 set aside (amount: not a number: 1)" in res.describe()


def test_customers_contract_sets_aside_duplicate_ids_after_the_first(tmp_path, engine):
    text = "customer_id,region,signup_date\nA,North,2024-01-01\nB,South,2024-01-02\nA,East,2024-01-03\n"
    res = validate(write(tmp_path / "c.csv", text), "customers", engine=engine)
    assert res.rows_accepted == 2
    assert res.quarantine[["line", "reason", "region"]].values.tolist() == [[4, "customer_id: duplicate", "East"]]


def test_responses_contract_checks_the_answer_scale(tmp_path, engine):
    text = "respondent_id,region,q1,q2\nr1,N,5,3\nr2,S,11,2\nr3,S,,\nr4,N,x,1\nr5,N,4,\n"
    res = validate(write(tmp_path / "s.csv", text), "responses", items=["q1", "q2"], scale=(0, 10), engine=engine)
    reasons = dict(zip(res.quarantine["line"], res.quarantine["reason"]))
    assert reasons == {3: "q1: outside scale 0-10", 4: "no answers", 5: "q1: not a number"}
    df = res.to_pandas()
    assert df["q2"].isna().tolist() == [False, True]  # a blank answer is kept as missing
    assert str(df["region"].dtype) == "string"


def test_journeys_and_spend_contracts(tmp_path, engine):
    journeys = "path,conversions,nulls,conversion_value\nsearch > email,3,10,120.5\ndirect,-1,2,0\n,1,1,1\n"
    res = validate(write(tmp_path / "j.csv", journeys), "journeys", engine=engine)
    assert dict(zip(res.quarantine["line"], res.quarantine["reason"])) == {
        3: "conversions: below 0",
        4: "path: missing",
    }
    spend = "date,tv,search,kpi\n2024-01-01,100,50,1000\n2024-01-08,-5,50,900\n2024-01-15,10,20,\n"
    res = validate(write(tmp_path / "s.csv", spend), "spend", engine=engine)
    assert res.quarantine["reason"].tolist() == ["tv: below 0"]
    assert list(res.to_pandas().columns) == ["date", "kpi", "tv", "search"]


def test_ibis_table_runs_on_the_same_engine(tmp_path, engine):
    res = validate(write(tmp_path / "t.csv", csv_text(GOOD)), "transactions", engine=engine)
    t = res.table
    out = engine.execute(t.group_by("customer_id").agg(total=t.amount.sum()).order_by("customer_id"))
    assert out["total"].tolist() == [pytest.approx(7.25), pytest.approx(5.0)]


def test_detect_delimiter_prefers_consistent_splits():
    assert detect_delimiter(["a;b;c", "1;2,5;3", "4;5,0;6"]) == ";"
    assert detect_delimiter(['"x, y",2', '"z, w",3']) == ","
    assert detect_delimiter(["a  b c", "1 2   3"]) == "whitespace"


def test_planted_defects_in_a_messy_export_are_all_found(tmp_path, engine):
    planted = write_messy_transactions(tmp_path / "messy.csv", rows=3_000, seed=3, defects_per_kind=4)
    res = validate(tmp_path / "messy.csv", "transactions", engine=engine)
    assert res.source.delimiter == ";" and res.date_format == "%d/%m/%Y"
    assert res.rows_read == planted["rows"]
    assert dict(zip(res.reasons["reason"], res.reasons["rows"])) == planted["defects"]
    assert res.rows_accepted == planted["rows"] - sum(planted["defects"].values())
    # returns and zero-value orders are valid rows by contract: the CLV summary decides about them
    df = res.to_pandas()
    assert (df["amount"] < 0).sum() > 0 and (df["amount"] == 0).sum() > 0


def test_the_kinds_are_the_ones_the_domains_declare():
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
    owners = {c.kind: d.name for d in registry.domains().values() for c in d.kinds}
    assert owners == {
        "transactions": "clv",
        "customers": "segmentation",
        "responses": "survey",
        **dict.fromkeys(("journeys", "touchpoints", "spend", "costs", "funnel"), "channels"),
    }


def test_the_bundled_cdnow_sample_meets_the_transactions_contract(engine, cdnow_transactions):
    res = validate(CDNOW / "cdnow_sample_transactions.csv", "transactions", engine=engine)
    assert (res.rows_read, res.rows_quarantined) == (len(cdnow_transactions), 0)
    df = res.to_pandas()
    assert df["customer_id"].tolist() == cdnow_transactions["customer_id"].tolist()
    assert df["amount"].sum() == pytest.approx(cdnow_transactions["amount"].sum())


def test_optional_columns_not_asked_for_are_neither_checked_nor_kept(tmp_path, engine):
    """``optional=()``: an analysis that uses only the required columns does not lose a purchase
    to a bad value in a column it never reads, and the checked table holds only what it uses."""
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,date,amount,quantity,channel\n"
        "c1,2024-01-02,5.0,2,web\n"
        "c2,2024-01-03,6.0,two,shop\n"  # quantity is not a whole number
        "c3,not a date,7.0,1,web\n"
    )
    every = validate(path, "transactions", engine=engine)
    assert (every.rows_accepted, every.rows_quarantined) == (1, 2)
    assert {"quantity", "channel"} <= set(every.to_pandas().columns)
    used = validate(path, "transactions", engine=engine, optional=())
    assert (used.rows_read, used.rows_accepted, used.rows_quarantined) == (3, 2, 1)
    assert set(used.quarantine["reason"]) == {"date: not a date in format %Y-%m-%d"}
    assert list(used.to_pandas().columns) == ["customer_id", "date", "amount"]
    some = validate(path, "transactions", engine=engine, optional=["channel"])
    assert some.rows_accepted == 2 and list(some.to_pandas().columns) == ["customer_id", "date", "amount", "channel"]
    with pytest.raises(ContractError, match=r"'basket' is not an optional column of the transactions contract"):
        validate(path, "transactions", engine=engine, optional=["basket"])
