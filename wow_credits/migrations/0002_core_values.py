"""The demo's sample core values; the company edits its own list in the admin."""

from __future__ import annotations

from django.db import migrations
from django.utils.text import slugify

VALUES = [
    "Deliver WOW through service",
    "Embrace and drive change",
    "Create fun and a little weirdness",
    "Be adventurous, creative and open-minded",
    "Pursue growth and learning",
    "Build open and honest relationships",
    "Build a positive team and family spirit",
    "Do more with less",
    "Be passionate and determined",
    "Be humble",
]


def add_values(apps, schema_editor):
    CoreValue = apps.get_model("wow_credits", "CoreValue")
    for position, name in enumerate(VALUES, start=1):
        CoreValue.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("wow_credits", "0001_initial")]

    operations = [migrations.RunPython(add_values, migrations.RunPython.noop)]
