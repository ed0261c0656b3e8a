"""A person's export with their attachments, end to end on a real daphne: a file mailed in and a
photo uploaded in the widget come back in a zip next to the JSON document, built in the
background and downloadable once by an expiring link; erasure then removes the files and the
photo's thumbnail."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import requests
from PIL import Image

from accounts.services import issue_api_token
from attachments.models import Attachment
from audit.models import AuditEntry
from customers.models import Customer
from privacy.models import ExportJob
from tests.helpers.attachments import new_visitor, photo_with_location
from tickets.inbound import ingest_raw_email

PAT = "pat.payne@example.com"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def live_server_env(live_server_env: dict[str, str], tmp_path, settings) -> dict[str, str]:
    """daphne stores and reads files where this test process does."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return {**live_server_env, "MEDIA_ROOT": str(tmp_path / "media")}


def _mail_with_receipt() -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Pat Payne <{PAT}>"
    mail["To"] = "support@support.example.com"
    mail["Subject"] = "Charged twice"
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content("The receipt is attached.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="../../receipt.pdf")
    return mail.as_bytes()


def _stored(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        return handle.read()


def test_export_with_attachments_is_a_zip_downloaded_once(cast, live_server):
    ingest_raw_email(_mail_with_receipt(), source="webhook")
    pat = Customer.objects.get(emails__address=PAT)
    visitor = new_visitor("Pat Payne", PAT)
    uploaded = requests.post(
        f"{live_server.url}/api/v1/widget/uploads",
        files={"file": ("doorstep.jpg", photo_with_location())},
        headers={"Authorization": f"Bearer {visitor.token}"},
        timeout=20,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert Attachment.objects.count() == 2  # the receipt mailed in, the photo from the widget

    agent = {"Authorization": f"Bearer {issue_api_token(cast.alice)}"}
    manager = {"Authorization": f"Bearer {issue_api_token(cast.carol)}"}
    url = f"{live_server.url}/api/v1/customers/{pat.pk}/export?attachments=true"
    assert requests.get(url, headers=agent, timeout=20).status_code == 403
    started = requests.get(url, headers=manager, timeout=20)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["attachments"] is True and body["download_url"].startswith(live_server.url)

    deadline = time.monotonic() + 30
    while (
        status := requests.get(
            f"{live_server.url}{body['status_url']}", headers=manager, timeout=20
        )
    ).json()["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status.json()["status"] == "ready" and status.json()["attachments"] is True

    download = requests.get(body["download_url"], timeout=20)  # the link is the credential
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/zip"
    assert 'filename="person-export.zip"' in download.headers["Content-Disposition"]
    bundle = zipfile.ZipFile(io.BytesIO(download.content))
    document = json.loads(bundle.read("person-export.json"))
    assert document["profile"]["id"] == pat.pk
    entries = {a["filename"]: a for a in document["attachments"]}
    assert len(entries) == 2
    for name, entry in entries.items():
        path = entry["zip_path"]
        assert path.startswith(f"attachments/{entry['id']}-") and ".." not in path
        assert bundle.read(path) == _stored(Attachment.objects.get(pk=entry["id"])), name
    receipt = next(e for e in entries.values() if e["content_type"] == "application/pdf")
    assert bundle.read(receipt["zip_path"]) == PDF
    photo = next(e for e in entries.values() if e["content_type"].startswith("image/"))
    assert not Image.open(io.BytesIO(bundle.read(photo["zip_path"]))).getexif().get_ifd(0x8825)
    assert set(bundle.namelist()) == {
        "person-export.json",
        *(e["zip_path"] for e in entries.values()),
    }

    # Once: the second use is 410 and the file is gone from storage.
    again = requests.get(body["download_url"], timeout=20)
    assert again.status_code == 410 and again.json()["code"] == "gone"
    job = ExportJob.objects.get(pk=body["job_id"])
    assert job.status == "downloaded" and job.file.name == ""
    storage = Attachment.objects.first().file.storage
    assert storage.listdir("privacy-exports")[1] == []
    entry = AuditEntry.objects.get(action="customer.exported", object_id=str(pat.pk))
    assert entry.detail["attachments"] is True and entry.actor_id == cast.carol.pk

    # Erasure takes the files with it, the photo's thumbnail included.
    photo_row = Attachment.objects.get(pk=photo["id"])
    stored = [
        photo_row.file.path,
        photo_row.thumbnail.path,
        *(Attachment.objects.get(pk=e["id"]).file.path for e in entries.values()),
    ]
    assert photo_row.thumbnail and all(os.path.exists(path) for path in stored)
    admin = {"Authorization": f"Bearer {issue_api_token(cast.dave)}"}
    erased = requests.post(
        f"{live_server.url}/api/v1/customers/{pat.pk}/erase", headers=admin, timeout=20
    )
    assert erased.status_code == 200, erased.text
    assert not Attachment.objects.exists()
    assert not any(os.path.exists(path) for path in stored)
