"""The bank satisfaction survey's model (data/survey/bank_satisfaction.csv; R plspm's
``satisfaction`` example, see data/survey/SOURCES.md), shared by the survey tests."""

from __future__ import annotations

from pathlib import Path

BANK_CSV = Path(__file__).resolve().parents[1] / "data" / "survey" / "bank_satisfaction.csv"
#: construct -> item columns (all Mode A)
BANK_BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
#: the structural model, (from, to)
BANK_PATHS = [
    ("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"), ("EXPE", "VAL"),
    ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"), ("VAL", "SAT"), ("SAT", "LOY"),
]  # fmt: skip
