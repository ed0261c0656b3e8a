from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_integrationtoken"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="language",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
    ]
