"""The references of the follow-ups and webhooks benchmarks: plain Celery, one task per item.

Follow-ups: one email per task, one SMTP connection each.

    celery -A bench.plain_celery worker --concurrency=2 --pool=prefork

Celery defaults throughout (no acks_late, default prefetch), broker from PLAIN_CELERY_BROKER,
mail to PLAIN_SMTP_HOST:PLAIN_SMTP_PORT with smtplib and no Django: the common way people send
scheduled mail with Celery, and the figure TRAPS.md measured (~17,000/min here).

Webhooks: one event per task, one signed POST each with `requests.post` (a new connection per
call, as the common "a task per webhook event" code does), same JSON body as ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from celery import Celery

app = Celery("plain", broker=os.environ.get("PLAIN_CELERY_BROKER", "redis://127.0.0.1:6379/1"))
app.conf.task_ignore_result = True


@app.task(name="plain.send_follow_up")
def send_follow_up(number: int, to: str) -> None:
    message = EmailMessage()
    message["From"] = "support@bench.example.com"
    message["To"] = to
    message["Subject"] = f"Re: your question [#{number}]"
    message["Message-ID"] = make_msgid(f"plain{number}", "bench.example.com")
    message.set_content(f"Following up on ticket {number}, as promised.\n")
    with smtplib.SMTP(os.environ["PLAIN_SMTP_HOST"], int(os.environ["PLAIN_SMTP_PORT"])) as smtp:
        smtp.send_message(message)


@app.task(name="plain.post_webhook")
def post_webhook(url: str, secret: str, event: dict) -> None:
    import requests

    body = json.dumps(event, separators=(",", ":")).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Supportdesk-Event-Id": event["id"],
            "X-Supportdesk-Event": event["type"],
            "X-Supportdesk-Signature": f"sha256={digest}",
        },
        timeout=10,
    )
    response.raise_for_status()
