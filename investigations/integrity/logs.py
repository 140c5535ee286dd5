"""The log-file check: SHA-256 of the decompressed content, streamed (reference §4.4).

CloudTrail hashes the uncompressed log, so the hash is computed while inflating, in large chunks
(hashlib and zlib both release the GIL on big buffers, which lets a thread pool use every core).
Only the first gzip member counts: data appended after it is reported, because a multi-member
reader would silently accept a file an attacker padded. Output is capped against gzip bombs.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import BinaryIO

#: Read size for compressed input; output per inflate call is capped at 8x this.
CHUNK = 1024 * 1024
#: Default decompressed-size cap for one log file (CloudTrail files are far smaller).
DEFAULT_MAX_DECOMPRESSED = 2 * 1024**3


@dataclass(frozen=True, slots=True)
class LogHash:
    """What reading one log file found.

    ``sha256`` is the hex SHA-256 of the first gzip member's content, or None when ``error`` says
    the file could not be read to the end of that member. ``appended`` counts bytes after it.
    """

    sha256: str | None
    size: int
    appended: int = 0
    error: str | None = None


def hash_log(stream: BinaryIO, limit: int = DEFAULT_MAX_DECOMPRESSED) -> LogHash:
    """Hash one gzipped log from a binary stream (a local file or an S3 body)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    digest = hashlib.sha256()
    size = 0
    appended = 0
    seen_input = False
    while True:
        block = stream.read(CHUNK)
        if inflater.eof:
            appended += len(block)
        else:
            # An empty block drains output zlib still holds after the last input was consumed.
            data = block
            while True:
                try:
                    out = inflater.decompress(data, 8 * CHUNK)
                except zlib.error as exc:
                    return LogHash(None, size, 0, f"corrupt or not gzip ({exc})")
                size += len(out)
                if size > limit:
                    return LogHash(None, size, 0, f"decompresses to more than {limit:,} bytes")
                digest.update(out)
                if inflater.eof:
                    appended += len(inflater.unused_data)
                    break
                data = inflater.unconsumed_tail
                if not data and (block or not out):
                    break
        if not block:
            break
        seen_input = True
    if not seen_input:
        return LogHash(None, 0, 0, "empty file")
    if not inflater.eof:
        return LogHash(None, size, 0, "truncated gzip stream")
    return LogHash(digest.hexdigest(), size, appended)
