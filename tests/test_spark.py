"""Spark parity: the same contracts, aggregations and notebooks give the same answers on Spark
``local[2]`` as on DuckDB: counts exactly, parameters to 1e-6 relative, the same rows set aside
with the same lines and reasons.

Needs pyspark (``make setup-spark``) and Java 17. Without them the tests are skipped, unless
``WORKBENCH_REQUIRE_SPARK=1`` (set by ``.ci/run``), which turns the skip into a failure so that CI
cannot pass without running them. The in-process tests share one xdist group, so one worker
(and one Spark session) runs them; the notebook runs, whose kernels each start their own Spark
session, are another group, so that the second worker runs them meanwhile.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import test_engine  # noqa: F401  (imports every helper module, so that every expression is registered)
from helpers.contracts import ContractError, validate
from helpers.core import spark as spark_mod
from helpers.core.engine import PORTABLE_EXPRESSIONS, Engine, engine_name, set_default_engine
from notebook_factory import build_once
from test_end_to_end import reports  # noqa: F401  (the DuckDB side of the notebook parity)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("spark")
REL = 1e-6


def _require_spark() -> None:
    try:
        spark_mod.check_available()
    except spark_mod.EngineUnavailable as err:
        if os.environ.get("WORKBENCH_REQUIRE_SPARK") == "1":
            pytest.fail(f"WORKBENCH_REQUIRE_SPARK=1 but {err}")
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def engines():
    _require_spark()
    duck = Engine()
    spark = set_default_engine(engine="spark")
    set_default_engine(engine="duckdb")  # leave the process default as the other tests expect it
    yield {"duckdb": duck, "spark": spark}
    duck.close()


# --------------------------------------------------------------------------------------------
# Engine settings


def test_engine_name_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("WORKBENCH_ENGINE", raising=False)
    assert engine_name() == "duckdb"
    monkeypatch.setenv("WORKBENCH_ENGINE", "Spark")
    assert engine_name() == "spark"
    assert engine_name("duckdb") == "duckdb"  # the notebook parameter wins
    monkeypatch.setenv("WORKBENCH_ENGINE", "polars")
    with pytest.raises(ValueError, match="WORKBENCH_ENGINE must be one of duckdb, spark, not 'polars'"):
        engine_name()


def test_spark_settings_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("SPARK_MASTER", raising=False)
    assert spark_mod.master() == "local[2]"
    monkeypatch.setenv("SPARK_MASTER", "spark://cluster:7077")
    assert spark_mod.master() == "spark://cluster:7077"
    monkeypatch.setenv("WORKBENCH_SPARK_CONF", "spark.driver.memory=8g; spark.sql.shuffle.partitions=200\n")
    conf = spark_mod.spark_conf()
    assert conf["spark.driver.memory"] == "8g" and conf["spark.sql.shuffle.partitions"] == "200"
    assert conf["spark.sql.session.timeZone"] == "UTC"  # defaults kept
    monkeypatch.setenv("WORKBENCH_SPARK_CONF", "driver.memory=8g")
    with pytest.raises(ValueError, match=r"expected spark\.key=value pairs"):
        spark_mod.spark_conf()


def test_missing_java_is_named_with_the_way_to_get_it(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setattr(spark_mod.shutil, "which", lambda _: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(spark_mod.EngineUnavailable, match="openjdk-17-jre-headless"):
        spark_mod.check_available()


def test_missing_pyspark_is_named_with_the_way_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    with pytest.raises(spark_mod.EngineUnavailable, match=r'pip install -e "\.\[spark\]" \(or make setup-spark\)'):
        spark_mod.check_available()


def test_duckdb_functions_spark_lacks_are_rewritten():
    import sqlglot

    def spark(sql):
        return spark_mod.to_spark_sql(sqlglot.parse_one(sql, read="duckdb"))

    assert spark("SELECT regexp_full_match(a, '\\d+')") == "SELECT a RLIKE '^(?:\\\\d+)$'"
    assert spark("SELECT isinf(x)") == "SELECT ABS(x) = CAST('Infinity' AS DOUBLE)"
    assert spark("SELECT try_strptime(a, '%d/%m/%Y')") == "SELECT TO_TIMESTAMP(a, 'd/M/yyyy')"
    assert spark_mod.java_format("%Y-%m-%dT%H:%M:%S%z") == "yyyy-M-d'T'H:m:s[XXX][XX]"


# --------------------------------------------------------------------------------------------
# Contracts: the same rows accepted and set aside, with the same lines and reasons


def _write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def _cases(tmp: Path) -> dict[str, tuple[Path, str, dict]]:
    messy = ROOT / "data" / "synthetic" / "transactions_messy.csv"
    spanning = (
        'customer_id,date,amount,note\r\nA,2024-01-01,1,"two\nlines"\r\n\r\nB,2024-01-02,x,ok\r\n'
        "C,2024-01-03\r\n\r\n\r\nD,2024-01-04,4,,extra\r\nE,1900-01-01,5,old\r\nF,2024-01-05,6,fine\r\n"
    )
    comma = 'customer_id;date;amount\nA;01.02.2024;"1.234,50 €"\nB;02.02.2024;12,5\nC;03.02.2024;abc\nD;04.02.2024;\n'
    customers = "customer_id,region,signup_date\nA,North,2024-01-01\nB,,2024-01-02\nA,East,2024-01-03\n ,West,\n"
    latin = "customer_id,date,amount\nJos\xe9,2024-01-01,3\nRen\xe9e,2024-01-02,\u20ac4\n"
    whitespace = "customer_id  date   amount\nA 2024-01-01 1.5\nB   2024-01-02  2\nC 2024-01-03\n\nD 2024-01-04 x\n"
    responses = "respondent_id,q1,q2,q3\nr1,1,5,3\nr2,0,9,\nr3,2,x,4\nr1,3,3,3\n"
    headerless = "A|2024-01-01|1\nB|2024-01-02|2\nC|not a date|3\n"
    offsets = (
        "customer_id,date,amount\nA,2024-01-01 23:30+02:00,1\nB,2024-01-01 23:30-05:00,2\n"
        "C,2024-03-31 01:30+0000,3\nD,2024-01-01 25:00+01:00,4\n"
    )
    iso_t = "customer_id,date,amount\nA,2024-01-01T23:30:00,1\nB,2024-1-2T00:00:00,2\nC,2024-01-03T24:00:00,3\n"
    gz = tmp / "orders.csv.gz"
    gz.write_bytes(gzip.compress(b"customer_id,date,amount\nA,2024-01-01,1\nB,2024-13-01,2\n,2024-01-02,3\n"))
    parquet = tmp / "orders.parquet"
    pd.DataFrame(
        {
            "customer_id": ["A", "B", None, "D"],
            "date": pd.to_datetime(
                ["2024-01-01 23:30", "2024-01-02 00:00", "2024-01-03 00:00", "2024-01-04 12:00"]
            ).tz_localize("Europe/Paris"),
            "amount": [1.5, float("nan"), 3.0, -2.0],
        }
    ).to_parquet(parquet)
    excel = tmp / "orders.xlsx"
    with pd.ExcelWriter(excel) as xl:
        pd.DataFrame({"customer_id": ["A", "B"], "date": ["2024-01-01", "bad"], "amount": [1, 2]}).to_excel(
            xl, sheet_name="jan", index=False
        )
        pd.DataFrame({"customer_id": ["C", None], "date": ["2024-02-01", "2024-02-02"], "amount": [3, 4]}).to_excel(
            xl, sheet_name="feb", index=False
        )
    return {
        "messy export": (messy, "transactions", {}),
        "records spanning lines, empty lines": (_write(tmp / "span.csv", spanning), "transactions", {}),
        "decimal comma and currency": (_write(tmp / "comma.csv", comma), "transactions", {}),
        "customers with a repeated id": (_write(tmp / "customers.csv", customers), "customers", {}),
        "cp1252 detected": (_write(tmp / "latin.csv", latin, "cp1252"), "transactions", {"encoding": "auto"}),
        "runs of blanks": (_write(tmp / "ws.txt", whitespace), "transactions", {}),
        "survey answers on a scale": (
            _write(tmp / "survey.csv", responses),
            "responses",
            {"items": ["q1", "q2", "q3"], "scale": (1, 5)},
        ),
        "headerless, columns by position": (
            _write(tmp / "nohead.csv", headerless),
            "transactions",
            {"header": False, "columns": {"customer_id": 0, "date": 1, "amount": 2}, "date_format": "%Y-%m-%d"},
        ),
        "offsets, dates as written": (_write(tmp / "tz.csv", offsets), "transactions", {}),
        "offsets, dates in Paris": (_write(tmp / "tz2.csv", offsets), "transactions", {"timezone": "Europe/Paris"}),
        "offsets, dates at +05:30": (_write(tmp / "tz3.csv", offsets), "transactions", {"timezone": "+05:30"}),
        "ISO with a T": (_write(tmp / "iso.csv", iso_t), "transactions", {}),
        "gzip": (gz, "transactions", {}),
        "parquet with a time zone": (parquet, "transactions", {}),
        "excel, every sheet": (excel, "transactions", {"sheet": "all"}),
    }


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index(drop=True).astype(str).replace({"<NA>": "nan", "None": "nan", "NaT": "nan"})


def _same_load(a, b) -> None:
    assert (a.rows_read, a.rows_accepted, a.rows_quarantined) == (b.rows_read, b.rows_accepted, b.rows_quarantined)
    pd.testing.assert_frame_equal(_comparable(a.quarantine), _comparable(b.quarantine))
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), check_dtype=True)
    pd.testing.assert_frame_equal(a.reasons, b.reasons, check_dtype=False)
    assert a.describe() == b.describe()
    assert a.source_details() == b.source_details()


def test_contracts_set_aside_the_same_rows_with_the_same_lines_and_reasons(engines, tmp_path):
    on_spark = {}
    for i, (label, (path, kind, options)) in enumerate(_cases(tmp_path).items()):
        duck = validate(path, kind, engine=engines["duckdb"], **options)
        # each under its own name: a later load under the same name would replace its tables
        on_spark[label] = validate(path, kind, engine=engines["spark"], name=f"case{i}", **options)
        try:
            _same_load(duck, on_spark[label])
        except AssertionError as err:
            raise AssertionError(f"{label}: {err}") from None
    # the cases are not vacuous: rows were set aside for field counts, values, dates and repeats
    messy = on_spark["messy export"]
    assert messy.rows_quarantined == 30 and messy.rows_read == 19_973
    assert {"too few fields (expected 6, found 3)", "customer_id: missing"} <= set(messy.reasons["reason"])
    spanning = on_spark["records spanning lines, empty lines"]
    assert spanning.quarantine[["line", "reason"]].values.tolist() == [
        [5, "amount: not a number"],
        [6, "too few fields (expected 4, found 2)"],
        [9, "too many fields (expected 4, found 5)"],
        [10, "date: outside 1950-01-01 to " + spanning.date_window[1] + " (date_window)"],
    ]
    assert "customer_id: duplicate" in set(on_spark["customers with a repeated id"].reasons["reason"])
    paris = on_spark["offsets, dates in Paris"].to_pandas()
    assert paris["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-02", "2024-03-31"]


def test_line_numbers_hold_when_spark_splits_a_file_into_many_partitions(engines):
    messy = ROOT / "data" / "synthetic" / "transactions_messy.csv"
    session = engines["spark"].session
    session.conf.set("spark.sql.files.maxPartitionBytes", "64k")  # about a dozen partitions for this file
    try:
        assert session.read.text(str(messy)).rdd.getNumPartitions() > 5
        split = validate(messy, "transactions", engine=engines["spark"], name="split")
    finally:
        session.conf.unset("spark.sql.files.maxPartitionBytes")
    _same_load(validate(messy, "transactions", engine=engines["duckdb"]), split)


def test_a_quote_that_never_closes_stops_both_engines_with_the_same_sentence(engines, tmp_path):
    path = _write(tmp_path / "open.csv", 'customer_id,date,amount\nA,2024-01-01,1\nB,"2024-01-02,2\nC,2024-01-03,3\n')
    messages = []
    for name in ("duckdb", "spark"):
        with pytest.raises(ContractError) as err:
            validate(path, "transactions", engine=engines[name])
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "line 3" in messages[0]


# --------------------------------------------------------------------------------------------
# Heavy aggregations: every registered expression, run on both engines


def _sample(schema: dict[str, str], rows: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = {}
    for col, typ in schema.items():
        if typ == "string":
            out[col] = [f"c{i:02d}" for i in rng.integers(0, 40, rows)]
        elif typ == "date":
            days = rng.integers(0, 500, rows)
            out[col] = [(pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d))).date() for d in days]
        elif typ == "timestamp":  # whole seconds over 30 days: some ties within a group, which must sort alike
            out[col] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
                rng.integers(0, 30 * 86_400, rows) // 3600 * 3600, unit="s"
            )
        elif typ.startswith("float"):
            out[col] = np.round(rng.normal(30, 40, rows), 2)
        elif typ.startswith("int"):
            out[col] = rng.integers(0, 6, rows)
        else:
            raise AssertionError(f"no sample values for type {typ}")
    return pd.DataFrame(out)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object and df[col].map(lambda v: hasattr(v, "isoformat")).any():
            df[col] = pd.to_datetime(df[col])
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
        elif pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype(float)
        else:
            df[col] = df[col].astype(str)
    return df.sort_values(list(df.columns), ignore_index=True)


@pytest.mark.parametrize("name", sorted(PORTABLE_EXPRESSIONS))
def test_every_registered_aggregation_gives_the_same_table_on_spark(engines, name):
    build, schema = PORTABLE_EXPRESSIONS[name]
    data = _sample(schema)
    results = []
    for eng in (engines["duckdb"], engines["spark"]):
        view = "sample_" + name.rsplit(".", 1)[-1]
        eng.con.register(view, data)
        results.append(_normalise(build(eng.table(view)).execute()))
    duck, spark = results
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, rtol=REL, atol=1e-9)


# --------------------------------------------------------------------------------------------
# The notebooks: the same metrics and quarantine files on Spark as on DuckDB


def _parity_runs() -> tuple[str, ...]:
    """The CLV reports (real CDNOW data; the messy synthetic export with known truth), the
    data-quality report on the messy export, and the first report of every other notebook in
    reports.yaml, so that a new notebook joins the parity suite without being named here."""
    runs = yaml.safe_load((ROOT / "reports.yaml").read_text())["runs"]
    chosen = ["clv-cdnow", "clv-synthetic-export", "data-quality-messy-export"]
    covered = {r["notebook"] for r in runs if r["name"] in chosen}
    for r in runs:
        if r["notebook"] not in covered:
            chosen.append(r["name"])
            covered.add(r["notebook"])
    return tuple(chosen)


PARITY_RUNS = _parity_runs()


@pytest.fixture(scope="session")
def spark_reports(tmp_path_factory):
    _require_spark()

    def build(tmp: Path) -> dict:
        env = {**os.environ, "WORKBENCH_ENGINE": "spark", "WORKBENCH_PREVIEWS": "0"}
        proc = subprocess.run(
            [sys.executable, "-m", "helpers", "run", *PARITY_RUNS, "--output-dir", str(tmp / "out"), "--jobs", "1"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
        )
        return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

    tmp, result = build_once(tmp_path_factory, "spark-reports", build)
    assert result["returncode"] == 0, result["stdout"][-3000:] + result["stderr"][-3000:]
    return tmp / "out"


def _same_number(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b  # counts exactly
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


@pytest.mark.slow
@pytest.mark.xdist_group("spark-notebooks")  # the kernels start their own Spark: another worker runs these
@pytest.mark.parametrize("run", PARITY_RUNS)
def test_notebooks_give_the_same_metrics_and_quarantine_on_spark(reports, spark_reports, run):  # noqa: F811
    duck_dir, _ = reports
    duck = json.loads((duck_dir / run / "metrics.json").read_text())
    spark = json.loads((spark_reports / run / "metrics.json").read_text())
    assert duck.pop("engine") == "duckdb" and spark.pop("engine") == "spark"
    assert set(duck) == set(spark)
    different = {k: (duck[k], spark[k]) for k in duck if not _same_number(duck[k], spark[k])}
    assert not different
    files = sorted(p.name for p in (duck_dir / run / "quarantine").glob("*.csv"))
    assert files == sorted(p.name for p in (spark_reports / run / "quarantine").glob("*.csv"))
    for name in files:
        assert (duck_dir / run / "quarantine" / name).read_bytes() == (
            spark_reports / run / "quarantine" / name
        ).read_bytes()
    report = (spark_reports / run / "report.html").read_text()
    assert "aggregated on Spark 4." in report  # the engine in the report's provenance


# --------------------------------------------------------------------------------------------
# Data where it lives: URIs and folders, read by Spark without a local copy


def test_a_file_uri_gives_what_the_local_file_gives(engines):
    messy = ROOT / "data" / "synthetic" / "transactions_messy.csv"
    local = validate(messy, "transactions", engine=engines["duckdb"])
    remote = validate(messy.resolve().as_uri(), "transactions", engine=engines["spark"], name="remote")
    _same_load(local, remote)
    assert str(remote.path).startswith("file:///") and remote.path.name == "transactions_messy.csv"
    assert remote.provenance["sha256"] is None and remote.provenance["bytes"] is None  # not hashed here


def test_a_partitioned_parquet_folder_is_read_as_one_table(engines, tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in rng.integers(0, 300, n)],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "amount": np.round(rng.normal(40, 30, n), 2),
            "month": rng.integers(1, 4, n),
        }
    )
    frame.loc[[5, 50, 500], "customer_id"] = None
    frame.to_parquet(tmp_path / "whole.parquet")
    frame.to_parquet(tmp_path / "lake", partition_cols=["month"])  # lake/month=1/..., month=2/...
    assert len(list((tmp_path / "lake").glob("month=*/*.parquet"))) == 3
    whole = validate(tmp_path / "whole.parquet", "transactions", engine=engines["duckdb"])
    lake = validate(tmp_path / "lake", "transactions", engine=engines["spark"], name="lake")
    assert (lake.rows_read, lake.rows_accepted, lake.rows_quarantined) == (n, n - 3, 3)
    assert (whole.rows_read, whole.rows_accepted, whole.rows_quarantined) == (n, n - 3, 3)
    assert sorted(lake.quarantine["reason"]) == sorted(whole.quarantine["reason"]) == ["customer_id: missing"] * 3
    key = ["customer_id", "date", "amount"]
    a = whole.to_pandas()[key].sort_values(key, ignore_index=True)
    b = lake.to_pandas()[key].sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


def test_duckdb_names_the_engine_that_reads_data_where_it_lives(tmp_path):
    with pytest.raises(ContractError, match=r"s3a://lake/tx\.parquet is not a file on this machine .*engine='spark'"):
        validate("s3a://lake/tx.parquet", "transactions", engine=Engine())
    with pytest.raises(ContractError, match=r"is a folder, not a file .*the Spark engine reads a folder of Parquet"):
        validate(tmp_path, "transactions", engine=Engine())


def test_runs_that_read_data_where_it_lives_are_never_skipped_as_unchanged(tmp_path):
    from helpers.runner.cache import recorded_input_files, remote_inputs

    (tmp_path / "inputs.json").write_text(
        json.dumps({"tx": {"path": "s3a://lake/tx.parquet"}, "local": {"path": str(tmp_path / "a.csv")}})
    )
    assert remote_inputs(tmp_path) == ["s3a://lake/tx.parquet"]
    assert recorded_input_files(tmp_path, tmp_path) == {tmp_path / "a.csv"}


def test_a_materialised_expression_is_cached_on_spark_and_dropped_after_use(engines):
    """The CLV workflow computes purchase days once (``Materialised``): on Spark a cached view."""
    from helpers.clv.data import purchase_days_expr
    from helpers.core.engine import Materialised

    data = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "date": pd.to_datetime(["2025-01-01"] * 3), "amount": [1.0, 2.0, -3.0]}
    )
    spark = engines["spark"]
    spark.con.register("sample_materialised", data)
    with Materialised(purchase_days_expr(spark.table("sample_materialised")), "wb_spark_days") as days:
        got = days.execute().sort_values("customer_id", ignore_index=True)
        assert got["customer_id"].tolist() == ["a"] and got["amount"].tolist() == [3.0]
        assert spark.session.catalog.tableExists("wb_spark_days")
    assert not spark.session.catalog.tableExists("wb_spark_days")
