import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def every_scope_for_existing_tokens(apps, schema_editor):
    # Tokens issued before scopes existed keep doing what they did: everything their person may.
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in ApiToken.objects.select_related("user"):
        scopes = ["read", "write", "grants"] + (["admin"] if token.user.role == "admin" else [])
        ApiToken.objects.filter(pk=token.pk).update(scopes=scopes)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
    ]

    operations = [
        migrations.AlterModelOptions(name="apitoken", options={"ordering": ["-created_at", "-id"]}),
        migrations.AddField(
            model_name="apitoken", name="name", field=models.CharField(blank=True, max_length=100)
        ),
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.JSONField(default=list, help_text="Subset of read, write, grants, admin."),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(every_scope_for_existing_tokens, migrations.RunPython.noop),
    ]
