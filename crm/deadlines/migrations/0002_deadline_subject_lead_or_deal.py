# A deadline belongs to a lead or to a deal: the lead becomes optional and the deal is added.
# 0003 moves the acceptance deadlines to their deals, 0004 adds the one-subject check and
# renames the table (separate migrations: PostgreSQL refuses to alter a table with row
# changes of the same transaction still to check).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0001_initial"),
        ("leads", "0014_deadline_moved_to_crm_deadlines"),
        ("deals", "0002_initial"),  # Deal.lead; nothing later (deals can roll back past the rest)
    ]

    operations = [
        migrations.AlterField(
            model_name="deadline",
            name="lead",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deadlines",
                to="leads.lead",
            ),
        ),
        migrations.AddField(
            model_name="deadline",
            name="deal",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deadlines",
                to="deals.deal",
            ),
        ),
        migrations.AddIndex(
            model_name="deadline",
            index=models.Index(
                condition=models.Q(("deal__isnull", False)), fields=["deal"], name="deadline_deal"
            ),
        ),
    ]
