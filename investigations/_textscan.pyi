from _typeshed import ReadableBuffer, WriteableBuffer

#: The SIMD the loop uses on this machine: "avx2", "sse2", or "none" (one byte at a time).
SIMD: str

def records(
    text: ReadableBuffer,
    ends: ReadableBuffer,
    first: int,
    last: int,
    parts: tuple[tuple[bytes, int, int], ...],
    out: WriteableBuffer,
) -> int: ...
