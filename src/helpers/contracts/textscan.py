"""The file itself, byte by byte: compression, encoding, and the count of its lines.

The CSV reader (DuckDB) is fast but trusting: one stray quote makes it read the rest of the
file as one value, and a record that spans lines (a quoted field holding a newline) shifts every
later line number. So every delimited read is reconciled here against the file: a cheap pass
counts physical lines (``bytes.count``, about as fast as reading the file); only when that
count disagrees with what the reader found does a second pass follow quotes line by line
(numpy, in chunks) to find where a quote opened and never closed, or which file line each
record starts on.

Standard library and numpy only; nothing here knows about contracts.
"""

from __future__ import annotations

import codecs
import gzip
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .kinds import ContractError, file_label

CHUNK = 16 << 20
COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd"}

# Bytes 0x80-0x9F: control characters in Latin-1, letters and signs (EUR, quotes, dashes) in CP1252.
_C1 = bytes(range(0x80, 0xA0))


def compression_of(path: Path) -> str | None:
    """``gzip``/``zstd`` by the file's last suffix, else ``None``."""
    return COMPRESSIONS.get(path.suffix.lower())


def inner_suffix(path: Path) -> str:
    """The suffix that tells the format (``.csv`` of ``orders.csv.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def chunks(path: Path, compression: str | None) -> Iterator[bytes]:
    """The file's (decompressed) bytes in chunks."""
    if compression == "zstd":
        raise ContractError(f"File {file_label(path)}: zstd-compressed text cannot be scanned here.")
    opener = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rb") as fh:
            while block := fh.read(CHUNK):
                yield block
    except (OSError, EOFError) as err:  # a truncated or corrupt gzip stream
        raise ContractError(f"File {file_label(path)} could not be decompressed ({compression}): {err}.") from None


def head_bytes(path: Path, compression: str | None, size: int = 4 << 20) -> bytes:
    """The first ``size`` (decompressed) bytes."""
    if compression == "zstd":
        import duckdb  # DuckDB reads zstd natively; the head is enough to sniff

        con = duckdb.connect()
        try:
            rows = con.sql(
                "SELECT line FROM read_csv(?, columns={'line': 'VARCHAR'}, delim='\\x01', header=false, "
                "quote='', escape='', auto_detect=false, compression='zstd', strict_mode=false) LIMIT 2000",
                params=[str(path)],
            ).fetchall()
        finally:
            con.close()
        return "\n".join(r[0] or "" for r in rows).encode("utf-8")[:size]
    out = bytearray()
    for block in chunks(path, compression):
        out += block
        if len(out) >= size:
            break
    return bytes(out[:size])


# --------------------------------------------------------------------------------------------
# Encodings


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) first; else CP1252 when bytes 0x80-0x9F occur (Windows
    exports: EUR sign, curly quotes, dashes), else Latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError:
        pass
    if any(b in _C1 for b in set(head)):
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in CP1252
            pass
    return "latin-1"


def normal_encoding(enc: str) -> str:
    """Python's canonical name (``latin1`` -> ``iso8859-1``) for comparison and messages."""
    try:
        return codecs.lookup(enc).name
    except LookupError:
        raise ContractError(f"Unknown encoding {enc!r}: use e.g. 'utf-8', 'cp1252' or 'latin-1'.") from None


def needs_transcoding(enc: str) -> bool:
    """DuckDB reads UTF-8 (a BOM included); everything else is converted first."""
    return normal_encoding(enc) not in ("utf-8", "utf-8-sig")


def transcode(path: Path, encoding: str, compression: str | None) -> Path:
    """A temporary UTF-8 copy of ``path`` (the caller deletes it). Undecodable bytes are an error
    naming the line."""
    fd, tmp = tempfile.mkstemp(prefix="workbench-utf8-", suffix=".csv")
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    try:
        with os.fdopen(fd, "wb") as out:
            for block in chunks(path, compression):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as err:
                    at = line + block[: err.start].count(b"\n")
                    raise ContractError(
                        f"File {file_label(path)}, line {at}: byte 0x{block[err.start]:02x} is not valid {encoding} "
                        "text; pass the file's encoding (e.g. encoding='cp1252' or 'latin-1')."
                    ) from None
                line += block.count(b"\n")
                out.write(text.encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


# --------------------------------------------------------------------------------------------
# Counting lines and records


@dataclass
class LineCount:
    """What the cheap pass found: physical lines, empty lines (a lower bound when empty lines
    come in runs of three or more) and whether the file holds any quote character."""

    lines: int
    empty: int
    quotes: int


def count_lines(path: Path, compression: str | None, quote: bytes = b'"') -> LineCount:
    lines = empty = quotes = 0
    last = b""
    for block in _line_aligned(path, compression):
        lines += block.count(b"\n")
        quotes += block.count(quote)
        empty += block.count(b"\n\n") + block.count(b"\n\r\n") + block.startswith((b"\n", b"\r\n"))
        last = block[-1:]
    if last and last != b"\n":
        lines += 1  # a last line without a newline
    return LineCount(lines=lines, empty=empty, quotes=quotes)


@dataclass
class RecordMap:
    """Where records start, following quotes: ``units`` are the 1-based file lines on which a
    new line of the reader starts (records and empty lines, the reader's own line numbering);
    ``records`` the lines on which data records start (header included)."""

    units: np.ndarray
    records: np.ndarray
    open_quote_line: int | None  # the line where a quote opened that never closed
    swallowed: tuple[int, int] | None  # (line where a quote opened, a later line that looks like a record)


def map_records(path: Path, compression: str | None, delimiter: str, quote: bytes = b'"') -> RecordMap:
    """Follow quotes through the file (numpy, chunk by chunk): which lines start a record."""
    q = quote[0]
    d = delimiter.encode()[0] if len(delimiter.encode()) == 1 else None
    units: list[np.ndarray] = []
    records: list[np.ndarray] = []
    line0 = 1  # file line of the chunk's first line
    quotes = 0  # quotes before the chunk
    header_fields: int | None = None
    last_start = 1  # the latest line on which a record started
    swallowed = None
    for block in _line_aligned(path, compression):
        arr = np.frombuffer(block, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        qpos = np.flatnonzero(arr == q)
        n = len(nl) + (0 if block.endswith(b"\n") else 1)
        begins = np.concatenate(([0], nl + 1))[:n]
        ends = np.concatenate((nl, [len(arr)]))[:n]
        q_begin = np.searchsorted(qpos, begins)
        even = (q_begin + quotes) % 2 == 0
        length = ends - begins - ((ends > begins) & (arr[np.maximum(ends - 1, 0)] == 13))
        lines = np.arange(line0, line0 + n, dtype=np.int64)
        units.append(lines[even])
        records.append(lines[even & (length > 0)])
        if d is not None and swallowed is None and n:
            # a line inside quotes that has a record's number of fields and no quote of its own:
            # a stray quote swallowed it
            dpos = np.flatnonzero(arr == d)
            fields = np.searchsorted(dpos, ends) - np.searchsorted(dpos, begins) + 1
            if header_fields is None:
                header_fields = int(fields[0])
            inside = ~even & (length > 0) & (fields == header_fields) & (np.searchsorted(qpos, ends) == q_begin)
            if inside.any():
                hit = int(np.argmax(inside))
                opened = lines[: hit + 1][even[: hit + 1]]
                swallowed = (int(opened[-1]) if len(opened) else last_start, int(lines[hit]))
        if even.any():
            last_start = int(lines[even][-1])
        quotes += len(qpos)
        line0 += n
    open_line = last_start if quotes % 2 else None
    return RecordMap(
        units=np.concatenate(units) if units else np.zeros(0, dtype=np.int64),
        records=np.concatenate(records) if records else np.zeros(0, dtype=np.int64),
        open_quote_line=open_line,
        swallowed=swallowed,
    )


def _line_aligned(path: Path, compression: str | None) -> Iterator[bytes]:
    """Chunks that end at a newline (the last one may not)."""
    rest = b""
    for block in chunks(path, compression):
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        rest = block[cut + 1 :]
        yield block[: cut + 1]
    if rest:
        yield rest
