"""Files for the attachment tests, made here: images (with and without location data), HTML, SVG, text, zip."""

from __future__ import annotations

import io
import zipfile

from PIL import ExifTags, Image

GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
       ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0)}
HTML = b"<!DOCTYPE html><html><body><script>document.title='pwned'</script><p>hello</p></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def image(kind: str = "PNG", size=(64, 48), color="red", gps: bool = False, orientation: int | None = None) -> bytes:
    """A small picture in this format, with EXIF location data and an orientation tag if asked."""
    exif = Image.Exif()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = GPS
    picture = Image.new("RGB", size, color)
    out = io.BytesIO()
    extra = {"exif": exif.tobytes()} if (gps or orientation) else {}
    picture.save(out, kind, **extra)
    return out.getvalue()


def zip_file() -> bytes:
    """A zip archive holding one log."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("app.log", "started\nfailed\n")
    return out.getvalue()


def exif_of(data: bytes) -> Image.Exif:
    """The EXIF tags Pillow reads from an image."""
    with Image.open(io.BytesIO(data)) as picture:
        return picture.getexif()
