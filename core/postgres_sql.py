"""Migrations of SQL that only Postgres runs: triggers, functions and indexes the embedded
profile (SQLite) does without."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def postgres_only(forward: Sequence[str], backward: Sequence[str]) -> migrations.RunPython:
    """An operation that runs `forward`'s statements in order on Postgres (`backward`'s when
    unapplied) and nothing elsewhere."""

    def run(statements: Sequence[str], schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        run(forward, schema_editor)

    def unapply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        run(backward, schema_editor)

    return migrations.RunPython(apply, unapply)
