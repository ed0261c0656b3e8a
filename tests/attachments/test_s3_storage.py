"""With SUPPORTDESK_STORAGE_URL, files live in S3-compatible object storage through
django-storages: here a real S3 API server (moto's, on loopback) that boto3 talks HTTP to."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from attachments.models import Attachment
from mailer.delivery import deliver_due
from supportdesk.settings import _storage_from_url
from tests import factories
from tests.helpers.attachments import photo_with_location, upload
from tickets import services as ticket_services

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from services import free_port, wait_for_port

KEY, SECRET, BUCKET = "AKIDTEST", "s3cret/with+chars", "desk-files"


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def s3(s3_server, settings):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )
    bucket = f"{BUCKET}-{time.monotonic_ns()}"
    client.create_bucket(Bucket=bucket)
    secret = SECRET.replace("/", "%2F").replace("+", "%2B")
    url = f"s3://{KEY}:{secret}@{bucket}/desk?endpoint_url={s3_server}&region_name=us-east-1"
    settings.STORAGES = {**settings.STORAGES, "default": _storage_from_url(url)}
    return client, bucket


def test_the_storage_url_is_parsed_into_django_storages_options():
    config = _storage_from_url(
        "s3://AK:se%2Fcret@bucket/some/prefix?endpoint_url=https://minio.local:9000"
        "&region_name=eu-1&addressing_style=path"
    )
    assert config == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "bucket",
            "location": "some/prefix",
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
            "access_key": "AK",
            "secret_key": "se/cret",
            "endpoint_url": "https://minio.local:9000",
            "region_name": "eu-1",
            "addressing_style": "path",
        },
    }
    from django.core.exceptions import ImproperlyConfigured

    for bad in ("ftp://bucket", "s3://", "s3://bucket?acl=public-read"):
        with pytest.raises(ImproperlyConfigured):
            _storage_from_url(bad)


def test_uploads_thumbnails_downloads_and_mail_go_through_object_storage(
    s3, api_client, visitor, smtp_sink
):
    client, bucket = s3
    label = b"%PDF-1.7\n% label\n%%EOF\n"

    agent_file = upload(api_client, "/api/v1/uploads", "label.pdf", label).json()
    photo = visitor.upload("box.jpg", photo_with_location()).json()

    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    stored = Attachment.objects.get(pk=photo["id"])
    assert {
        f"desk/{Attachment.objects.get(pk=agent_file['id']).file.name}",
        f"desk/{stored.file.name}",
        f"desk/{stored.thumbnail.name}",
    } <= keys
    body = client.get_object(Bucket=bucket, Key=f"desk/{stored.file.name}")["Body"].read()
    assert b"Phone 15" not in body  # cleaned before it reached the bucket

    served = api_client.get(agent_file["url"])
    assert b"".join(served.streaming_content) == label
    assert visitor.client().get(photo["thumbnail_url"]).status_code == 200

    ticket, _ = ticket_services.create_ticket(
        ticket_services.NewTicket(
            customer=factories.CustomerFactory(email="pat@shop.example"),
            subject="Label",
            body_text="Need a label",
            channel="email",
        )
    )
    response = api_client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        {"body": "Label attached", "attachment_ids": [agent_file["id"]]},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert deliver_due() == 1
    [mail] = smtp_sink.wait_for(1)
    [part] = list(mail.iter_attachments())
    assert part.get_content() == label
