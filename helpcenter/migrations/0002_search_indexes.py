"""One partial GIN index per language on the stored search vector (Postgres only).

Each language's rows are indexed apart (`WHERE lang = 'es' AND status = 'published'`), which is
exactly what a public search filters on, so each index stays small and the planner picks it.
"""

from django.db import migrations

LANGUAGES = ("en", "es", "de")  # as in helpcenter.models, frozen here


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for lang in LANGUAGES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS help_fts_{lang} ON helpcenter_article "
            f"USING gin (search_vector) WHERE lang = '{lang}' AND status = 'published'"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for lang in LANGUAGES:
        schema_editor.execute(f"DROP INDEX IF EXISTS help_fts_{lang}")


class Migration(migrations.Migration):
    dependencies = [("helpcenter", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
