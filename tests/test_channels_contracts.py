"""The channels domain's contracts: touchpoints keep their time of day, spend takes control columns,
costs and funnel rows that break a rule are set aside with their reason, and the counts add up."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import synth
from helpers.contracts import ContractError, validate


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_touchpoint_timestamps_keep_the_time_of_day_and_bad_ones_are_set_aside(tmp_path, engine):
    text = (
        "journey_id,timestamp,channel,conversion,value\n"
        "a,2025-03-01 09:15:00,search,0,\n"
        "a,2025-03-01 17:40:30,email,1,80.5\n"
        "b,2025-03-02 08:00:00,display,,\n"
        "b,yesterday,search,0,\n"
        "c,2025-03-03 10:00:00,,0,\n"
    )
    res = validate(write(tmp_path / "tp.csv", text), "touchpoints", engine=engine)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (5, 3, 2)
    df = res.to_pandas()
    assert df["timestamp"].tolist() == [
        pd.Timestamp("2025-03-01 09:15:00"),
        pd.Timestamp("2025-03-01 17:40:30"),
        pd.Timestamp("2025-03-02 08:00:00"),
    ]
    assert df["conversion"].tolist()[:2] == [0, 1] and pd.isna(df["conversion"].iloc[2])
    reasons = dict(zip(res.quarantine["line"], res.quarantine["reason"]))
    assert reasons == {5: "timestamp: not a date and time in format %Y-%m-%d %H:%M:%S", 6: "channel: missing"}


def test_touchpoint_timestamps_in_day_first_format_are_read_with_their_time(tmp_path, engine):
    text = "journey_id,timestamp,channel\na,13/03/2025 09:15:00,search\na,14/03/2025 18:00:00,tv\n"
    res = validate(write(tmp_path / "tp.csv", text), "touchpoints", engine=engine, date_format="%d/%m/%Y %H:%M:%S")
    assert res.to_pandas()["timestamp"].tolist() == [pd.Timestamp("2025-03-13 09:15"), pd.Timestamp("2025-03-14 18:00")]


def test_spend_controls_are_numbers_of_any_sign_and_not_channels(tmp_path, engine):
    text = "week,tv,search,price_index,sales\n2025-01-06,100,50,-1.5,900\n2025-01-13,0,60,0.5,950\n"
    res = validate(
        write(tmp_path / "s.csv", text), "spend", engine=engine, columns={"date": "week", "kpi": "sales"},
        controls=["price_index"],
    )  # fmt: skip
    df = res.to_pandas()
    assert res.rows_quarantined == 0
    assert df["price_index"].tolist() == [-1.5, 0.5] and df["tv"].tolist() == [100.0, 0.0]
    assert set(df.columns) == {"date", "tv", "search", "price_index", "kpi"}
    with pytest.raises(ContractError, match="both as spend and as control"):
        validate(tmp_path / "s.csv", "spend", engine=engine, columns={"date": "week", "kpi": "sales"},
                 channels=["tv", "price_index"], controls=["price_index"])  # fmt: skip
    with pytest.raises(ContractError, match="competitor"):
        validate(tmp_path / "s.csv", "spend", engine=engine, columns={"date": "week"}, controls=["competitor"])


def test_negative_costs_and_funnel_rows_without_a_stage_are_set_aside(tmp_path, engine):
    costs = "channel,date,cost\nsearch,2025-01-01,1200\nsocial,2025-01-01,-5\n"
    res = validate(write(tmp_path / "c.csv", costs), "costs", engine=engine)
    assert (res.rows_accepted, res.rows_quarantined) == (1, 1)
    assert res.quarantine["reason"].tolist() == ["cost: below 0"]
    funnel = "lead_id,stage,date,channel\nL1,lead,2025-01-02,search\nL1,,2025-01-05,search\nL2,lead,2025-01-03,\n"
    res = validate(write(tmp_path / "f.csv", funnel), "funnel", engine=engine)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (3, 2, 1)
    assert res.quarantine["reason"].tolist() == ["stage: missing"]


def test_simulated_touchpoints_pass_their_contract_and_aggregate_back_to_the_paths(tmp_path, engine):
    data = synth.generate("touchpoints", 3_000, seed=4)
    path = synth.write_frame(data.frame, tmp_path / "tp.csv")
    res = validate(path, "touchpoints", engine=engine)
    assert (res.rows_read, res.rows_quarantined) == (len(data.frame), 0)
    df = res.to_pandas().sort_values(["journey_id", "timestamp", "channel"], kind="stable")
    per = df.groupby("journey_id", sort=False).agg(
        path=("channel", " > ".join), conversions=("conversion", "max"), value=("value", "sum")
    )
    agg = per.groupby("path").agg(conversions=("conversions", "sum"), n=("conversions", "size"), value=("value", "sum"))
    paths = data.details["paths"].set_index("path")
    assert agg["conversions"].sum() == paths["conversions"].sum() == data.truth["n_conversions"]
    joined = agg.join(paths.add_suffix("_truth"))
    assert (joined["conversions"] == joined["conversions_truth"]).all()
    assert (joined["n"] == joined["conversions_truth"] + joined["nulls_truth"]).all()
    assert joined["value"].to_numpy() == pytest.approx(joined["conversion_value_truth"].to_numpy())
