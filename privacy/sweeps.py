from __future__ import annotations

from core.sweeps import register
from privacy import services


@register("retention_raw_mail")
def purge_raw_inbound_mail() -> int:
    return services.purge_raw_inbound_mail()


@register("retention_anonymous_chats")
def anonymise_old_anonymous_chats() -> int:
    return services.anonymise_old_anonymous_chats()


@register("privacy_exports")
def build_pending_exports() -> int:
    """Exports whose task was lost (broker down, worker killed) are built by the sweep."""
    from datetime import timedelta

    from django.utils import timezone

    from privacy.models import ExportJob, ExportStatus

    stale = ExportJob.objects.filter(
        status=ExportStatus.PENDING, created_at__lt=timezone.now() - timedelta(minutes=2)
    ).values_list("pk", flat=True)[:5]
    for job_id in list(stale):
        services.build_export_job(job_id)
    return len(stale)
