"""CSAT: one survey per solved ticket or ended chat, and the customer's one rating of it.

A survey row is created when the customer is asked; the rating fields stay empty until they answer.
Rating again within the change window overwrites the same row, so a conversation never counts twice.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

COMMENT_MAX = 2000


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class Survey(models.Model):
    ticket = models.OneToOneField(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="csat"
    )
    conversation = models.OneToOneField(
        "livechat.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="csat",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="csat_surveys",
    )
    # The agent the rating is credited to: the assignee when the customer was asked.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="csat_surveys",
    )
    email = models.EmailField(blank=True, help_text="Where the survey link was sent, if anywhere.")
    # Part of every signed link: a new request rotates it, so links of older requests stop working.
    nonce = models.CharField(max_length=32, default=new_nonce)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    # Plain text as the customer typed it; templates always escape it.
    comment = models.TextField(blank=True, max_length=COMMENT_MAX)
    requested_at = models.DateTimeField(default=timezone.now)
    rated_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(ticket__isnull=False) & Q(conversation__isnull=True))
                | (Q(ticket__isnull=True) & Q(conversation__isnull=False)),
                name="csat_survey_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="csat_survey_rating_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "-rated_at"], name="csat_agent_rated"),
            models.Index(fields=["rated_at"], name="csat_rated_at"),
        ]

    def __str__(self) -> str:
        subject = f"ticket {self.ticket_id}" if self.ticket_id else f"chat {self.conversation_id}"
        return f"CSAT for {subject}: {self.rating or 'not rated'}"

    @property
    def is_rated(self) -> bool:
        return self.rating is not None
