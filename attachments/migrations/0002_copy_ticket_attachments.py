"""Email attachments were `tickets.Attachment`; they move here (one model for all attachments).
The stored files stay where they are: only their rows are copied."""

from django.db import migrations


def copy(apps, schema_editor):
    Old = apps.get_model("tickets", "Attachment")
    New = apps.get_model("attachments", "Attachment")
    batch = []
    for old in Old.objects.select_related("message").order_by("pk").iterator(chunk_size=1000):
        batch.append(
            New(
                file=old.file.name,
                filename=old.filename,
                content_type=old.content_type,
                size=old.size,
                content_id=old.content_id,
                source="email",
                ticket_id=old.message.ticket_id,
                message_id=old.message_id,
            )
        )
        if len(batch) >= 1000:
            New.objects.bulk_create(batch)
            batch = []
    New.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("attachments", "0001_initial"),
        ("tickets", "0003_open_view_index"),
    ]

    operations = [migrations.RunPython(copy, migrations.RunPython.noop)]
