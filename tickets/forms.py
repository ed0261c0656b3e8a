"""Forms of the agent app and the customer web form: parsing and validation only, no domain rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from tickets.models import Priority, Status, TicketType

STATUS_AFTER_SEND = [("", _("Keep status")), *Status.choices]


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000)
    internal = forms.TypedChoiceField(
        choices=[("0", _("Public reply")), ("1", _("Internal note"))],
        coerce=lambda value: value == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    status = forms.ChoiceField(choices=STATUS_AFTER_SEND, required=False)
    # The newest message the agent had on screen: a newer public one means they would reply blind.
    last_seen_message_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # Files already uploaded with this draft (kept across the send-time collision warning).
    attachment_ids = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A reply may be only files; the service still refuses a reply with neither.
        self.fields["body"].required = False

    def clean_attachment_ids(self) -> list[int]:
        raw = self.cleaned_data.get("attachment_ids") or ""
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Bad attachment list.") from None


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    priority = forms.ChoiceField(choices=Priority.choices)
    type = forms.ChoiceField(choices=TicketType.choices)
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, empty_label=_("Unassigned")
    )
    tags = forms.CharField(required=False, max_length=1000, help_text="Comma-separated")

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class FollowUpForm(forms.Form):
    AT = "at"
    NEXT_BUSINESS_MORNING = "next_business_morning"
    when = forms.ChoiceField(
        choices=[(AT, _("At")), (NEXT_BUSINESS_MORNING, _("Next business morning"))],
        initial=AT,
        required=False,
        widget=forms.RadioSelect,
    )
    # datetime-local carries no offset; Django reads it in the current (server) timezone.
    send_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=100_000)

    def clean_send_at(self) -> datetime | None:
        send_at: datetime | None = self.cleaned_data.get("send_at")
        if send_at is not None and send_at <= timezone.now():
            raise forms.ValidationError("Pick a time in the future.")
        return send_at

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("when") != self.NEXT_BUSINESS_MORNING:
            data["when"] = self.AT
            if data.get("send_at") is None and "send_at" not in self.errors:
                self.add_error("send_at", "Pick a time, or the next business morning.")
        return data

    @property
    def next_business_morning(self) -> bool:
        """Send at the next business morning (the view asks business hours when that is)."""
        return self.cleaned_data.get("when") == self.NEXT_BUSINESS_MORNING


class WebTicketForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(max_length=254)
    subject = forms.CharField(max_length=255)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=50_000)
    # Honeypot: hidden from people, filled in by naive bots.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("name", "subject"):
            if field in data:
                # Header injection: names and subjects end up in mail headers.
                data[field] = " ".join(str(data[field]).splitlines()).strip()
        return data
