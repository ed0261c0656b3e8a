"""Bulk actions: one action over many tickets, each ticket through the service a single change uses.

So every ticket of a bulk change fires the same realtime events (inboxes move live) as a change
made on its page, and a failure on one ticket (unknown, merged, an invalid value) is reported for
that ticket without undoing the others: each ticket is its own transaction.

Small selections (up to `SYNC_LIMIT` ids) run in the request; larger ones, and "everything that
matches the filter", become a `BulkJob` row worked in the background (a Celery task, and the sweep
if that task is lost), whose `done`/`total` is the progress the inbox shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit.services import record
from tickets import merging, services, spam
from tickets.models import BulkJob, BulkJobStatus, Status, Ticket

log = logging.getLogger(__name__)

ACTIONS = ("assign", "unassign", "status", "tag", "untag", "merge", "spam", "not_spam")
MAX_IDS = 10_000
SYNC_LIMIT = 500
# A job's progress is saved every this many tickets (and a crashed job resumes from there).
CHECKPOINT = 100


@dataclass
class BulkResult:
    updated: list[int] = field(default_factory=list)
    failed: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """An action with its value parsed once for the whole selection."""

    action: str
    value: str
    assignee: User | None = None
    status: Status | None = None
    tags: tuple[str, ...] = ()
    into: Ticket | None = None


def prepare(*, action: str, value: object) -> Prepared:
    """Check the action and its value before touching any ticket (TicketError: the whole request
    is refused, nothing changed)."""
    if action not in ACTIONS:
        raise services.TicketError(
            f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}", code="unknown_action"
        )
    text = "" if value is None else str(value).strip()
    match action:
        case "assign":
            if not text.isdigit():
                raise services.TicketError(
                    "assign needs an agent id as value", code="invalid_value"
                )
            assignee = User.objects.filter(pk=int(text), is_active=True).first()
            if assignee is None:
                raise services.TicketError("No active agent with this id", code="invalid_assignee")
            return Prepared(action, text, assignee=assignee)
        case "status":
            if text not in Status.values or text == Status.SPAM:
                allowed = ", ".join(s for s in Status.values if s != Status.SPAM)
                raise services.TicketError(
                    f"status needs one of {allowed} (use action spam for spam)",
                    code="invalid_status",
                )
            return Prepared(action, text, status=Status(text))
        case "tag" | "untag":
            from django.utils.text import slugify

            tags = tuple(dict.fromkeys(slugify(t)[:50] for t in text.split(",") if slugify(t)))
            if not tags:
                raise services.TicketError(f"{action} needs a tag name", code="invalid_value")
            return Prepared(action, text, tags=tags)
        case "merge":
            if not text.isdigit():
                raise services.TicketError(
                    "merge needs the surviving ticket's id as value", code="invalid_value"
                )
            into = Ticket.objects.filter(pk=int(text)).first()
            if into is None:
                raise services.TicketError("No ticket with this id to merge into", code="not_found")
            return Prepared(action, text, into=into)
        case _:
            return Prepared(action, text)


def unique_ids(ids: Iterable[str | int]) -> list[int]:
    """The ids in their first order, each once (a repeated id is worked once)."""
    seen: dict[int, None] = {}
    for raw in ids:
        seen.setdefault(int(raw), None)
    return list(seen)


def apply_one(ticket: Ticket, prepared: Prepared, *, by: User) -> str | None:
    """Apply the action to one ticket; None when done, else the failure's code."""
    if ticket.merged_into_id is not None and prepared.action != "merge":
        return "merged"
    try:
        match prepared.action:
            case "assign":
                services.assign_ticket(ticket, agent=prepared.assignee, by=by)
            case "unassign":
                services.assign_ticket(ticket, agent=None, by=by)
            case "status":
                assert prepared.status is not None  # _prepare sets it for this action
                services.set_status(ticket, status=prepared.status, by=by)
            case "tag":
                services.add_tags(ticket, by=by, names=prepared.tags)
            case "untag":
                services.remove_tags(ticket, by=by, names=prepared.tags)
            case "merge":
                assert prepared.into is not None
                merging.merge_ticket(ticket, into=prepared.into, by=by)
            case "spam":
                spam.mark_spam(ticket, by=by)
            case "not_spam":
                spam.mark_not_spam(ticket, by=by)
    except services.TicketError as exc:
        return exc.code
    except Exception:
        log.exception("Bulk %s failed on ticket %s", prepared.action, ticket.pk)
        return "error"
    return None


def run(
    *, ids: list[int], prepared: Prepared, by: User, result: BulkResult | None = None
) -> BulkResult:
    """Apply the action to each ticket of `ids` (in chunks of at most a few hundred)."""
    result = result or BulkResult()
    # Unknown and deleted ids are found in one query per chunk, not one per id.
    found = Ticket.objects.in_bulk(ids)
    for ticket_id in ids:
        ticket = found.get(ticket_id)
        code = "not_found" if ticket is None else apply_one(ticket, prepared, by=by)
        if code is None:
            result.updated.append(ticket_id)
        else:
            result.failed.append({"id": ticket_id, "code": code})
    return result


def bulk_change(
    *, ids: Iterable[str | int], action: str, value: object, by: User
) -> BulkResult | BulkJob:
    """Apply `action` to the tickets `ids` now (a result), or queue it when there are more than
    `SYNC_LIMIT` of them (a job). More than `MAX_IDS` ids: refused (`too_many`)."""
    prepared = prepare(action=action, value=value)
    unique = unique_ids(ids)
    if len(unique) > MAX_IDS:
        raise services.TicketError(
            f"At most {MAX_IDS} tickets per request; select by filter for more", code="too_many"
        )
    if len(unique) <= SYNC_LIMIT:
        result = run(ids=unique, prepared=prepared, by=by)
        _audit(prepared, by=by, total=len(unique), result=result)
        return result
    return queue_job(ids=unique, prepared=prepared, by=by)


def _audit(
    prepared: Prepared, *, by: User, total: int, result: BulkResult, job: int | None = None
) -> None:
    """One entry for the bulk request (each ticket's change is audited by its own service)."""
    record(
        "ticket.bulk",
        object_type="ticket",
        object_id="",
        actor=by,
        detail={
            "action": prepared.action,
            "value": prepared.value,
            "tickets": total,
            "updated": len(result.updated),
            "failed": len(result.failed),
            **({"job": job} if job is not None else {}),
        },
    )


def bulk_change_matching(
    *, ticket_ids: Iterable[int], action: str, value: object, by: User
) -> BulkJob:
    """Queue `action` for every ticket of a filter (the inbox's "all that match"): always a job."""
    prepared = prepare(action=action, value=value)
    return queue_job(ids=unique_ids(ticket_ids), prepared=prepared, by=by)


def queue_job(*, ids: list[int], prepared: Prepared, by: User) -> BulkJob:
    with transaction.atomic():
        job = BulkJob.objects.create(
            action=prepared.action, value=prepared.value, ids=ids, by=by, total=len(ids)
        )
        job_id = job.pk
        transaction.on_commit(lambda: _start(job_id))
    return job


def _start(job_id: int) -> None:
    from tickets.tasks import run_bulk_job

    try:
        run_bulk_job.delay(job_id)
    except Exception:  # the sweep picks it up
        log.warning("Could not queue bulk job %s; the sweep will run it", job_id, exc_info=True)


LEASE = timedelta(minutes=2)


def work_job(job_id: int) -> bool:
    """Work one job to the end. Claimed with a lease (renewed at each checkpoint), so a job runs
    in one place at a time and a crashed worker's job is taken over once its lease ends; progress
    is checkpointed, so it resumes where it stopped. Each ticket commits on its own. Returns
    whether this call ran the job."""
    now = timezone.now()
    claimed = BulkJob.objects.filter(
        Q(status=BulkJobStatus.QUEUED)
        | Q(status=BulkJobStatus.RUNNING, lease_until__lt=now)
        | Q(status=BulkJobStatus.RUNNING, lease_until__isnull=True),
        pk=job_id,
    ).update(status=BulkJobStatus.RUNNING, lease_until=now + LEASE)
    if not claimed:
        return False
    job = BulkJob.objects.select_related("by").get(pk=job_id)
    try:
        prepared = prepare(action=job.action, value=job.value)
    except services.TicketError as exc:
        job.failed = [*job.failed, *({"id": i, "code": exc.code} for i in job.ids[job.done :])]
        _finish(job)
        return True
    result = BulkResult(updated=list(job.updated), failed=list(job.failed))
    pending = job.ids[job.done :]
    for start in range(0, len(pending), CHECKPOINT):
        chunk = pending[start : start + CHECKPOINT]
        run(ids=chunk, prepared=prepared, by=job.by, result=result)
        job.done += len(chunk)
        BulkJob.objects.filter(pk=job.pk).update(
            done=job.done,
            updated=result.updated,
            failed=result.failed,
            lease_until=timezone.now() + LEASE,
        )
    job.updated, job.failed = result.updated, result.failed
    _finish(job)
    _audit(prepared, by=job.by, total=job.total, result=result, job=job.pk)
    return True


def _finish(job: BulkJob) -> None:
    job.status = BulkJobStatus.DONE
    job.done = job.total
    job.finished_at = timezone.now()
    job.lease_until = None
    job.save(update_fields=["status", "done", "updated", "failed", "finished_at", "lease_until"])


def work_open_jobs(*, limit: int = 5) -> int:
    """The sweep: run jobs whose task was lost (queued, or running under an expired lease)."""
    now = timezone.now()
    ids = list(
        BulkJob.objects.filter(
            Q(status=BulkJobStatus.QUEUED)
            | Q(status=BulkJobStatus.RUNNING, lease_until__lt=now)
            | Q(status=BulkJobStatus.RUNNING, lease_until__isnull=True)
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for job_id in ids if work_job(job_id))
