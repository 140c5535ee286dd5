"""Handing decoded tables from worker processes to the writer without pickling them.

Pickling a chunk's table through the pool's pipe cost the writer process about 4 s of CPU per
million events (measured), and the writer is the ingest's bottleneck. Instead a worker writes the
table once as an Arrow IPC file in shared memory (``/dev/shm``, else the temp folder) and sends
only its path; the writer maps the file and reads it without a copy. The file is unlinked at
once: the mapping stays valid until the table is released.

The raw JSON goes in a file of its own: the writer stores it and lets it go at once, while the
typed columns stay staged until the ingest ends. Sharing one mapping, the small staged columns
would keep every byte of raw JSON resident.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa

_SHM = Path("/dev/shm")


def _folder() -> str:
    return str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK) else tempfile.gettempdir()


def _write(table: pa.Table) -> str:
    fd, path = tempfile.mkstemp(prefix="trailhound-", suffix=".arrow", dir=_folder())
    os.close(fd)
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def _read(path: str) -> pa.Table:
    try:
        with pa.memory_map(path, "r") as source:
            return pa.ipc.open_file(source).read_all()
    finally:
        Path(path).unlink(missing_ok=True)


def send(table: pa.Table) -> tuple[str, str]:
    """Write ``table`` where the parent can map it; returns the paths to pass back."""
    return _write(table.drop_columns(["raw"])), _write(table.select(["raw"]))


def receive(paths: tuple[str, str]) -> pa.Table:
    """Map and read a table written by ``send`` (its columns in their original order)."""
    typed, raw = _read(paths[0]), _read(paths[1])
    return typed.append_column("raw", raw.column("raw"))


def discard(paths: tuple[str, str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)
