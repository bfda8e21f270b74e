"""Data quality: profiling any checked input (missing values, ranges, date coverage,
distributions, duplicates) for the data-quality report. ``from helpers.quality import profiling``."""
