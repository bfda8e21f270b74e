# README's two commands are all the set-up: `make reports` and `make test` create the virtual
# environment first (via `setup`), so a fresh clone with Python 3.11 and pip needs nothing else.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.workbench-installed
KERNEL := workbench

SPARK_STAMP := $(VENV)/.workbench-spark-installed

.PHONY: setup setup-spark reports test format lab bench clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changed (or the venv is new); otherwise a no-op.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (workbench)" >/dev/null
	@touch $(STAMP)

# The optional Spark engine (WORKBENCH_ENGINE=spark): pyspark from the `spark` extra; Java 17 from the system.
setup-spark: $(SPARK_STAMP)  ## install the Spark engine (pyspark) beside the rest; says how to get Java when it is missing

$(SPARK_STAMP): $(STAMP)
	@command -v java >/dev/null 2>&1 || test -x "$$JAVA_HOME/bin/java" || { \
	  echo "The Spark engine needs Java 17, which was not found."; \
	  echo "  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless"; \
	  echo "  elsewhere: install a Java 17 runtime and set JAVA_HOME"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,spark]"
	@touch $(SPARK_STAMP)

reports: setup  ## regenerate every report listed in reports.yaml (unchanged runs are skipped)
	$(BIN)/workbench run $(ARGS)

test: setup  ## style (ruff lint + format check), then the whole test suite in parallel
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -n auto --dist loadgroup -q $(ARGS)

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks notebooks
	$(BIN)/ruff format src tests benchmarks

lab: setup  ## JupyterLab on the notebooks, with the project's kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: setup  ## performance benchmarks (slow; figures printed, see benchmarks/README.md)
	$(BIN)/python benchmarks/run_all.py $(ARGS)

clean:
	rm -rf reports/*/ reports/index.html .pytest_cache
