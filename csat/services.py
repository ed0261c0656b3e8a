"""CSAT: asking customers to rate a solved ticket or an ended chat, and reading the results.

The one way in for the survey page, the widget endpoint, the ticket/chat hooks, reports and pages.

Rules:
- one survey per ticket and one per chat (unique rows); asking again never sends a second email;
- the signed link carries the survey id, what it is about and the survey's nonce; a link whose
  payload does not match the survey (another conversation's, or an older request's nonce) is
  refused as forged;
- rating again within CHANGE_WINDOW of the request changes the one rating; afterwards it is refused
  (`expired`, HTTP 410).

Locking contract: `_rate` locks the survey row (SELECT ... FOR UPDATE), so two answers racing
each other leave one rating, the last one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Exists, OuterRef, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone, translation
from django.utils.translation import gettext

from core import hooks, languages
from core.emails import render_email
from csat.models import COMMENT_MAX, Survey, new_nonce
from mailer.services import build_email, queue_email

if TYPE_CHECKING:
    from accounts.models import User
    from livechat.models import Conversation
    from tickets.models import Ticket

log = logging.getLogger(__name__)

TOKEN_SALT = "csat.survey"
CHANGE_WINDOW = timedelta(days=7)
RATINGS = (1, 2, 3, 4, 5)
RECENT_COMMENTS = 5


class CsatError(ValueError):
    """A refused rating, with a code and the HTTP status the page and the API answer with."""

    def __init__(self, detail: str, *, code: str, status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status


# --- tokens ----------------------------------------------------------------------------------


def _subject(survey: Survey) -> tuple[str, int]:
    if survey.ticket_id is not None:
        return "t", survey.ticket_id
    return "c", int(survey.conversation_id or 0)


def issue_token(survey: Survey) -> str:
    kind, subject_id = _subject(survey)
    payload = {"s": survey.pk, "k": kind, "o": subject_id, "n": survey.nonce}
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def survey_url(survey: Survey, *, rating: int | None = None) -> str:
    url = f"{settings.SITE_URL}/csat/{issue_token(survey)}/"
    return f"{url}?rating={rating}" if rating in RATINGS else url


def survey_for_token(token: str) -> Survey:
    """The survey a link proves, or CsatError: 400 forged/stale, 410 past the change window."""
    try:
        if not token or len(token) > 500:
            raise signing.BadSignature("no token")
        data = signing.loads(token, salt=TOKEN_SALT)
        survey_id, kind, subject_id, nonce = int(data["s"]), data["k"], int(data["o"]), data["n"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise CsatError(gettext("This survey link is not valid."), code="bad_token") from None
    survey = Survey.objects.select_related("ticket", "conversation", "agent").filter(pk=survey_id)
    found = survey.first()
    if found is None or _subject(found) != (kind, subject_id):
        raise CsatError(gettext("This survey link is not valid."), code="bad_token")
    if found.nonce != nonce:
        raise CsatError(
            gettext("This survey link was replaced by a newer one; please use the latest email."),
            code="stale_token",
        )
    if timezone.now() > changeable_until(found):
        raise CsatError(
            gettext("This survey closed 7 days after it was sent; thank you all the same."),
            code="expired",
            status=410,
        )
    return found


def changeable_until(survey: Survey) -> datetime:
    return survey.requested_at + CHANGE_WINDOW


# --- asking ----------------------------------------------------------------------------------


def _email_context(survey: Survey, *, about: str) -> dict[str, Any]:
    return {
        "survey": survey,
        "about": about,
        "company": settings.SUPPORTDESK_COMPANY_NAME,
        "url": survey_url(survey),
        "rating_urls": [(n, survey_url(survey, rating=n)) for n in reversed(RATINGS)],
        "days": CHANGE_WINDOW.days,
    }


def _create_survey(**fields: Any) -> Survey | None:
    """Create the one survey; None when it already exists (asked before: never ask twice)."""
    try:
        with transaction.atomic():
            return Survey.objects.create(**fields)
    except IntegrityError:
        return None


def survey_language(survey: Survey) -> str:
    """The customer's language (remembered on them, else the chat's) for the email and the page;
    "" when unknown (the email is then in English, the page in the browser's language)."""
    language = survey.customer.language if survey.customer is not None else ""
    if not language and survey.conversation is not None:
        language = survey.conversation.language
    return languages.supported(language)


def _queue_survey_email(survey: Survey) -> None:
    """Queue the survey email; threaded with the ticket (the chat's ticket once escalated)."""
    from tickets.services import thread_email

    if not survey.email:
        return
    ticket = survey.ticket  # None without a query when ticket_id is None
    if ticket is None and survey.conversation is not None:
        ticket = survey.conversation.ticket
    language = languages.or_default(survey_language(survey))
    with translation.override(language):
        about = survey.ticket.subject if survey.ticket is not None else gettext("your chat with us")
    email = render_email("csat-survey", _email_context(survey, about=about), language=language)
    # RFC 3834: an automatic message, so autoresponders do not answer it.
    headers = {"Auto-Submitted": "auto-generated"}
    if ticket is not None:
        row = thread_email(
            ticket,
            to=survey.email,
            subject=email.subject,
            body_text=email.body_text,
            body_html=email.body_html,
            extra_headers=headers,
        )
    else:
        row = build_email(
            to=[survey.email],
            subject=email.subject,
            body_text=email.body_text,
            body_html=email.body_html,
            extra_headers=headers,
        )
    queue_email(row)


def request_for_ticket(ticket: Ticket, *, send_email: bool = True) -> Survey | None:
    """Ask the customer to rate a solved ticket, once per ticket, by email threaded with it.

    Returns the new survey, or None when the ticket was surveyed before or has no address.
    `send_email=False` records the survey only (demo history that must not fill the outbox).
    """
    from tickets.models import Ticket

    # Read fresh: the credited agent is the assignee now, whatever the caller's copy says.
    ticket = Ticket.objects.select_related("customer", "assignee").get(pk=ticket.pk)
    to = ticket.customer.primary_email
    if not to:
        return None
    with transaction.atomic():
        survey = _create_survey(
            ticket=ticket, customer=ticket.customer, agent=ticket.assignee, email=to
        )
        if survey is not None and send_email:
            _queue_survey_email(survey)
    return survey


def request_for_ticket_id(*, ticket_id: int) -> None:
    """The `ticket_solved` receiver (after commit, robust: a failure here never undoes or breaks
    the solve)."""
    from tickets.models import Status, Ticket

    ticket = Ticket.objects.filter(pk=ticket_id, status__in=[Status.SOLVED, Status.CLOSED]).first()
    if ticket is not None:
        request_for_ticket(ticket)


def request_for_chat(conversation: Conversation) -> Survey | None:
    """Ask a visitor to rate an ended chat, once: the widget shows the form, and an email goes
    out too if the visitor gave an address. None when the chat was surveyed before."""
    with transaction.atomic():
        survey = _create_survey(
            conversation=conversation,
            customer=conversation.customer,
            agent=conversation.assignee,
            email=conversation.visitor_email,
        )
        if survey is not None:
            _queue_survey_email(survey)
    return survey


def request_for_chat_id(*, conversation_id: int) -> None:
    """The `chat_ended` receiver (after commit, robust)."""
    from livechat.models import Conversation

    conversation = (
        Conversation.objects.select_related("customer", "assignee", "ticket")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is not None:
        request_for_chat(conversation)


def resend(survey: Survey) -> Survey:
    """A new request for the same survey (the customer lost the email): a new link goes out,
    links of the older request stop working, and the change window starts again. The rating,
    if there is one, stays the one rating and can be changed with the new link."""
    with transaction.atomic():
        locked = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("ticket", "conversation__ticket")
            .get(pk=survey.pk)
        )
        locked.nonce = new_nonce()
        locked.requested_at = timezone.now()
        locked.save(update_fields=["nonce", "requested_at"])
        _queue_survey_email(locked)
    return locked


# --- answering -------------------------------------------------------------------------------


def parse_rating(value: object) -> int:
    try:
        rating = int(str(value).strip())
    except (TypeError, ValueError):
        rating = 0
    if rating not in RATINGS:
        raise CsatError(gettext("Choose a rating from 1 to 5."), code="invalid_rating")
    return rating


def clean_comment(value: object) -> str:
    comment = str(value or "").replace("\r\n", "\n").strip()
    if len(comment) > COMMENT_MAX:
        raise CsatError(
            gettext("The comment is too long (at most %(max)d characters).") % {"max": COMMENT_MAX},
            code="comment_too_long",
        )
    return comment


def _rate(survey_id: int, *, rating: object, comment: object) -> Survey:
    value, text = parse_rating(rating), clean_comment(comment)
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey_id)
        now = timezone.now()
        if now > changeable_until(survey):
            raise CsatError(
                gettext("This survey closed 7 days after it was sent; thank you all the same."),
                code="expired",
                status=410,
            )
        if survey.rated_at is None:
            survey.rated_at = now
        else:
            survey.changed_at = now
        survey.rating, survey.comment = value, text
        survey.save(update_fields=["rating", "comment", "rated_at", "changed_at"])
        hooks.survey_rated.fire(survey=survey)
    return survey


def record_rating(token: str, rating: object, comment: object = "") -> Survey:
    """Record (or, within the window, change) the rating a signed survey link allows."""
    survey = survey_for_token(token)
    return _rate(survey.pk, rating=rating, comment=comment)


def rate_chat(conversation: Conversation, *, rating: object, comment: object = "") -> Survey:
    """The widget's end-of-chat rating; the visitor token already proved the conversation."""
    from livechat.models import ConversationStatus

    if conversation.status != ConversationStatus.ENDED:
        raise CsatError(gettext("The chat has not ended yet."), code="chat_not_ended", status=409)
    survey = Survey.objects.filter(conversation=conversation).first()
    if survey is None:
        # Ended before surveys existed, or the after-commit hook failed: ask now, without email.
        survey = _create_survey(
            conversation=conversation, customer=conversation.customer, agent=conversation.assignee
        ) or Survey.objects.get(conversation=conversation)
    return _rate(survey.pk, rating=rating, comment=comment)


# --- reading ---------------------------------------------------------------------------------


def rated() -> QuerySet[Survey]:
    return Survey.objects.filter(rating__isnull=False)


def result(survey: Survey | None) -> dict[str, Any] | None:
    """What the ticket and chat JSON show: the rating, or null while there is none."""
    if survey is None or survey.rating is None:
        return None
    return {"rating": survey.rating, "comment": survey.comment, "rated_at": survey.rated_at}


def result_for_ticket(*, ticket: Ticket) -> dict[str, Any] | None:
    """The `ticket_csat` answer."""
    return result(Survey.objects.filter(ticket_id=ticket.pk).first())


def result_for_chat(*, conversation: Conversation) -> dict[str, Any] | None:
    """The `chat_csat` answer."""
    return result(Survey.objects.filter(conversation_id=conversation.pk).first())


@dataclass(frozen=True)
class RecentComment:
    rating: int
    comment: str
    rated_at: datetime
    ticket_id: int | None
    conversation_id: int | None
    customer_name: str


@dataclass(frozen=True)
class AgentSummary:
    count: int
    average: float | None
    # rating -> how many, for every rating 1..5 (zeros included), highest first.
    distribution: dict[int, int]
    recent_comments: list[RecentComment] = field(default_factory=list)
    since: datetime | None = None

    @property
    def bars(self) -> list[tuple[int, int, int]]:
        """(rating, count, percent of all) for a small distribution bar in templates."""
        return [
            (r, n, round(100 * n / self.count) if self.count else 0)
            for r, n in self.distribution.items()
        ]


def summary_for_agent(user: User, *, since: datetime | None = None) -> AgentSummary:
    """The ratings credited to `user` (the assignee when the customer was asked)."""
    surveys = rated().filter(agent=user)
    if since is not None:
        surveys = surveys.filter(rated_at__gte=since)
    totals = surveys.aggregate(n=Count("id"), avg=Avg("rating"))
    counts = dict(surveys.values_list("rating").annotate(n=Count("id")).order_by())
    recent = (
        surveys.exclude(comment="")
        .select_related("customer")
        .order_by("-rated_at", "-id")[:RECENT_COMMENTS]
    )
    return AgentSummary(
        count=totals["n"] or 0,
        average=round(float(totals["avg"]), 2) if totals["avg"] is not None else None,
        distribution={r: counts.get(r, 0) for r in reversed(RATINGS)},
        recent_comments=[
            RecentComment(
                rating=int(s.rating or 0),
                comment=s.comment,
                rated_at=s.rated_at or s.requested_at,
                ticket_id=s.ticket_id,
                conversation_id=s.conversation_id,
                customer_name=s.customer.display_name if s.customer else "",
            )
            for s in recent
        ],
        since=since,
    )


@dataclass(frozen=True)
class TrendPoint:
    week: date
    count: int
    average: float


def trend(period: timedelta | int = 90, *, agent: User | None = None) -> list[TrendPoint]:
    """Weekly count and average rating over the last `period` (days or a timedelta)."""
    span = period if isinstance(period, timedelta) else timedelta(days=period)
    surveys = rated().filter(rated_at__gte=timezone.now() - span)
    if agent is not None:
        surveys = surveys.filter(agent=agent)
    rows = (
        surveys.annotate(week=TruncWeek("rated_at"))
        .values("week")
        .annotate(n=Count("id"), avg=Avg("rating"))
        .order_by("week")
    )
    return [
        TrendPoint(
            week=r["week"].date() if isinstance(r["week"], datetime) else r["week"],
            count=r["n"],
            average=round(float(r["avg"]), 2),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class GroupScore:
    count: int
    average: float | None


@dataclass(frozen=True)
class WowComparison:
    wowed: GroupScore
    others: GroupScore


def wow_comparison(period: timedelta | int | None = None) -> WowComparison:
    """Ratings of customers who received an executed WOW grant against everyone else's."""
    from wow_credits.models import Grant, GrantStatus

    surveys = rated().filter(customer__isnull=False)
    if period is not None:
        span = period if isinstance(period, timedelta) else timedelta(days=period)
        surveys = surveys.filter(rated_at__gte=timezone.now() - span)
    wowed = Exists(
        Grant.objects.filter(customer_id=OuterRef("customer_id"), status=GrantStatus.EXECUTED)
    )
    surveys = surveys.annotate(wowed=wowed)

    def score(qs: QuerySet[Survey]) -> GroupScore:
        agg = qs.aggregate(n=Count("id"), avg=Avg("rating"))
        return GroupScore(
            count=agg["n"] or 0,
            average=round(float(agg["avg"]), 2) if agg["avg"] is not None else None,
        )

    return WowComparison(
        wowed=score(surveys.filter(wowed=True)), others=score(surveys.filter(wowed=False))
    )
