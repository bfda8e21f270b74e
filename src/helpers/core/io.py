"""Atomic writes and JSON: the one writer and the one sanitiser every module uses.

Readers of a report folder (a browser, the index, a second ``workbench run``) must never see a
half-written file, so every file is written to a temporary file in the same folder and moved into
place. Files are created with the mode ``open()`` would give (0666 minus the umask): reports are
meant to be read by others, and ``mkstemp`` alone would make them owner-only.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
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


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically (values through :func:`jsonable`)."""
    return write_text_atomic(path, dumps(payload))


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when it is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return default
