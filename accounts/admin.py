from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet

from accounts import auditing, services
from accounts.cutoff import deactivate_agent
from accounts.http import AgentRequest
from accounts.models import ApiToken, User


@admin.action(description="Deactivate now (end sessions, tokens and open sockets)")
def deactivate_now(modeladmin: Any, request: Any, queryset: Any) -> None:
    count = 0
    for user in queryset:
        deactivate_agent(user, by=request.user)
        count += 1
    modeladmin.message_user(request, f"Deactivated {count} people", messages.SUCCESS)


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "role", "team", "is_trainee", "is_active"]
    list_filter = ["role", "is_trainee", "is_active"]
    search_fields = ["email", "name"]
    exclude = ["password", "user_permissions"]
    actions = [deactivate_now, "reset_second_factors"]

    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        # Unticking "active" in the form is a deactivation too: it cuts the person off at once.
        was_active = change and User.objects.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if was_active and not obj.is_active:
            deactivate_agent(obj, by=request.user)

    @admin.action(description="Reset second factors (they set up a new one at next login)")
    def reset_second_factors(self, request: AgentRequest, queryset: QuerySet[User]) -> None:
        removed = 0
        for person in queryset:
            removed += services.reset_second_factors(
                person,
                by=request.user,
                **auditing.request_origin(request),
            )
        self.message_user(
            request,
            f"Removed {removed} second factor(s) of {queryset.count()} person(s).",
            messages.SUCCESS,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "user",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = [
        "digest",
        "prefix",
        "user",
        "scopes",
        "created_at",
        "created_by",
        "last_used_at",
    ]
