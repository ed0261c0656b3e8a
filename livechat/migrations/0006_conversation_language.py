from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("livechat", "0005_routing"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="language",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
    ]
