"""The article editor's form: parsing only; the rules live in helpcenter.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpcenter.models import (
    BODY_MAX,
    CATEGORY_NAME_MAX,
    LANGUAGE_NAMES,
    TITLE_MAX,
    ArticleStatus,
)


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    category = forms.CharField(
        label=_("Category"),
        max_length=CATEGORY_NAME_MAX,
        help_text=_("An existing category's name, or a new one (made on save)."),
    )
    lang = forms.ChoiceField(label=_("Language"), choices=list(LANGUAGE_NAMES.items()))
    status = forms.ChoiceField(label=_("Status"), choices=ArticleStatus.choices)
    body = forms.CharField(
        label=_("Text (Markdown)"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_("Markdown: **bold**, ## headings, - lists, [links](https://...)."),
    )
