from __future__ import annotations

from django.contrib import admin

from care.models import CareTask


@admin.register(CareTask)
class CareTaskAdmin(admin.ModelAdmin):
    list_display = ("ticket", "reason", "suggested_grant", "created_at", "resolved_at")
    list_filter = ("reason", "suggested_grant")
    raw_id_fields = ("ticket", "order", "shipment")
