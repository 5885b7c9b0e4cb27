# Deadline now lives in crm.deadlines (its 0001 took over the table as it is): leave the
# leads state only; the database is not touched here.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0001_initial"),
        ("leads", "0013_criterion_option_archived"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="leadevent",
                    name="deadline",
                    field=models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="event",
                        to="deadlines.deadline",
                    ),
                ),
                migrations.DeleteModel(name="Deadline"),
            ],
            database_operations=[],
        ),
    ]
