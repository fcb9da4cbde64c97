"""What an uploaded file is, read from its content (never trusted from its name): the kind, a raster image's size
as Pillow reads it, photos' location data removed, and thumbnails.

Location data (the EXIF GPS directory) is removed without decoding the picture: the EXIF block is rewritten
without it and every other byte is copied as it was (JPEG segments, PNG and WebP chunks), so the picture, its
quality and its orientation tag stay exactly as uploaded.
"""

from __future__ import annotations

import io
import re
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from PIL import ExifTags, Image, ImageOps

HEAD = 8192  # bytes read to tell the kind
THUMBNAIL_BOX = (320, 240)
THUMBNAIL_MAX_PIXELS = 50_000_000  # larger images are still attached, shown as a file (a thumbnail would need GBs)
COPY_CHUNK = 1 << 16


@dataclass(frozen=True)
class Kind:
    """A kind of file: its group (what ATTACHMENT_TYPES names), the content type it is stored and served with, and
    its name for people, with its article ("an SVG image")."""

    group: str
    content_type: str
    label: str
    pillow_format: str | None = None  # raster images: the format Pillow must read them as

    @property
    def raster(self) -> bool:
        """PNG, JPEG, GIF or WebP: the only kinds that may be shown inline (once Pillow has read them)."""
        return self.pillow_format is not None


PNG = Kind("image", "image/png", "a PNG image", "PNG")
JPEG = Kind("image", "image/jpeg", "a JPEG image", "JPEG")
GIF = Kind("image", "image/gif", "a GIF image", "GIF")
WEBP = Kind("image", "image/webp", "a WebP image", "WEBP")
PDF = Kind("pdf", "application/pdf", "a PDF document")
ZIP = Kind("zip", "application/zip", "a zip archive")
GZIP = Kind("gzip", "application/gzip", "a gzip file")
TEXT = Kind("text", "text/plain", "a text file")
CSV = Kind("csv", "text/csv", "a CSV file")
JSON = Kind("json", "application/json", "a JSON file")
SVG = Kind("svg", "image/svg+xml", "an SVG image")
HTML = Kind("html", "text/html", "an HTML page")
XML = Kind("xml", "application/xml", "an XML file")
BINARY = Kind("other", "application/octet-stream", "a file of an unknown kind")

GROUPS = {
    "image": "images (PNG, JPEG, GIF, WebP)",
    "pdf": "PDF",
    "text": "text and logs",
    "csv": "CSV",
    "json": "JSON",
    "zip": "zip",
    "gzip": "gzip",
    "svg": "SVG",
    "html": "HTML",
    "xml": "XML",
    "other": "any other file",
}
ANY = "any"  # in ATTACHMENT_TYPES: every group
INLINE_TYPES = frozenset(k.content_type for k in (PNG, JPEG, GIF, WEBP))

MAGIC = [
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"%PDF-", PDF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
    (b"\x1f\x8b", GZIP),
]
# The start of a document browsers would take for HTML (the WHATWG sniffing patterns).
HTML_START = re.compile(
    rb"^<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]", re.I
)
SVG_TAG = re.compile(rb"<svg[\s>]", re.I)


class UnreadableImage(Exception):
    """The file starts like an image but Pillow cannot read it."""


def parse_groups(setting: str) -> frozenset[str]:
    """ATTACHMENT_TYPES ("image,pdf,text,...", or "any") as a set of groups; ValueError names an unknown one."""
    groups = {part.strip().lower() for part in (setting or "").split(",") if part.strip()}
    if ANY in groups:
        return frozenset(GROUPS)
    unknown = sorted(groups - set(GROUPS))
    if unknown:
        raise ValueError(f"ATTACHMENT_TYPES: unknown type {unknown[0]!r}; choose from {', '.join(GROUPS)} or any.")
    return frozenset(groups)


def sniff(head: bytes, file_name: str) -> Kind:
    """The kind of a file from its first bytes; the name only tells text apart (CSV, JSON or plain text)."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if not _is_text(head):
        return BINARY
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c")
    if HTML_START.match(start):
        return HTML
    if start.startswith(b"<") and SVG_TAG.search(head[:4096]):
        return SVG
    if start.startswith(b"<?xml"):
        return XML
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if extension in ("csv", "tsv"):
        return CSV
    if extension == "json" and start[:1] in (b"{", b"["):
        return JSON
    return TEXT


def _is_text(head: bytes) -> bool:
    """UTF-8 (a character cut at the end of the sample is fine), UTF-16 with its mark, or single-byte text with
    hardly any control characters; never anything with NUL bytes in it."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13, 27))
    return controls <= len(head) // 100


def image_size(stream: BinaryIO, kind: Kind) -> tuple[int, int] | None:
    """Read a raster image with Pillow as the kind its first bytes claim: its (width, height), or None when it is
    too large to check (then it is kept as a file, not shown inline). UnreadableImage if Pillow cannot read it."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[kind.pillow_format]) as image:
                size = image.size
                image.verify()  # PNG: every chunk's checksum; the others: the headers
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    except Exception as exc:  # Pillow raises many kinds (SyntaxError, OSError, struct.error...) for a bad file
        raise UnreadableImage(str(exc)) from None
    finally:
        stream.seek(0)
    return size


# ---- location data -------------------------------------------------------------------------------


def _exif_without_location(data: bytes, prefixed: bool) -> bytes | None:
    """The EXIF block less its GPS directory, or None when it has none. `prefixed`: the block starts with
    "Exif\\0\\0" (JPEG) rather than the bare TIFF header (PNG, WebP)."""
    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:  # an unreadable EXIF block: drop it whole, it may hold a location no reader can find
        return b"Exif\x00\x00" if prefixed else b""
    if ExifTags.IFD.GPSInfo not in exif:
        return None
    del exif[ExifTags.IFD.GPSInfo]
    out = exif.tobytes()  # b"Exif\0\0" + TIFF, every other tag (the orientation among them) kept
    return out if prefixed else out[6:]


def without_location(stream: BinaryIO, kind: Kind) -> BinaryIO | None:
    """A copy of the image without EXIF GPS data (in a temporary file), or None when it has none to remove."""
    strip = {JPEG: _jpeg_without_location, PNG: _png_without_location, WEBP: _webp_without_location}.get(kind)
    if strip is None:
        return None
    stream.seek(0)
    out = tempfile.TemporaryFile()
    try:
        changed = strip(stream, out)
    except (struct.error, ValueError):
        changed = False  # not laid out as its kind says: Pillow will refuse it
    stream.seek(0)
    if not changed:
        out.close()
        return None
    out.seek(0)
    return out


def _copy_rest(source: BinaryIO, out: BinaryIO) -> None:
    while chunk := source.read(COPY_CHUNK):
        out.write(chunk)


def _jpeg_without_location(source: BinaryIO, out: BinaryIO) -> bool:
    """JPEG: rewrite the EXIF segment (APP1) without GPS, drop XMP segments that name a location, copy the rest."""
    changed = False
    out.write(source.read(2))  # SOI
    while True:
        marker = source.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            out.write(marker)
            break
        if marker[1] in (0xDA, 0xD9):  # start of scan (the picture itself) or end: copy the rest as it is
            out.write(marker)
            break
        if marker[1] == 0x01 or 0xD0 <= marker[1] <= 0xD7:  # markers without a length
            out.write(marker)
            continue
        (length,) = struct.unpack(">H", source.read(2))
        payload = source.read(length - 2)
        if marker[1] == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            stripped = _exif_without_location(payload, prefixed=True)
            if stripped is not None:
                payload, changed = stripped, True
        elif marker[1] == 0xE1 and payload.startswith(b"http://ns.adobe.com/xap/1.0/") and b"GPS" in payload:
            changed = True
            continue
        out.write(marker + struct.pack(">H", len(payload) + 2) + payload)
    _copy_rest(source, out)
    return changed


def _png_without_location(source: BinaryIO, out: BinaryIO) -> bool:
    """PNG: rewrite the eXIf chunk without GPS (with its new checksum), copy every other chunk."""
    changed = False
    out.write(source.read(8))
    while True:
        header = source.read(8)
        if len(header) < 8:
            out.write(header)
            break
        length, chunk_type = struct.unpack(">I4s", header)
        if chunk_type != b"eXIf":
            out.write(header)
            remaining = length + 4  # data and CRC
            while remaining:
                piece = source.read(min(remaining, COPY_CHUNK))
                if not piece:
                    return changed
                out.write(piece)
                remaining -= len(piece)
            continue
        data = source.read(length)
        crc = source.read(4)
        stripped = _exif_without_location(data, prefixed=False)
        if stripped is not None:
            data, changed = stripped, True
            crc = struct.pack(">I", zlib.crc32(chunk_type + data) & 0xFFFFFFFF)
        out.write(struct.pack(">I4s", len(data), chunk_type) + data + crc)
    return changed


def _webp_without_location(source: BinaryIO, out: BinaryIO) -> bool:
    """WebP: rewrite the EXIF chunk without GPS and the RIFF size to match, copy every other chunk."""
    riff = source.read(12)
    chunks: list[tuple[bytes, int, bytes | None]] = []  # (type, size, data read here or None to copy later)
    changed = False
    positions = []
    while True:
        header = source.read(8)
        if len(header) < 8:
            break
        chunk_type, size = struct.unpack("<4sI", header)
        padded = size + (size & 1)
        if chunk_type == b"EXIF":
            data = source.read(size)
            source.read(padded - size)
            stripped = _exif_without_location(data, prefixed=data.startswith(b"Exif\x00\x00"))
            if stripped is not None:
                data, changed = stripped, True
            chunks.append((chunk_type, len(data), data))
        else:
            positions.append(source.tell())
            chunks.append((chunk_type, size, None))
            source.seek(padded, io.SEEK_CUR)
    if not changed:
        return False
    total = 4 + sum(8 + size + (size & 1) for _type, size, _data in chunks)
    out.write(b"RIFF" + struct.pack("<I", total) + riff[8:12])
    copy_at = iter(positions)
    for chunk_type, size, data in chunks:
        out.write(struct.pack("<4sI", chunk_type, size))
        if data is None:
            source.seek(next(copy_at))
            remaining = size + (size & 1)
            while remaining:
                piece = source.read(min(remaining, COPY_CHUNK))
                out.write(piece)
                remaining -= len(piece)
        else:
            out.write(data + (b"\x00" if size & 1 else b""))
    return True


# ---- thumbnails ----------------------------------------------------------------------------------


def thumbnail(stream: BinaryIO, kind: Kind, size: tuple[int, int]) -> bytes | None:
    """A small WebP of the image, turned upright as its orientation tag says, or None for an image too large to
    decode here. A JPEG is decoded at a fraction of its size (draft mode), so a big photo costs little memory."""
    width, height = size
    if kind.pillow_format != "JPEG" and width * height > THUMBNAIL_MAX_PIXELS:
        return None
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[kind.pillow_format]) as image:
                if kind.pillow_format == "JPEG":
                    image.draft("RGB", (THUMBNAIL_BOX[0] * 2, THUMBNAIL_BOX[1] * 2))
                small = ImageOps.exif_transpose(image)
                small.thumbnail(THUMBNAIL_BOX)
                if small.mode not in ("RGB", "RGBA"):
                    small = small.convert("RGBA" if "A" in small.getbands() or "transparency" in small.info else "RGB")
                out = io.BytesIO()
                small.save(out, "WEBP", quality=80)
                return out.getvalue()
    except Exception:  # it was read once already; a thumbnail that fails leaves the image shown as a file
        return None
    finally:
        stream.seek(0)
