"""Full-text search on Postgres: a GIN index on the expression `services.search` queries."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS snippet_search_gin ON snippets_snippet "
        "USING gin (to_tsvector('simple'::regconfig, search_document))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS snippet_search_gin")


class Migration(migrations.Migration):
    dependencies = [("snippets", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
