"""Content hashes and run keys: what decides whether a run is unchanged and can be skipped.

A run's key hashes the notebook's content, its parameters, its kernel and title, every input file
(named by a parameter or recorded by the notebook in ``inputs.json``) and the helper code it can
reach: the shared parts (``helpers/core``, ``contracts``, ``reporting``, ``runner``,
``templates`` and the top-level ``helpers/*.py`` modules) plus only the ``helpers`` packages the
notebook imports, followed through the imports inside those packages. Editing one domain package
therefore re-runs the notebooks that use it and skips the others.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from helpers.core.io import dumps_compact, file_sha256, read_json, write_json_atomic
from helpers.core.runfiles import INPUTS_FILE
from helpers.runner import common
from helpers.runner.common import sha256_bytes
from helpers.runner.notebook import NotebookInfo
from helpers.runner.spec import RunSpec

_KEY_VERSION = 2  # bump to invalidate every stored run key

#: Parts of ``helpers`` every notebook depends on (folders, or a module of the same name).
SHARED_PARTS = ("core", "contracts", "reporting", "runner", "templates")


class FileHasher:
    """sha256 of files, cached in a JSON file by what ``stat`` says of the file.

    Decisions always compare content hashes; the cache only saves reading a file again, and is
    trusted only when the file's size, modification time, inode *and* change time (``st_ctime``,
    which no program can set back, unlike the modification time) are all as they were, and the
    file had not changed within :data:`RACY_NS` before it was hashed (a write in the same clock
    tick as the hash would leave every field equal). Anything else is hashed again.
    """

    VERSION = 2
    RACY_NS = 2_000_000_000  # a file changed this close to its hashing is hashed again next time

    def __init__(self, cache_path: Path | None):
        self.cache_path = cache_path
        data = read_json(cache_path) if cache_path else None
        ok = isinstance(data, dict) and data.get("version") == self.VERSION
        self.entries: dict[str, list] = data.get("files", {}) if ok else {}
        self.dirty = False

    @staticmethod
    def _signature(st: os.stat_result) -> list[int]:
        return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]

    def sha256(self, path: Path) -> str | None:
        """Hash of the file's content, or None if it does not exist."""
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        key = str(path.resolve())
        signature = self._signature(st)
        hit = self.entries.get(key)
        if isinstance(hit, list) and len(hit) == 6 and hit[:4] == signature and hit[4] - hit[3] > self.RACY_NS:
            return hit[5]
        hashed_at = time.time_ns()
        digest = file_sha256(path)
        self.entries[key] = [*signature, hashed_at, digest]
        self.dirty = True
        return digest

    def tree(self, folder: Path) -> str:
        """One hash for every file under ``folder`` (names and contents; caches skipped)."""
        items = []
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part == "__pycache__" or part.startswith(".") for part in rel.parts):
                continue
            if path.suffix in (".pyc", ".pyo") or not path.is_file():
                continue
            items.append([rel.as_posix(), self.sha256(path)])
        return sha256_bytes(dumps_compact(items).encode())

    def save(self) -> None:
        if not (self.cache_path and self.dirty):
            return
        live = {k: v for k, v in self.entries.items() if os.path.exists(k)}
        try:
            write_json_atomic(self.cache_path, {"version": self.VERSION, "files": live})
        except OSError:
            pass  # only an optimisation
        self.dirty = False


def _path_like(value: str) -> bool:
    return 0 < len(value) < 1024 and "\n" not in value and "\x00" not in value


def parameter_files(values: Any, notebooks_dir: Path) -> set[Path]:
    """Existing files named by parameter values (strings, also inside lists and mappings),
    resolved relative to the notebooks folder."""
    found: set[Path] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if _path_like(value):
                candidate = Path(value).expanduser()
                if not candidate.is_absolute():
                    candidate = notebooks_dir / candidate
                try:
                    if candidate.is_file():
                        found.add(Path(os.path.normpath(candidate.absolute())))
                except OSError:
                    pass
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(values)
    return found


def recorded_input_files(run_dir: Path, notebooks_dir: Path) -> set[Path]:
    """Files the notebook recorded in ``inputs.json`` (through contracts.load)."""
    data = read_json(run_dir / INPUTS_FILE)
    found: set[Path] = set()
    if isinstance(data, dict):
        for entry in data.values():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                if REMOTE.match(entry["path"]):  # read where it lives (Spark): see remote_inputs
                    continue
                p = Path(entry["path"]).expanduser()
                if not p.is_absolute():
                    p = notebooks_dir / p
                found.add(Path(os.path.normpath(p.absolute())))
    return found


REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def remote_inputs(run_dir: Path) -> list[str]:
    """Inputs the notebook read where they live (URIs, folders read by Spark): the runner cannot
    hash them, so a run that reads one is never skipped as unchanged."""
    data = read_json(run_dir / INPUTS_FILE)
    if not isinstance(data, dict):
        return []
    paths = [e.get("path") for e in data.values() if isinstance(e, dict)]
    return sorted(p for p in paths if isinstance(p, str) and REMOTE.match(p))


def rel_path(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive
        return path.as_posix()


def run_engine(parameters: Mapping[str, Any]) -> str:
    """The engine a run uses: its ``engine`` parameter, else ``WORKBENCH_ENGINE``, else duckdb.
    Part of the run key, so that switching engines runs the reports again on the new one."""
    return str(parameters.get("engine") or os.environ.get("WORKBENCH_ENGINE") or "duckdb").strip().lower()


def run_key(
    spec: RunSpec, info: NotebookInfo, hasher: FileHasher, helpers_hash: str, inputs: Iterable[Path]
) -> tuple[str, dict]:
    """The content key of a run: equal keys mean nothing it depends on has changed."""
    parts = {
        "version": _KEY_VERSION,
        "notebook": info.content_hash,
        "parameters": sha256_bytes(dumps_compact(spec.parameters).encode()),
        "helpers": helpers_hash,
        "kernel": spec.kernel or info.kernel_name or "",
        "title": spec.title,
        "engine": run_engine(spec.parameters),
        "inputs": {rel_path(p, spec.notebooks_dir): hasher.sha256(p) for p in sorted(set(inputs))},
    }
    return sha256_bytes(dumps_compact(parts).encode()), parts


def describe_change(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    if not old:
        return "first run"
    labels = {
        "notebook": "notebook changed",
        "parameters": "parameters changed",
        "helpers": "helper code changed",
        "kernel": "kernel changed",
        "title": "title changed",
        "engine": "engine changed",
        "version": "runner changed",
    }
    reasons = [text for k, text in labels.items() if old.get(k) != new.get(k)]
    old_inputs, new_inputs = old.get("inputs") or {}, new.get("inputs") or {}
    changed_inputs = sorted(k for k in set(old_inputs) | set(new_inputs) if old_inputs.get(k) != new_inputs.get(k))
    if changed_inputs:
        reasons.append("input changed: " + ", ".join(Path(k).name for k in changed_inputs[:3]))
    return "; ".join(reasons) or "changed"


# --------------------------------------------------------------------------------------------
# Which helper code a notebook depends on

_IMPORT = re.compile(
    r"^\s*(?:from\s+helpers\.(\w+)|import\s+helpers\.(\w+)|from\s+helpers\s+import\s+([\w\s,()]+))", re.M
)
_RELATIVE = re.compile(r"^\s*from\s+\.\.(\w+)", re.M)


def _package_imports(folder: Path) -> set[str]:
    """``helpers.X`` names imported anywhere under a package (a quick textual scan)."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for a, b, names in _IMPORT.findall(text):
            if a or b:
                found.add(a or b)
            else:
                found.update(n for n in re.split(r"[\s,()]+", names) if n.isidentifier())
        found.update(_RELATIVE.findall(text))
    return found


def helper_scope(imports: Iterable[str], helpers_dir: Path | None = None) -> list[Path]:
    """The helper files and folders a notebook importing ``helpers.<imports>`` depends on."""
    root = helpers_dir or common.HELPERS_DIR
    parts: set[Path] = set(root.glob("*.py"))
    parts.update(root / name for name in SHARED_PARTS if (root / name).is_dir())
    todo = [name for name in imports if (root / name).is_dir()]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts.add(root / name)
        todo.extend(n for n in _package_imports(root / name) if n not in seen and (root / n).is_dir())
    return sorted(parts)


def helpers_hash(hasher: FileHasher, imports: Iterable[str], helpers_dir: Path | None = None) -> str:
    """One hash of the helper code in :func:`helper_scope` (names and contents)."""
    root = helpers_dir or common.HELPERS_DIR
    items = []
    for part in helper_scope(imports, root):
        digest = hasher.tree(part) if part.is_dir() else hasher.sha256(part)
        items.append([part.relative_to(root).as_posix(), digest])
    return sha256_bytes(dumps_compact(items).encode())
