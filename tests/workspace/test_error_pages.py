"""Wrong turns look like Supportdesk, say what happened and offer a way back; the log stays quiet."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_ticket_shows_the_branded_404_not_the_url_patterns(client, cast) -> None:
    client.force_login(cast.alice)

    response = client.get("/tickets/987654/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "We couldn't find that page" in page
    assert "Go to the start page" in page
    assert "URLconf" not in page and "Using the URLconf" not in page


def test_an_agent_on_the_reports_gets_the_branded_403_and_no_traceback_in_the_log(
    client, cast, caplog
) -> None:
    client.force_login(cast.alice)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/reports/")

    assert response.status_code == 403
    assert "This page is not open to your role" in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert "Forbidden" in record.getMessage()
    assert record.exc_info is None and not record.exc_text


def test_every_page_names_the_favicon_and_favicon_ico_leads_to_it(client, cast) -> None:
    client.force_login(cast.alice)

    assert 'rel="icon"' in client.get("/inbox/").content.decode()
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 301
    assert redirect["Location"].endswith("favicon.svg")


def test_the_embedded_profile_runs_without_debug_pages_unless_asked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DEBUG"}}
    env["SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
    probe = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    env["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings"

    def debug(extra: dict[str, str]) -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe], env={**env, **extra}, cwd=ROOT,
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return result.stdout.strip().splitlines()[-1]

    assert debug({}) == "False"
    assert debug({"DEBUG": "true"}) == "True"
