"""Uploads through the API, by agents and by chat visitors: typed by their bytes, named for
display only, size-limited, and nothing stored for a refused file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from attachments.models import Attachment, Source
from attachments.services import clean_filename, detect_type
from tests.helpers.attachments import upload

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>fetch('/api/v1/tickets')</script></body></html>"


def test_an_agent_uploads_a_file_and_gets_its_id_name_type_size_and_url(api_client, cast):
    response = upload(api_client, "/api/v1/uploads", "return-label.pdf", PDF)

    assert response.status_code == 201
    body = response.json()
    attachment = Attachment.objects.get(pk=body["id"])
    assert body == {
        "id": attachment.pk,
        "filename": "return-label.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "url": f"/attachments/{attachment.pk}/",
        "thumbnail_url": "",
    }
    assert attachment.source == Source.AGENT
    assert attachment.uploaded_by == cast.alice
    assert attachment.ticket_id is None and attachment.conversation_id is None
    assert attachment.file.read() == PDF


def test_a_visitor_uploads_into_their_own_chat(visitor):
    response = visitor.upload("receipt.pdf", PDF)

    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert attachment.conversation_id == visitor.conversation_id
    assert attachment.source == Source.VISITOR


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer forged"}, {"HTTP_AUTHORIZATION": "Basic abc"}],
)
def test_uploads_without_a_valid_token_are_refused(db, headers):
    for url in ("/api/v1/uploads", "/api/v1/widget/uploads"):
        response = upload(Client(**headers), url, "a.pdf", PDF)
        assert response.status_code == 401, url
    assert not Attachment.objects.exists()


def test_an_upload_over_the_limit_is_413_and_nothing_is_stored(api_client, visitor, settings):
    settings.SUPPORTDESK_MAX_UPLOAD_MB = 1
    limit = 1024 * 1024

    at_limit = upload(api_client, "/api/v1/uploads", "exact.bin", b"\x01" * limit)
    over = upload(api_client, "/api/v1/uploads", "big.bin", b"\x01" * (limit + 1))
    far_over = visitor.upload("huge.bin", b"\x01" * (3 * limit))

    assert at_limit.status_code == 201
    assert over.status_code == 413
    assert over.json() == {
        "detail": "The file is larger than the limit of 1,048,576 bytes",
        "code": "too_large",
    }
    assert far_over.status_code == 413
    assert far_over.json()["code"] == "too_large"
    assert Attachment.objects.count() == 1


def test_an_empty_file_is_refused_clearly(api_client, visitor):
    for response in (
        upload(api_client, "/api/v1/uploads", "empty.pdf", b""),
        visitor.upload("empty.png", b""),
    ):
        assert response.status_code == 400
        assert response.json() == {"detail": "The file is empty", "code": "empty_file"}
    missing = api_client.post("/api/v1/uploads", {"other": "x"})
    assert missing.status_code == 400
    assert missing.json()["code"] == "no_file"
    assert not Attachment.objects.exists()


def test_a_png_name_with_html_bytes_is_stored_and_served_as_an_opaque_download(api_client, cast):
    response = upload(api_client, "/api/v1/uploads", "photo.png", HTML)

    assert response.status_code == 201
    assert response.json()["content_type"] == "application/octet-stream"
    assert response.json()["thumbnail_url"] == ""
    served = api_client.get(response.json()["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(served.streaming_content) == HTML


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
        (b"GIF89a" + b"\x00" * 10, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (PDF, "application/pdf"),
        (b"Order 1001 arrived crushed.\nPlease help.", "text/plain"),
        ("Größe 42, bitte".encode(), "text/plain"),
        (HTML, "application/octet-stream"),
        (
            b"   <svg xmlns='http://www.w3.org/2000/svg'><script>x</script></svg>",
            "application/octet-stream",
        ),
        (b"<?xml version='1.0'?><x/>", "application/octet-stream"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xff\xfe\xfa garbage", "application/octet-stream"),
    ],
)
def test_the_type_comes_from_the_bytes(content, expected):
    assert detect_type(content) == expected


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../../../etc/passwd", "_.._.._.._etc_passwd"),
        ("C:\\Windows\\System32\\evil.bat", "C:_Windows_System32_evil.bat"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("label\u2066\u2069\u200b.pdf", "label.pdf"),
        ("nul\x00byte.pdf", "nulbyte.pdf"),
        ("line\r\nBcc: x@y.z.pdf", "lineBcc: x@y.z.pdf"),
        ("...hidden", "hidden"),
        ("", "attachment.bin"),
        ("a" * 600 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_hostile_filenames_are_cleaned_for_display(given, shown):
    assert clean_filename(given) == shown


def test_a_hostile_filename_never_reaches_the_storage_or_the_header(api_client):
    name = "..\\..\\x/\u202eevil\u200f.png"
    response = api_client.post("/api/v1/uploads", {"file": SimpleUploadedFile(name, PDF)})

    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    assert not any(c in attachment.filename for c in "/\\\u202e\u200f\x00")
    # Stored under a random name of ours, inside MEDIA_ROOT/attachments.
    assert attachment.file.name.startswith("attachments/")
    assert "evil" not in attachment.file.name and "." not in attachment.file.name.rsplit("/")[-1]
    served = api_client.get(f"/attachments/{attachment.pk}/")
    assert "\n" not in served["Content-Disposition"] and "/" not in served["Content-Disposition"]


def test_a_broken_multipart_body_is_a_json_400(api_client, visitor):
    boundary = "c637e12e2b1a998d80d1b087531af51c"
    for client, url in (
        (api_client, "/api/v1/uploads"),
        (visitor.client(), "/api/v1/widget/uploads"),
    ):
        response = client.post(
            url,
            data=f"--{boundary}--\r\n",
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert response.status_code == 400, url
        assert response.json()["code"] in ("bad_request", "no_file")
