"""Admin: the ledger is read-only here too; only core values are edited by the company."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wow_credits.models import CoreValue, DiscountCode, Grant, GrantEvent, Story


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GrantEventInline(admin.TabularInline):
    model = GrantEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "note", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "amount", "currency", "agent", "customer", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["reason", "idempotency_key", "external_ref"]
    inlines = [GrantEventInline]


@admin.register(GrantEvent)
class GrantEventAdmin(ReadOnlyAdmin):
    list_display = ["grant", "from_status", "to_status", "actor", "created_at"]


@admin.register(DiscountCode)
class DiscountCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "amount", "percent", "expires_at", "customer"]


@admin.register(CoreValue)
class CoreValueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "subject_user", "created_at"]
    filter_horizontal = ["values", "grants"]
