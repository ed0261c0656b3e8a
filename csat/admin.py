from __future__ import annotations

from django.contrib import admin

from csat.models import Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "conversation", "agent", "rating", "requested_at", "rated_at")
    list_filter = ("rating",)
    raw_id_fields = ("ticket", "conversation", "customer", "agent")
    readonly_fields = ("nonce",)
