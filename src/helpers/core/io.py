"""Atomic writes and JSON: the one writer and the one sanitiser every module uses.

Readers of a report folder (a browser, the index, a second ``workbench run``) must never see a
half-written file, so every file is written to a temporary file in the same folder and moved into
place. Files are created with the mode ``open()`` would give (0666 minus the umask): reports are
meant to be read by others, and ``mkstemp`` alone would make them owner-only.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

_mode: int | None = None


def file_mode() -> int:
    """0666 minus the process umask: the mode ``open()`` would give a new file."""
    global _mode
    if _mode is None:
        mask = os.umask(0o022)
        os.umask(mask)
        _mode = 0o666 & ~mask
    return _mode


def write_atomic(path: Path, write: Callable[[IO], None], *, binary: bool = False, newline: str | None = None) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then move it into place.

    On any failure (including KeyboardInterrupt) the temporary file is removed and ``path`` is
    left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mode = "wb" if binary else "w"
        kwargs = {} if binary else {"encoding": "utf-8", "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as fh:
            write(fh)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) so that readers see the old file or the new one, never half."""
    return write_atomic(path, lambda fh: fh.write(text))


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data, recursively.

    numpy scalars and arrays become Python numbers and lists, NaN and infinities become ``None``
    (JSON has no NaN), dates and timestamps become ISO strings, tuples and sets become lists, and
    anything else unknown becomes its ``str``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # also numpy float64, a float subclass: made a plain float
        return float(value) if math.isfinite(value) else None
    item = getattr(value, "item", None)  # numpy scalars, 0-d arrays
    if callable(item) and getattr(value, "ndim", None) == 0:
        return jsonable(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist) and getattr(value, "ndim", 0) >= 1:
        return jsonable(tolist())
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time(0) and value.tzinfo is None else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if type(value).__name__ in {"Timestamp", "datetime64"}:
        import pandas as pd

        ts = pd.Timestamp(value)
        return None if pd.isna(ts) else jsonable(ts.to_pydatetime())
    if type(value).__name__ in {"NaTType", "NAType"}:
        return None
    return str(value)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """JSON text of ``jsonable(value)``, keys sorted (stable diffs and hashes)."""
    if indent is None:
        return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))
    return json.dumps(jsonable(value), indent=indent, sort_keys=True) + "\n"


def dumps_compact(value: Any) -> str:
    """One-line JSON of ``jsonable(value)`` with sorted keys: a stable text to hash."""
    return dumps(value, indent=None)


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically (values through :func:`jsonable`)."""
    return write_text_atomic(path, dumps(payload))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content (hex), read in chunks."""
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when it is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return default


# --- CSV exports that spreadsheets cannot run ----------------------------------------------------
#
# A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
# spreadsheets skip before reading a formula) is run as a formula when the CSV is opened in Excel,
# LibreOffice or a CRM import: ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` from a data file
# would reach the reader's machine. Every CSV the workbench writes goes through
# :func:`write_csv_safe`, which puts a single quote in front of such text cells (the usual
# neutralisation: the cell is then shown as text). Numbers, including negative numbers written
# as text (``-12.5``), are left as they are.

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:\d[\d,_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"


def _is_number(text: str) -> bool:
    return re.fullmatch(_NUMBER, text.strip()) is not None


def neutralise_formula(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: text starting with a formula character (and
    not a number) gets a leading ``'``; everything else (numbers, dates, missing) is returned
    unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _is_number(value):
        return "'" + value
    return value


def _safe_frame(frame):
    """A copy of a pandas DataFrame with every text cell, column name and index label neutralised."""
    import pandas as pd

    out = frame.copy()
    for i in range(out.shape[1]):
        series = out.iloc[:, i]
        if pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
            out.isetitem(i, series.astype(object).map(neutralise_formula))
    out.columns = [neutralise_formula(c) for c in out.columns]
    if not pd.api.types.is_numeric_dtype(out.index):
        out.index = out.index.map(neutralise_formula)
    return out


def _has_carriage_return(frame) -> bool:
    import pandas as pd

    cells = [frame.iloc[:, i] for i in range(frame.shape[1]) if not pd.api.types.is_numeric_dtype(frame.iloc[:, i])]
    return any(s.map(lambda v: isinstance(v, str) and "\r" in v).any() for s in cells) or any(
        isinstance(c, str) and "\r" in c for c in frame.columns
    )


#: The first characters that make a spreadsheet read a cell as a formula (as bytes).
_RISKY_FIRST = b"=+-@\t\r"


def _may_be_formula(col) -> bool:
    """Whether some cell of the text array ``col`` starts with a formula character: a look at the
    first byte of each cell through the Arrow buffers (under a millisecond per 131,072 cells, where
    the regular expressions of :func:`_safe_batch` take tens). True also for a null cell whose
    unused bytes happen to start so: it only means the exact check runs."""
    import numpy as np
    import pyarrow as pa

    offsets_buf, data_buf = col.buffers()[1], col.buffers()[2]
    if data_buf is None or len(col) == 0:
        return False
    width = np.int64 if pa.types.is_large_string(col.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)[col.offset : col.offset + len(col) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    if data.size == 0:
        return False
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]
    return bool(np.isin(data[starts], np.frombuffer(_RISKY_FIRST, dtype=np.uint8)).any())


def _safe_batch(batch):
    """A pyarrow RecordBatch with every string cell neutralised (vectorised, no Python loop)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in batch.columns:
        if (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) and _may_be_formula(col):
            risky = pc.and_(
                pc.match_substring_regex(col, r"^[=+\-@\t\r]"),
                pc.invert(pc.match_substring_regex(col, rf"^\s*{_NUMBER}\s*$")),
            )
            quote, empty = pa.scalar("'", type=col.type), pa.scalar("", type=col.type)
            col = pc.if_else(risky, pc.binary_join_element_wise(quote, col, empty), col)
        columns.append(col)
    names = [neutralise_formula(n) for n in batch.schema.names]
    return pa.RecordBatch.from_arrays(columns, names=names)


def write_csv_safe(data, path: Path, *, index: bool = False) -> Path:
    """Write ``data`` as CSV (UTF-8, ``\\n`` line ends), atomically, with formula cells neutralised.

    ``data`` is a pandas DataFrame (``index`` as in ``DataFrame.to_csv``) or an Arrow table or
    record-batch reader (streamed batch by batch, e.g. ``con.sql(...).to_arrow_reader()``: the
    rows are never all in memory). Header names are neutralised too. Everything is written by
    pyarrow's CSV writer (a 3.3-million-row frame of nine columns in 3-8 s, against most of a minute with
    ``DataFrame.to_csv``): text cells are quoted, numbers are not, missing values are empty,
    dates without a time of day are written as dates. A frame Arrow cannot represent (mixed
    Python objects in a column) falls back to ``DataFrame.to_csv``."""
    import io as _io

    import pyarrow as pa

    if hasattr(data, "to_csv"):
        try:
            data = arrow_for_csv(data, index=index)
        except (pa.ArrowException, TypeError, ValueError):
            return _write_csv_pandas(data, path, index=index)
    reader = data.to_reader() if isinstance(data, pa.Table) else data
    header = _io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([neutralise_formula(n) for n in reader.schema.names])

    def write(fh) -> None:
        fh.write(header.getvalue().encode("utf-8"))
        for chunk in _ordered_map(_csv_rows, _slices(reader, CSV_SLICE_ROWS), _csv_workers()):
            fh.write(chunk)

    return write_atomic(path, write, binary=True)


#: Rows formatted per task when a CSV is written on several threads.
CSV_SLICE_ROWS = 131_072


def _csv_rows(batch) -> bytes:
    """One record batch as CSV rows (no header), formula cells neutralised."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    safe = _safe_batch(batch)
    sink = pa.BufferOutputStream()
    with pacsv.CSVWriter(sink, safe.schema, write_options=pacsv.WriteOptions(include_header=False)) as out:
        out.write_batch(safe)
    return sink.getvalue().to_pybytes()


def _slices(reader, rows: int):
    """The reader's batches cut into slices of at most ``rows`` rows (zero-copy)."""
    for batch in reader:
        for start in range(0, batch.num_rows, rows):
            yield batch.slice(start, rows)


def _csv_workers() -> int:
    """Threads that format CSV rows: the run's share of the cores (``WORKBENCH_THREADS``, set
    per kernel by the runner), else every core. Arrow formats without holding the GIL: on two
    cores a 3.3-million-row, nine-column table takes 4 s instead of 6.4 s."""
    share = os.environ.get("WORKBENCH_THREADS", "")
    return max(1, int(share) if share.isdigit() else (os.cpu_count() or 1))


def _ordered_map(fn, items, workers: int):
    """``map(fn, items)`` on ``workers`` threads, results in order, at most ``2 * workers`` items
    in flight (so a streamed input is never all in memory)."""
    if workers <= 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbench-csv") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def write_parquet(frame, path: Path, *, index: bool = False) -> Path:
    """Write a pandas DataFrame as Parquet, atomically (column types kept; no formula
    neutralisation is needed: Parquet is not opened by spreadsheets as text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=index)
    return write_atomic(path, lambda fh: pq.write_table(table, fh), binary=True)


def arrow_for_csv(frame, *, index: bool = False):
    """A pandas DataFrame as an Arrow table ready for the CSV writer: the index as leading
    column(s) when ``index``, categories as their labels, timestamps that are all at midnight as
    dates, other timestamps to the second when no value has a fraction of a second."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if index:
        names = [n if n is not None else "" for n in frame.index.names]
        if len(names) == 1 and names[0] == "":
            names = ["" if "" not in frame.columns else "index"]
        frame = frame.reset_index(names=names)
    columns, names = [], []
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object).where(series.notna(), None)
        col = pa.array(series, from_pandas=True)
        if pa.types.is_timestamp(col.type):
            col = _plain_timestamps(col, pc)
        columns.append(col)
        names.append(str(frame.columns[i]))
    return pa.Table.from_arrays(columns, names=names)


def _plain_timestamps(col, pc):
    import pyarrow as pa

    if col.type.tz is not None:
        return col
    seconds = pc.cast(col, pa.timestamp("s"), safe=False)
    if not pc.all(pc.equal(pc.cast(seconds, col.type), col)).as_py():
        return col  # some value has a fraction of a second (or every value is missing)
    if pc.all(pc.equal(pc.floor_temporal(seconds, unit="day"), seconds)).as_py():
        return pc.cast(seconds, pa.date32())
    return seconds


def _write_csv_pandas(frame, path: Path, *, index: bool) -> Path:
    safe = _safe_frame(frame)
    # Python's csv module quotes a cell holding \n but not one holding a bare \r, which
    # readers take as the end of the row: then every text cell is quoted.
    quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(safe) else csv.QUOTE_MINIMAL
    return write_atomic(path, lambda fh: safe.to_csv(fh, index=index, lineterminator="\n", quoting=quoting), newline="")
