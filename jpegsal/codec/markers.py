"""JPEG's header segments, read: everything before the first scan's entropy-coded data.

The readers the DCT path and the preset's search need (quantisation tables, the frame's
size and sampling, the header's length), beside :mod:`.requantise`, which writes tables
back into the same segments; and :func:`merged_tables`, the header with one segment of
each kind of table.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = [
    "SOF",
    "ZIGZAG",
    "header_size",
    "huffman_share",
    "jpeg_frame",
    "jpeg_tables",
    "merged_tables",
    "segments",
]

# JPEG's zigzag scan: ZIGZAG[k] is the natural (row-major) index of the k-th coefficient.
ZIGZAG = np.array(
    [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
     27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37,
     44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63],
)  # fmt: skip
SOF = {0xC0, 0xC1, 0xC2}  # baseline, extended, progressive (Huffman)


def segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, payload start, payload end) of the header segments, up to the first SOS."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if length < 2 or i + 2 + length > len(data):
            raise ValueError("malformed or truncated JPEG header")
        out.append((marker, i + 4, i + 2 + length))
        if marker == 0xDA:
            break
        i += 2 + length
    return out


def jpeg_tables(data: bytes) -> tuple[dict[int, np.ndarray], list[int]]:
    """The quantisation tables (id -> 64 entries, natural order) and each component's
    table id, read from the headers of the JPEG ``data``."""
    tables: dict[int, np.ndarray] = {}
    components: list[int] = []
    for marker, start, end in segments(data):
        if marker == 0xDB:
            i = start
            while i < end:
                precision, tid = data[i] >> 4, data[i] & 15
                size = 128 if precision else 64
                if i + 1 + size > end:
                    raise ValueError("malformed JPEG quantisation table")
                raw = data[i + 1 : i + 1 + size]
                values = struct.unpack(">64H", raw) if precision else tuple(raw)
                table = np.zeros(64, np.int32)
                table[ZIGZAG] = values
                tables[tid] = table
                i += 1 + size
        elif marker in SOF:
            count = data[start + 5] if end - start > 5 else 0
            if end - start < 6 + 3 * count:
                raise ValueError("malformed JPEG frame header")
            components = [data[start + 6 + 3 * c + 2] for c in range(count)]
    if not tables or not components:
        raise ValueError("not a Huffman-coded JPEG with quantisation tables")
    return tables, components


def jpeg_frame(data: bytes) -> tuple[int, int, int, list[tuple[int, int]]]:
    """(precision, width, height, each component's sampling factors) from the frame header
    of the JPEG ``data`` (baseline, extended or progressive Huffman coding)."""
    for marker, start, end in segments(data):
        if marker in SOF:
            if end - start < 6 or end - start < 6 + 3 * data[start + 5]:
                raise ValueError("malformed JPEG frame header")
            precision = data[start]
            height, width = struct.unpack(">HH", data[start + 1 : start + 5])
            factors = [data[start + 7 + 3 * c] for c in range(data[start + 5])]
            return precision, width, height, [(f >> 4, f & 15) for f in factors]
    raise ValueError("not a Huffman-coded JPEG (no baseline or progressive frame header)")


def header_size(data: bytes) -> int:
    """The bytes of the JPEG ``data`` that do not grow with its content: every segment up
    to and with the first SOS, and the EOI marker (0 without an SOS).

    >>> import io; from PIL import Image
    >>> def jpeg(image):
    ...     buf = io.BytesIO(); image.save(buf, "JPEG"); return buf.getvalue()
    >>> flat = jpeg(Image.new("RGB", (64, 64)))
    >>> busy = jpeg(Image.effect_noise((64, 64), 60).convert("RGB"))
    >>> header_size(flat), header_size(busy), len(flat) < len(busy)
    (625, 625, True)
    """
    found = segments(data)
    return found[-1][2] + 2 if found and found[-1][0] == 0xDA else 0


def merged_tables(data: bytes) -> bytes:
    """``data`` with its header's DQT segments made one and its DHT segments one: the same
    tables in the same order, 4 bytes fewer for each segment dropped (libjpeg writes one
    per table). Segments after the first scan header (a progressive file's later Huffman
    tables) are left as they are, and so is a header that has no scan.

    >>> import io; from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "JPEG")
    >>> data = buf.getvalue(); out = merged_tables(data)
    >>> len(data) - len(out), [m for m, _, _ in segments(out)]
    (16, [224, 219, 192, 196, 218])
    >>> Image.open(io.BytesIO(out)).tobytes() == Image.open(io.BytesIO(data)).tobytes()
    True
    """
    found = segments(data)
    if not found or found[-1][0] != 0xDA:
        return data
    bodies = {m: b"".join(data[s:e] for k, s, e in found if k == m) for m in (0xDB, 0xC4)}
    if any(len(body) > 0xFFFF - 2 for body in bodies.values()):
        return data  # never from libjpeg's at most four tables of each kind
    out, done = bytearray(data[:2]), set()
    for marker, start, end in found:
        if marker not in bodies:
            out += data[start - 4 : end]
        elif marker not in done:  # every table of this kind, where its first segment was
            done.add(marker)
            out += struct.pack(">BBH", 0xFF, marker, len(bodies[marker]) + 2) + bodies[marker]
    return bytes(out + data[found[-1][2] :])


def huffman_share(data: bytes) -> float:
    """The share of ``data``'s bytes its header's Huffman tables take (DHT segments)."""
    return sum(e - s + 4 for m, s, e in segments(data) if m == 0xC4) / max(len(data), 1)
