from django.contrib import admin

from privacy.models import Erasure, ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "customer", "requested_by", "status", "created_at", "expires_at"]
    readonly_fields = ["link_digest", "file"]


@admin.register(Erasure)
class ErasureAdmin(admin.ModelAdmin):
    list_display = ["customer", "erased_by", "erased_at"]
    readonly_fields = ["customer", "erased_by", "counts", "erased_at"]
