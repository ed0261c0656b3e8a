"""The snippet form: parsing only; the rules (shortcut format, uniqueness) live in services."""

from __future__ import annotations

from django import forms

from snippets.models import BODY_MAX, SHORTCUT_MAX, TITLE_MAX


class SnippetForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    shortcut = forms.CharField(
        max_length=SHORTCUT_MAX + 1,
        help_text='Typed after "/" in a reply or chat box: lower-case words joined by hyphens.',
    )
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=BODY_MAX,
        help_text="Plain text facts. Agents can edit it after inserting; it is never sent by itself.",
    )
    tags = forms.CharField(required=False, max_length=400, help_text="Comma-separated")
