from django.contrib import admin

from accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "role", "team", "is_trainee", "is_active"]
    list_filter = ["role", "is_trainee", "is_active"]
    search_fields = ["email", "name"]
    exclude = ["password", "user_permissions"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["digest", "prefix", "user", "created_at", "last_used_at"]
