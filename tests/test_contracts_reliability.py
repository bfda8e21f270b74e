"""Data contracts on hostile input: every read reconciled with the file's own lines, and the
classes of input that used to lose rows silently, shift dates, or fail the whole file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from helpers.contracts import ContractError, DataProblem, SetAsideError, load, validate
from helpers.contracts.textscan import detect_encoding
from helpers.contracts.values import detect_decimal

DATA = Path(__file__).resolve().parents[1] / "data"
HEADER = "customer_id,date,amount\n"


def rows(n, start=0):
    return "".join(f"c{i % 50},2024-01-{1 + i % 28:02d},{i % 97}.5\n" for i in range(start, start + n))


# 1. a stray quote must not swallow the rest of the file


def test_an_unterminated_quote_stops_the_load_naming_its_line(tmp_path, engine):
    text = HEADER + rows(600) + 'c1,"2024-01-02,3.5\n' + rows(399, 601)
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ContractError, match=r"line 602: a quote \(\"\) opens there and never closes.*399 more lines"):
        validate(path, "transactions", engine=engine)


def test_a_stray_quote_closed_far_below_is_caught_too(tmp_path, engine):
    text = HEADER + rows(100) + 'c1,"2024-01-02,3.5\n' + rows(50, 101) + 'c1,2024-01-02",3.5\n' + rows(50, 152)
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ContractError, match=r"line 102: a quote .* line 103, which looks like a record"):
        validate(path, "transactions", engine=engine)


def test_a_quote_inside_a_value_is_read_as_text(tmp_path, engine):
    path = tmp_path / "t.csv"
    path.write_text('customer_id,date,amount,note\nc1,2024-01-02,3,27" screen\nc2,2024-01-03,4,ok\n')
    res = validate(path, "transactions", engine=engine)
    assert res.rows_accepted == 2 and res.to_pandas()["note"].tolist() == ['27" screen', "ok"]


# 12, 13. one huge field; records that span lines; empty lines


def test_a_huge_field_sets_its_one_row_aside_with_the_right_line(tmp_path, engine):
    lines = [f"c{i},2024-01-02,1.5,ok" for i in range(300)]
    lines[100] = "c9,2024-01-02,1.5," + "x" * 3_000_000
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount,note\n" + "\n".join(lines) + "\n")
    res = validate(path, "transactions", engine=engine)
    assert (res.rows_read, res.rows_accepted) == (300, 299)
    q = res.quarantine
    assert q["line"].tolist() == [102] and q["reason"].iloc[0].startswith("line too long")


def test_quarantine_lines_are_file_lines_when_values_hold_newlines(tmp_path, engine):
    text = (
        "customer_id,date,amount,note\n"
        'c1,2024-01-02,1.5,"a\nb"\n'  # lines 2-3
        'c2,2024-01-02,x,"c\nd\ne"\n'  # lines 4-6
        "\n"  # 7: empty
        "c3,2024-01-02,2\n"  # 8: too few fields
        "c4,2024-01-02,2,z\n"  # 9
        "c5,bad,2,z\n"  # 10
    )
    path = tmp_path / "t.csv"
    path.write_text(text)
    res = validate(path, "transactions", engine=engine)
    assert res.rows_read == 5
    assert dict(zip(res.quarantine["line"], res.quarantine["reason"])) == {
        4: "amount: not a number",
        8: "too few fields (expected 4, found 3)",
        10: "date: not a date in format %Y-%m-%d",
    }
    assert res.to_pandas()["note"].tolist() == ["a\nb", "z"]


# 5, 9. the share of rows set aside: in the summary, and a stop above the threshold


def test_the_share_set_aside_is_exposed_and_a_large_share_stops_the_load(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path / "run"))
    bad = "".join(f"c{i},13/25/2024,1\n" for i in range(30))
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(970) + bad)
    with pytest.raises(SetAsideError) as err:
        load(path, "transactions", name="orders", engine=engine)
    msg = str(err.value)
    assert msg.startswith("Too many rows of") and "30 of 1,000 (3.0 %)" in msg and "1.0 % allowed" in msg
    assert "date: not a date in format %Y-%m-%d (30 rows; e.g. line 972: date '13/25/2024')" in msg
    assert err.value.result.quarantined_share == pytest.approx(0.03)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["rows.orders.quarantined_share"] == pytest.approx(0.03)
    res = load(path, "transactions", name="orders", engine=engine, max_quarantined_share=0.05)
    assert res.quarantined_share == pytest.approx(0.03) and "3.0 % of the rows" in res.describe()
    # validate returns, with a flag the command line uses for its exit code
    res = validate(path, "transactions", engine=engine)
    assert res.over_threshold and res.threshold_message == msg


def test_nearly_everything_set_aside_is_said_first(tmp_path, engine):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "".join(f"c{i},2024-01-02,n/a\n" for i in range(50)))
    res = validate(path, "transactions", engine=engine)
    assert res.threshold_message.startswith("Nearly every row of")
    assert res.describe().startswith("Nearly every row was set aside (100 %)")


def test_the_bundled_data_passes_the_default_threshold(engine):
    res = load(DATA / "synthetic" / "transactions_messy.csv", "transactions", engine=engine, record=False)
    assert res.quarantined_share == pytest.approx(30 / res.rows_read) and res.quarantined_share < 0.01


# 9, 14. European exports, thousands separators, currency signs


def test_decimal_comma_exports_are_read(tmp_path, engine):
    text = "customer_id;date;amount\nc1;02/01/2024;1.234,56\nc2;03/01/2024;12,50\nc3;25/01/2024;-3,00\n"
    path = tmp_path / "t.csv"
    path.write_text(text)
    res = validate(path, "transactions", engine=engine)
    assert res.decimal == "," and res.rows_quarantined == 0
    assert res.to_pandas()["amount"].tolist() == [1234.56, 12.5, -3.0]
    assert res.provenance["decimal"] == ","


def test_currency_signs_and_thousands_separators_are_stripped_and_counted(tmp_path, engine):
    text = HEADER + 'c1,2024-01-02,$12.50\nc2,2024-01-02,"£1,234.00"\nc3,2024-01-02,7\nc4,2024-01-02,"1,5"\n'
    path = tmp_path / "t.csv"
    path.write_text(text)
    res = validate(path, "transactions", engine=engine)
    assert res.to_pandas()["amount"].tolist() == [12.5, 1234.0, 7.0]
    assert res.quarantine["reason"].tolist() == ["amount: not a number"]  # "1,5" is never read as 15
    assert res.currency_stripped == 2 and res.provenance["currency_stripped"] == 2
    euro = tmp_path / "e.csv"
    euro.write_text("customer_id;date;amount\nc1;2024-01-02;12,50 €\nc2;2024-01-02;3,00 EUR\n")
    assert validate(euro, "transactions", engine=engine).to_pandas()["amount"].tolist() == [12.5, 3.0]


def test_detect_decimal():
    assert detect_decimal(["1.234,56", "12,50"]) == ","
    assert detect_decimal(["12.50", "1,234.00"]) == "."
    assert detect_decimal(["1,234", "1.234"]) == "."  # alone they decide nothing


# 10, 11. encodings and compressed text


def test_encodings_are_detected_and_named(tmp_path, engine):
    assert detect_encoding("a,\u20ac\n".encode("cp1252")) == "cp1252"
    assert detect_encoding("Jos\xe9\n".encode("latin-1")) == "latin-1"
    assert detect_encoding(b"\xef\xbb\xbfa,b\n") == "utf-8-sig"
    path = tmp_path / "w.csv"
    path.write_bytes("customer_id,date,amount\nJos\xe9 \u20ac,2024-01-01,3\n".encode("cp1252"))
    with pytest.raises(ContractError, match="looks like cp1252; pass encoding='cp1252'"):
        validate(path, "transactions", engine=engine)
    res = validate(path, "transactions", encoding="auto", engine=engine)
    assert res.to_pandas()["customer_id"].tolist() == ["Jos\xe9 \u20ac"]
    assert res.provenance["encoding"] == "cp1252" and res.provenance["encoding_detected"] is True
    assert "encoding cp1252 (detected)" in res.describe()
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + rows(3)).encode())
    assert validate(bom, "transactions", engine=engine).columns["customer_id"] == "customer_id"


def test_gzip_compressed_csv_is_read(tmp_path, engine):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + rows(20) + "c9,someday,1\n")
    res = validate(path, "transactions", engine=engine)
    assert (res.rows_read, res.rows_quarantined) == (21, 1)
    assert res.quarantine["line"].tolist() == [22] and res.provenance["compression"] == "gzip"


# 2. Excel sheets


def test_excel_sheets_are_chosen_named_or_stacked(tmp_path, engine):
    path = tmp_path / "t.xlsx"
    cols = ["customer_id", "date", "amount"]
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame([["a", "2024-01-01", "1"]], columns=cols).to_excel(xl, sheet_name="Jan", index=False)
        pd.DataFrame([["b", "2024-02-01", "2"], ["c", "bad", "3"]], columns=cols).to_excel(
            xl, sheet_name="Feb", index=False
        )
    first = validate(path, "transactions", engine=engine)
    assert first.rows_read == 1 and first.provenance["sheets"] == ["Jan", "Feb"]
    assert "sheet(s) 'Jan' of 2 ('Jan', 'Feb')" in first.describe()
    assert validate(path, "transactions", sheet="Feb", engine=engine).rows_read == 2
    assert validate(path, "transactions", sheet=1, engine=engine).provenance["sheets_read"] == ["Feb"]
    both = validate(path, "transactions", sheet="all", engine=engine)
    assert both.rows_read == 3 and both.to_pandas()["sheet"].tolist() == ["Jan", "Feb"]
    assert both.quarantine[["line", "sheet"]].values.tolist() == [[3, "Feb"]]  # row 3 of its own sheet
    with pytest.raises(ContractError, match="no sheet 'Mar'; sheets: Jan, Feb"):
        validate(path, "transactions", sheet="Mar", engine=engine)


# 3. time zones


def test_time_zone_aware_timestamps_keep_their_local_date(tmp_path, engine):
    stamps = pd.to_datetime(["1997-01-18 00:00", "1997-01-18 23:30"]).tz_localize("+01:00")
    frame = pd.DataFrame({"customer_id": ["a", "b"], "date": stamps, "amount": [1.0, 2.0]})
    frame.to_parquet(tmp_path / "t.parquet")
    res = validate(tmp_path / "t.parquet", "transactions", engine=engine)
    assert res.to_pandas()["date"].dt.strftime("%Y-%m-%d").tolist() == ["1997-01-18", "1997-01-18"]
    assert res.provenance["timestamp_zones"] == {"date": "+01:00"}
    utc = validate(tmp_path / "t.parquet", "transactions", timezone="UTC", engine=engine)
    assert utc.to_pandas()["date"].dt.strftime("%Y-%m-%d").tolist() == ["1997-01-17", "1997-01-18"]
    text = tmp_path / "t.csv"
    text.write_text(HEADER + "a,1997-01-18 00:00+01:00,1\nb,1997-01-18 23:30+01:00,2\n")
    res = validate(text, "transactions", engine=engine)
    assert res.to_pandas()["date"].dt.strftime("%Y-%m-%d").tolist() == ["1997-01-18", "1997-01-18"]
    res = validate(text, "transactions", timezone="Asia/Tokyo", engine=engine)
    assert res.to_pandas()["date"].dt.strftime("%Y-%m-%d").tolist() == ["1997-01-18", "1997-01-19"]


# 22. placeholder dates


def test_sentinel_dates_are_set_aside_with_a_reason(tmp_path, engine):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows(3000) + "c1,1900-01-01,1\n" * 2 + "c2,9999-12-31,1\n")
    res = validate(path, "transactions", engine=engine)
    assert res.rows_quarantined == 3 and not res.over_threshold
    assert set(res.quarantine["reason"]) == {"date: outside 1950-01-01 to " + res.date_window[1] + " (date_window)"}
    assert res.to_pandas()["date"].min() >= pd.Timestamp("2024-01-01")
    wide = validate(path, "transactions", date_window=("1800-01-01", None), engine=engine)
    assert wide.rows_quarantined == 0
    assert validate(path, "transactions", date_window=False, engine=engine).rows_quarantined == 0


# 14. data no model can learn from


def test_data_problems_are_sentences_about_the_data(tmp_path, engine):
    one = tmp_path / "one.csv"
    one.write_text(HEADER + "c1,2024-01-02,5\nc1,2024-02-02,6\n")
    res = validate(one, "transactions", engine=engine)
    with pytest.raises(DataProblem, match=r"belong to 1 customer_id value \(c1\)"):
        res.require_usable()
    returns = tmp_path / "returns.csv"
    returns.write_text(HEADER + "c1,2024-01-02,-5\nc2,2024-02-02,-6\n")
    res = validate(returns, "transactions", engine=engine)
    assert res.data_problems() == [
        "returns.csv: no amount is positive (2 negative, 0 zero): the file holds returns or refunds only, not purchases."
    ]
    good = validate(DATA / "cdnow" / "cdnow_sample_transactions.csv", "transactions", engine=engine)
    assert good.require_usable() is good and good.stats()["ids"] == 2357
    assert good.stats(ids_up_to=5)["ids"] == 5  # counted up to what the check needs
    assert good.require_usable(min_ids=2357) is good
    with pytest.raises(DataProblem, match=r"belong to 2,357 customer_id values; a model .* at least 2,358"):
        good.require_usable(min_ids=2358)


def test_the_share_set_aside_is_a_summary_card(tmp_path):
    rows = "".join(f"C{i},2024-01-{1 + i % 28:02d},{i}.5\n" for i in range(999))
    f = tmp_path / "orders.csv"
    f.write_text("customer_id,date,amount\n" + rows + "C9,2024-01-02,abc\n")
    res = load(f, "transactions", name="orders")
    assert res.key_figure() == {"rows set aside (orders)": "1 of 1,000 (0.1 %)"}
