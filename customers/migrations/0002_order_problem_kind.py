"""Order.problem becomes a kind (none/payment/address/other); the shop's free text moves to
problem_detail, so orders synced before keep what the shop said."""

from django.db import migrations, models


def split_problem_text(apps, schema_editor):
    Order = apps.get_model("customers", "Order")
    for order in Order.objects.exclude(problem="").only("id", "problem").iterator():
        Order.objects.filter(pk=order.pk).update(
            problem_detail=order.problem[:500], problem="other"
        )
    Order.objects.filter(problem="").update(problem="none")


def join_problem_text(apps, schema_editor):
    Order = apps.get_model("customers", "Order")
    Order.objects.filter(problem="none").update(problem="")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="problem_detail",
            field=models.CharField(
                blank=True, help_text="The shop's words about the problem.", max_length=500
            ),
        ),
        migrations.RunPython(split_problem_text, join_problem_text),
        migrations.AlterField(
            model_name="order",
            name="problem",
            field=models.CharField(
                choices=[
                    ("none", "No problem"),
                    ("payment", "Payment problem"),
                    ("address", "Address problem"),
                    ("other", "Other problem"),
                ],
                default="none",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("problem", "none"), _negated=True),
                fields=["id"],
                name="order_with_problem",
            ),
        ),
    ]
