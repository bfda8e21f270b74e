"""``workbench synth``: simulated data of every kind, by dispatch to the domains' simulators.

Each domain registers a simulator per kind it owns (``helpers/<domain>/domain.py``); nothing
here lists the kinds. Every simulator is seeded (``np.random.default_rng(seed)``), vectorised and
returns a :class:`~helpers.core.simulate.SyntheticData` (``frame`` in the contract's column
names, JSON-friendly ``truth``, extra truth tables in ``details``).

Entry points: ``generate(kind, rows, seed=0, **options)`` and ``write_frame(frame, path)``
(``.csv``, ``.csv.gz``, ``.parquet``/``.pq`` or ``.xlsx`` by extension). What ``rows`` means:

==============  ===============================================================================
kind            rows
==============  ===============================================================================
transactions    expected number of transaction rows (the number of customers is chosen from the
                closed-form BG/NBD mean; ``truth["n_rows"]`` is the exact count; see
                :mod:`helpers.clv.simulate`).
customers       number of customers (exact).
responses       number of respondents (exact).
journeys        number of individual journeys simulated (exact). The frame aggregates them to
                one row per distinct path, so it has fewer rows; the individual journeys are
                in ``details["journeys"]``.
touchpoints     number of journeys (exact), simulated as for ``journeys``; one row per touch.
spend           number of weeks (exact).
costs           number of simulated leads behind the costs (the frame is monthly cost per channel;
                the customers and transactions are in ``details``).
funnel          number of leads (exact); one row per lead and stage reached.
==============  ===============================================================================

Dates are ``datetime64[ns]`` at midnight (no time part); touchpoint timestamps have a time of day. Text columns use pandas' string dtype.
:func:`write_messy_transactions` writes the bundled messy export (``data/synthetic/``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from helpers.core import registry
from helpers.core import simulate as sim
from helpers.core.io import write_atomic, write_text_atomic
from helpers.core.simulate import SyntheticData

__all__ = ["SyntheticData", "generate", "write_frame", "write_messy_transactions"]


def generate(kind: str, rows: int, seed: int | None = 0, **options: Any) -> SyntheticData:
    """Simulate ``rows`` rows of data of ``kind`` (see the module docstring for what rows means
    per kind); ``options`` go to the kind's simulator (e.g. :func:`helpers.clv.simulate.generate_transactions`)."""
    key = str(kind).strip().lower()
    if key not in registry.simulated_kinds():
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(registry.simulated_kinds())}")
    sim.check_rows(rows)
    return registry.simulator(key)(rows, seed=seed, **options)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, with midnight-only datetime columns as dates (ISO, no time part)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_timestamp(col.type) and col.type.tz is None:
            s = frame[name]
            ns = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
            valid = ~s.isna().to_numpy()
            if not (ns[valid] % 86_400_000_000_000).any():
                table = table.set_column(i, name, col.cast(pa.date32()))
    return table


def _needs_quotes(table: pa.Table) -> bool:
    """Whether any header or text value holds a comma, quote or line break (then quote text).

    Scans the raw bytes of the text columns (a stray hit only means quoting, never damage)."""
    special = (ord(","), ord('"'), ord("\n"), ord("\r"))
    if any(chr(c) in name for name in table.column_names for c in special):
        return True
    for col in table.columns:
        for chunk in col.chunks:
            if pa.types.is_dictionary(chunk.type):
                chunk = chunk.dictionary
            if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
                continue
            data = chunk.buffers()[2]
            if data is None:
                continue
            raw = np.frombuffer(data, dtype=np.uint8)
            if any(np.count_nonzero(raw == c) for c in special):
                return True
    return False


def write_frame(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` by the file extension: ``.csv`` / ``.csv.gz`` (pyarrow, ISO dates, no index,
    NaN as empty), ``.parquet`` / ``.pq`` (dates as date32), or ``.xlsx`` (openpyxl; at most
    1,048,575 rows, slow beyond ~100k). The file appears complete or not at all (written to a
    temporary file in the same folder, then renamed). Returns the path."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".csv.gz"):
        fmt = "csv.gz"
    elif name.endswith(".csv"):
        fmt = "csv"
    elif name.endswith((".parquet", ".pq")):
        fmt = "parquet"
    elif name.endswith(".xlsx"):
        fmt = "xlsx"
    else:
        raise ValueError(f"cannot tell the format of {path.name}: use .csv, .csv.gz, .parquet, .pq or .xlsx")
    if fmt == "xlsx" and len(frame) > 1_048_575:
        raise ValueError(f"{len(frame)} rows do not fit in an Excel sheet (max 1,048,575); use .csv or .parquet")

    def write(fh) -> None:
        if fmt in ("csv", "csv.gz"):
            import pyarrow.csv as pacsv

            table = _arrow_table(frame)
            quote = _needs_quotes(table)
            # pyarrow quotes header names even with quoting_style="none": write a plain header
            options = pacsv.WriteOptions(quoting_style="needed" if quote else "none", include_header=quote)
            with pa.PythonFile(fh, mode="w") if fmt == "csv" else pa.CompressedOutputStream(fh, "gzip") as out:
                if not quote:
                    out.write((",".join(table.column_names) + "\n").encode("utf-8"))
                pacsv.write_csv(table, out, options)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(_arrow_table(frame), fh)
        else:
            with pd.ExcelWriter(fh, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xw:
                frame.to_excel(xw, index=False)

    write_atomic(path, write, binary=True)
    return path


# --------------------------------------------------------------------------------------------
# A messy export, for demonstrating and testing the data contracts


def write_messy_transactions(
    path: str | os.PathLike, rows: int = 20_000, seed: int = 7, defects_per_kind: int = 5
) -> dict:
    """Write a transactions CSV (``;``-separated, day-first dates, like a European spreadsheet
    export) with returns and zero-value orders, plus ``defects_per_kind`` rows of each defect a
    contract must catch. Returns what was planted: ``{"rows": n, "defects": {reason: count}, ...}``.

    Defects: missing customer id, impossible date, amount that is not a number, quantity that
    is not a whole number, too few fields, too many fields.
    """
    from helpers.clv.simulate import generate_transactions

    rng = sim.rng(seed, sim.STREAM_MESSY)
    data = generate_transactions(rows, seed=seed, returns_rate=0.02, zero_value_rate=0.005)
    frame = data.frame[["customer_id", "date", "amount", "quantity", "channel", "order_id"]].copy()
    text = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "date": frame["date"].dt.strftime("%d/%m/%Y"),
            "amount": frame["amount"].map(lambda v: f"{v:.2f}"),
            "quantity": frame["quantity"].astype(str),
            "channel": frame["channel"].astype(str),
            "order_id": frame["order_id"].astype(str),
        }
    )
    n = len(text)
    k = defects_per_kind
    picks = rng.choice(n, size=6 * k, replace=False)
    groups = [picks[i * k : (i + 1) * k] for i in range(6)]
    text.loc[groups[0], "customer_id"] = ""
    text.loc[groups[1], "date"] = "31/02/2025"
    text.loc[groups[2], "amount"] = "n/a"
    text.loc[groups[3], "quantity"] = "1.5"
    lines = text.apply(lambda r: ";".join(r.values), axis=1).tolist()
    for i in groups[4]:
        lines[i] = ";".join(lines[i].split(";")[:3])
    for i in groups[5]:
        lines[i] = lines[i] + ";EXTRA"
    write_text_atomic(Path(path), "customer_id;date;amount;quantity;channel;order_id\n" + "\n".join(lines) + "\n")
    defects = {
        "customer_id: missing": k,
        "date: not a date in format %d/%m/%Y": k,
        "amount: not a number": k,
        "quantity: not a whole number": k,
        "too few fields (expected 6, found 3)": k,
        "too many fields (expected 6, found 7)": k,
    }
    return {
        "rows": n,
        "defects": defects,
        "returns": int(data.truth["n_returns"]),
        "zero_value": int(data.truth["n_zero_value"]),
        "truth": data.truth,
    }
