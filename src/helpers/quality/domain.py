"""The data-quality domain: the key figures ``notebooks/data_quality.ipynb`` records (besides the
contracts' shared ``rows.{input}.*`` counts). Standard library and ``helpers.core`` only."""

from helpers.core.registry import Domain, Metric, register

DOMAIN = register(
    Domain(
        name="quality",
        title="Data quality",
        metrics=(
            Metric("columns", "Columns", kind="int", help="columns of the checked input"),
            Metric("duplicate_rows", "Exact duplicate rows", kind="int", help="accepted rows repeating an earlier row"),
            Metric(
                "max_missing_pct",
                "Most missing in a column",
                kind="pct",
                help="the highest share of missing values of any column, in percent",
            ),
            Metric("date_min", "First date", kind="date", help="earliest value of the first date column"),
            Metric("date_max", "Last date", kind="date", help="latest value of the first date column"),
        ),
    )
)
