"""Files in tests: a photo with a GPS position in its EXIF (as a phone takes it), and an upload
through the real API views."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client


def photo_with_location(*, size: tuple[int, int] = (800, 600), fmt: str = "JPEG") -> bytes:
    """A photo as a phone takes it: EXIF with the camera, the time and a GPS position."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0132] = "2026:11:30 18:04:00"  # DateTime
    exif[0x0112] = 6  # Orientation: rotated 90 degrees
    exif[0x8825] = {  # GPS IFD: 52.5200 N, 13.4050 E
        1: "N",
        2: (52.0, 31.0, 12.0),
        3: "E",
        4: (13.0, 24.0, 18.0),
    }
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def upload(client: Client, url: str, name: str, content: bytes, **headers: str):
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, **headers)
