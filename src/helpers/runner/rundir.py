"""One run folder, written by one ``workbench run`` at a time and replaced whole when its run has
finished.

- **Lock.** While a run is planned, executed and recorded, its process holds an exclusive
  ``fcntl.flock`` on ``DIR/.NAME.lock`` (beside the run folder, which is replaced). The system
  releases it when the process ends, however it ends (``kill -9`` too). A second ``workbench run``
  of the same run *waits* for it, saying so, and then decides afresh (usually: skipped, unchanged).
- **Build aside, then swap.** A run writes into ``DIR/.NAME.building-XXXX/`` (the notebook finds it
  through ``WORKBENCH_RUN_DIR``); only when the run has finished and its state (``run.json``) is
  written there does that folder take the place of ``DIR/NAME/``: one atomic exchange of the two
  folders where the system offers it (Linux ``renameat2``), else two renames. An interrupted run
  therefore leaves the previous run's files and state exactly as they were, and is never taken as
  up to date.
- **Recovery.** Leftovers of an interrupted run (a build folder, a previous folder moved aside
  between two renames) are cleared, or put back, the next time the run's lock is taken.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

BUILDING = ".building-"
OLD = ".old-"


def lock_path(output_dir: Path, name: str) -> Path:
    return output_dir / f".{name}.lock"


class RunLock:
    """An exclusive lock on one run folder (no-op where ``fcntl`` does not exist)."""

    def __init__(self, output_dir: Path, name: str):
        self.output_dir = output_dir
        self.name = name
        self.path = lock_path(output_dir, name)
        self._fh = None

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> RunLock:
        """Take the lock; while another process holds it, call ``on_wait(message)`` once and wait."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows)
            return self
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release())
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self.holder()
                who = f"another workbench run (process {holder})" if holder else "another workbench run"
                if on_wait:
                    on_wait(f"[{self.name}] waiting: {who} is writing {self.output_dir / self.name} ...")
                fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
        except BaseException:
            fh.close()
            raise
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            try:
                import fcntl

                fcntl.flock(self._fh, fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None


def _dir_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o777 & ~mask


def new_build_dir(output_dir: Path, name: str) -> Path:
    """An empty folder beside ``DIR/NAME`` for the run to write into (readable as reports are)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=output_dir, prefix=f".{name}{BUILDING}"))
    os.chmod(path, _dir_mode())
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system or file system cannot."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def commit(build_dir: Path, run_dir: Path) -> None:
    """Put the finished run in ``build_dir`` in the place of ``run_dir`` (see the module docstring)."""
    if run_dir.is_dir() and not run_dir.is_symlink():
        if _exchange(build_dir, run_dir):
            shutil.rmtree(build_dir, ignore_errors=True)  # now the previous run
            return
        old = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}{OLD}"))
        os.rename(run_dir, old / "run")
        os.rename(build_dir, run_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if run_dir.is_symlink() or run_dir.exists():
            run_dir.unlink()
        os.rename(build_dir, run_dir)


def discard(build_dir: Path | None) -> None:
    if build_dir is not None:
        shutil.rmtree(build_dir, ignore_errors=True)


def recover(output_dir: Path, name: str) -> None:
    """Clear what an interrupted run of ``name`` left (call with its lock held): unfinished build
    folders go; a previous run moved aside between two renames comes back if its place is empty."""
    run_dir = output_dir / name
    for build in output_dir.glob(f".{name}{BUILDING}*"):
        shutil.rmtree(build, ignore_errors=True)
    for old in sorted(output_dir.glob(f".{name}{OLD}*")):
        moved = old / "run"
        if moved.is_dir() and not run_dir.exists():
            os.rename(moved, run_dir)
        shutil.rmtree(old, ignore_errors=True)
