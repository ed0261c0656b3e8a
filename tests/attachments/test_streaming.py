"""Under daphne a download goes out a chunk at a time: Django's ASGI handler would otherwise read a
whole sync stream (a 20 MB file, a privacy zip, an audit CSV) into memory before its first byte."""

from __future__ import annotations

import os

from asgiref.sync import async_to_sync
from django.test import AsyncClient

from accounts.services import issue_api_token
from attachments.services import create_attachment
from tests.helpers.attachments import upload

PDF_HEADER = b"%PDF-1.7\n"


async def _download(url: str, token: str) -> tuple[bool, int, list[int]]:
    response = await AsyncClient().get(url, headers={"Authorization": f"Bearer {token}"})
    sizes = [len(chunk) async for chunk in response]
    return response.is_async, int(response["Content-Length"]), sizes


def test_a_large_download_is_pulled_chunk_by_chunk_and_arrives_whole(cast, api_client):
    api_token = issue_api_token(cast.alice)
    content = PDF_HEADER + os.urandom(3 * 1024 * 1024)
    stored = upload(api_client, "/api/v1/uploads", "manual.pdf", content).json()

    is_async, length, sizes = async_to_sync(_download)(stored["url"], api_token)

    assert is_async, "a sync stream would be read whole by the ASGI handler"
    assert length == sum(sizes) == len(content)
    assert len(sizes) > 10 and max(sizes) <= 64 * 1024  # many small chunks, not one big read


def test_a_small_download_is_read_at_once(cast):
    api_token = issue_api_token(cast.alice)
    small = create_attachment(content=PDF_HEADER + b"x" * 1000, filename="s.pdf", source="agent")

    is_async, length, sizes = async_to_sync(_download)(f"/attachments/{small.pk}/", api_token)

    assert not is_async and length == sum(sizes) == small.size
