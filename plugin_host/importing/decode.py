"""Bytes to text: BOM, strict UTF-8, then a configured legacy code page; never drops characters."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from plugin_host.importing.errors import ImportFileError

CHUNK = 1 << 20
SAMPLE_BYTES = 64 * 1024

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx); save it as CSV first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls); save it as CSV first"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive; unpack it first"),
)

Opener = Callable[[], BinaryIO]
_ESCAPED = re.compile("[\udc80-\udcff]")
_REAL_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


@dataclass
class DecodedSource:
    """A decoded view of the input: ``open_text()`` streams it, ``sample`` is its beginning."""

    encoding: str
    sample: str
    opener: Opener
    warnings: list[str] = field(default_factory=list)

    def open_text(self) -> io.TextIOWrapper:
        """A fresh text stream over the whole input (``newline=""`` as csv needs)."""
        return io.TextIOWrapper(
            self.opener(), encoding=_codec(self.encoding), errors=_errors_for(self.encoding), newline=""
        )


def opener_for(data: bytes | BinaryIO) -> Opener:
    """A callable returning a fresh binary stream at the start of ``data`` (bytes or a seekable file)."""
    if isinstance(data, bytes | bytearray | memoryview):
        buf = bytes(data)
        return lambda: io.BytesIO(buf)
    stream = data

    def reopen() -> BinaryIO:
        stream.seek(0)
        return io.BufferedReader(_Borrowed(stream), CHUNK)

    return reopen


class _Borrowed(io.RawIOBase):
    """Reads a caller's file without ever closing it (our TextIOWrapper closes its buffer)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._inner = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def decode(data: bytes | BinaryIO, legacy_codepage: str = "cp1252") -> DecodedSource:
    """Choose the encoding of ``data`` and check that the whole input decodes with it.

    Order: a BOM (UTF-8, UTF-16 LE/BE); UTF-16 without BOM recognised by its NUL pattern;
    strict UTF-8; UTF-8 with stray legacy bytes (each invalid byte read in ``legacy_codepage``,
    reported as a warning); finally ``legacy_codepage`` for the whole file. Raises
    ``ImportFileError`` for empty or binary input, an unknown code page, or bytes the legacy
    code page does not define (never replaced or dropped).
    """
    _check_codepage(legacy_codepage)
    opener = opener_for(data)
    with opener() as fp:
        head = fp.read(SAMPLE_BYTES)
    if not head.strip(b" \t\r\n\x00"):
        raise ImportFileError("The file is empty.")
    encoding = _bom_encoding(head) or _utf16_without_bom(head)
    if encoding is None:
        _reject_binary(head)
        encoding = _choose_8bit(opener, legacy_codepage)
    warnings = _warnings_for(encoding, opener, legacy_codepage)
    _verify(opener, encoding)
    return DecodedSource(encoding, _sample(opener, encoding), opener, warnings)


def _check_codepage(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ImportFileError(f"Unknown legacy code page {name!r}.") from None


def _bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    return None


def _reject_binary(head: bytes) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ImportFileError(f"This is not a text file: it looks like {what}.")
    if b"\x00" in head:
        raise ImportFileError("This is not a text file: it contains NUL bytes (binary data).")
    controls = sum(head.count(bytes([c])) for c in (*range(1, 9), 11, 12, *range(14, 27), *range(28, 32)))
    if controls > max(8, len(head) // 100):
        raise ImportFileError("This is not a text file: it contains too many control characters.")


def _choose_8bit(opener: Opener, legacy: str) -> str:
    """``utf-8`` when valid; ``utf-8+<legacy>`` when mostly UTF-8 with stray bytes; else ``legacy``."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    invalid = multibyte = False
    with opener() as fp:
        while chunk := fp.read(CHUNK):
            text = decoder.decode(chunk)
            if text.isascii():
                continue
            invalid = invalid or bool(_ESCAPED.search(text))
            multibyte = multibyte or bool(_REAL_NON_ASCII.search(text))
            if invalid and multibyte:
                break
        invalid = invalid or bool(_ESCAPED.search(decoder.decode(b"", final=True)))
    if not invalid:
        return "utf-8"
    return f"utf-8+{legacy}" if multibyte else legacy


def _errors_for(encoding: str) -> str:
    if "+" not in encoding:
        return "strict"
    legacy = encoding.split("+", 1)[1]
    name = f"contacts_hub_legacy_{legacy}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, _legacy_handler(legacy))
    return name


def _legacy_handler(legacy: str) -> Callable[[UnicodeError], tuple[str, int]]:
    def handler(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeDecodeError):
            raise exc
        return exc.object[exc.start : exc.end].decode(legacy), exc.end

    return handler


def _codec(encoding: str) -> str:
    return encoding.split("+", 1)[0]


def _verify(opener: Opener, encoding: str) -> None:
    """Decode everything once (in chunks, nothing kept) so a bad byte fails before any row."""
    decoder = codecs.getincrementaldecoder(_codec(encoding))(errors=_errors_for(encoding))
    offset = 0
    with opener() as fp:
        try:
            while chunk := fp.read(CHUNK):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ImportFileError(_undecodable(encoding, exc, offset, opener)) from None


def _undecodable(encoding: str, exc: UnicodeDecodeError, offset: int, opener: Opener) -> str:
    bad = exc.object[exc.start : exc.start + 1].hex()
    where = offset + exc.start
    name = encoding.split("+")[-1]
    message = (
        f"The file cannot be read as {name}: byte 0x{bad} at offset {where} is not defined in it. "
        "No character was dropped; nothing was imported."
    )
    hint = _detector_hint(opener)
    if hint and hint.lower() not in {name.lower(), "utf_8", "utf-8"}:
        message += f" The file may be encoded as {hint}: choose that code page and try again."
    return message


def _detector_hint(opener: Opener) -> str | None:
    """A charset detector's guess: used only to suggest a code page in messages."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - it is a declared dependency
        return None
    with opener() as fp:
        best = from_bytes(fp.read(SAMPLE_BYTES)).best()
    return best.encoding if best else None


def _warnings_for(encoding: str, opener: Opener, legacy: str) -> list[str]:
    if encoding.startswith("utf-8+"):
        return [
            f"The file is UTF-8 but contains bytes that are not valid UTF-8; those bytes were read as "
            f"{legacy}. Check accented characters in the imported contacts."
        ]
    if encoding == legacy:
        hint = _detector_hint(opener)
        text = f"The file is not UTF-8; it was read with the legacy code page {legacy}."
        if hint and codecs.lookup(hint).name != codecs.lookup(legacy).name:
            text += f" A charset detector suggests {hint}; choose it if accented letters look wrong."
        return [text]
    return []


def _sample(opener: Opener, encoding: str) -> str:
    with opener() as fp:
        raw = fp.read(SAMPLE_BYTES)
    decoder = codecs.getincrementaldecoder(_codec(encoding))(errors=_errors_for(encoding))
    return decoder.decode(raw, final=False)
