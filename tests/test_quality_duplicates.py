"""helpers.quality.duplicates: exact duplicate rows counted, and removed on request, for any loaded table."""

from __future__ import annotations

import pandas as pd

from helpers.quality import profiling
from helpers.quality.duplicates import duplicate_rows, exact_duplicates


def test_exact_duplicates_counts_repeats_and_returns_the_distinct_rows(engine):
    frame = pd.DataFrame(
        {"customer_id": ["a", "a", "a", "b", "b"], "amount": [1.0, 1.0, 1.0, 2.0, 2.5], "note": [None] * 5}
    )
    engine.con.register("dups", frame)
    found = exact_duplicates(engine.table("dups"))
    assert (found.count, found.rows) == (2, 5)
    rows = found.table.execute().sort_values(["customer_id", "amount"], ignore_index=True)
    assert rows[["customer_id", "amount"]].to_dict("list") == {
        "customer_id": ["a", "b", "b"],
        "amount": [1.0, 2.0, 2.5],
    }
    assert duplicate_rows(engine.table("dups")) == profiling.duplicate_rows(engine.table("dups")) == 2


def test_no_duplicates_returns_the_table_itself(engine):
    engine.con.register("nodups", pd.DataFrame({"x": [1, 2, 3]}))
    table = engine.table("nodups")
    found = exact_duplicates(table)
    assert found.count == 0 and found.rows == 3 and found.table is table
