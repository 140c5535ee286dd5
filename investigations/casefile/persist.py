"""Putting case files on disk so that a crash or a second process can never corrupt them.

``atomic_write`` is write-then-rename with fsyncs: readers see the old file or the new one,
whole. ``replace_keeping_previous`` does the same but first hard-links the current file to
``<name>.bak``, so the last version that was good enough to be replaced always survives beside
it (the link costs nothing and is never modified in place). ``CaseLock`` is an ``flock`` whose
file names the holder, because "locked" alone leaves a responder guessing which window to close.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from investigations.journal import os_user


class CaseError(RuntimeError):
    """The case cannot be used as asked; the message says why and what to do."""


class CaseLocked(CaseError):
    """Another process holds the case."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write-then-rename with fsyncs: readers see the old file or the new one, whole."""
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def replace_keeping_previous(path: Path, data: bytes) -> None:
    """Like ``atomic_write``, keeping the version being replaced as ``<name>.bak``."""
    tmp = _write_temp(path, data)
    try:
        if path.exists():
            staged = path.with_name(f".{path.name}.bak.{os.getpid()}")
            staged.unlink(missing_ok=True)
            try:
                os.link(path, staged)
            except OSError:  # a filesystem without hard links: copy instead
                shutil.copy2(path, staged)
            os.replace(staged, backup_path(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _write_temp(path: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def sweep_temporaries(root: Path) -> None:
    """Remove temporary files a killed writer left behind (their content was never committed)."""
    for folder in (root, root / "sources", root / "exports"):
        for leftover in folder.glob(".*"):
            if leftover.is_file() and (leftover.suffix == ".tmp" or ".bak." in leftover.name):
                leftover.unlink(missing_ok=True)


@dataclass(slots=True)
class CaseLock:
    """An exclusive ``flock`` on ``case.lock``, released by the kernel if the holder dies."""

    handle: IO[str]

    @classmethod
    def acquire(cls, path: Path) -> CaseLock:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the case's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise CaseLocked(
                f"{path.parent} is open in another Trailhound ({holder}); close it there, "
                "or copy the case folder and open the copy"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {os_user()}@{socket.gethostname()}, since {now_iso()}")
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
