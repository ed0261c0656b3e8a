"""Photos from customers lose their EXIF (location, camera, time) before anyone sees them, stand
upright as taken, and get one thumbnail, made when they arrive."""

from __future__ import annotations

import io

from django.test import Client
from PIL import Image

from attachments.models import Attachment
from tests.helpers.attachments import photo_with_location
from tests.helpers.inbound import build_email, post_raw


def _exif(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def test_a_visitors_photo_is_stored_without_its_location(visitor):
    original = photo_with_location(size=(800, 600))
    assert 0x8825 in _exif(original)  # the phone wrote a GPS position

    response = visitor.upload("IMG_2041.jpg", original)

    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    stored = attachment.file.read()
    assert _exif(stored) == {}
    assert b"PhoneMaker" not in stored and b"Phone 15" not in stored
    assert response.json()["size"] == len(stored)
    with Image.open(io.BytesIO(stored)) as image:
        # Orientation 6 applied: the stored photo is upright, so it needs no tag to say so.
        assert image.size == (600, 800)
    served = b"".join(visitor.client().get(response.json()["url"]).streaming_content)
    assert served == stored


def test_the_thumbnail_is_made_once_on_arrival(visitor, django_assert_num_queries):
    response = visitor.upload("IMG_2042.jpg", photo_with_location(size=(2000, 1500)))
    attachment = Attachment.objects.get(pk=response.json()["id"])
    name = attachment.thumbnail.name

    for _ in range(2):
        thumb = visitor.client().get(response.json()["thumbnail_url"])
        assert thumb.status_code == 200
        assert thumb["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(b"".join(thumb.streaming_content))) as image:
            assert max(image.size) == 320
            assert dict(image.getexif()) == {}

    attachment.refresh_from_db()
    assert attachment.thumbnail.name == name  # served from storage, never made again


def test_png_text_chunks_and_email_photos_are_cleaned_too(db):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 12 Baker Street")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, format="PNG", pnginfo=info)
    msg = build_email(body="photos attached")
    msg.add_attachment(out.getvalue(), maintype="image", subtype="png", filename="door.png")
    msg.add_attachment(photo_with_location(), maintype="image", subtype="jpeg", filename="box.jpg")

    response = post_raw(Client(), msg.as_bytes())

    assert response.status_code == 202
    files = {
        a.filename: a for a in Attachment.objects.filter(message_id=response.json()["message_id"])
    }
    assert b"Baker Street" not in files["door.png"].file.read()
    assert _exif(files["box.jpg"].file.read()) == {}
    assert files["door.png"].thumbnail and files["box.jpg"].thumbnail


def test_an_image_without_metadata_is_kept_byte_for_byte(visitor):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, format="PNG")

    response = visitor.upload("plain.png", out.getvalue())

    assert Attachment.objects.get(pk=response.json()["id"]).file.read() == out.getvalue()
    assert response.json()["thumbnail_url"]


def test_a_broken_or_enormous_image_is_kept_without_a_thumbnail(visitor):
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")  # 81 Mpx: a decompression bomb

    for name, data in (("broken.png", broken), ("bomb.png", out.getvalue())):
        response = visitor.upload(name, data)
        assert response.status_code == 201, name
        assert response.json()["content_type"] == "image/png"
        assert response.json()["thumbnail_url"] == ""
