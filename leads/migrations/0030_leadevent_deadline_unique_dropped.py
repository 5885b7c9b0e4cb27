"""The SLA sweep at 10M leads: every raised lead deadline inserts an alert event, and the unique
index on the event's deadline gave each one a random page of an index as big as the table. The
sweep's conditional claim already raises a deadline once, so one event per deadline holds
without it, and nothing looks an event up by its deadline. On PostgreSQL only the unique
constraint is dropped (crm.lib.postgres_ops.AlterFieldUniqueDropped): the foreign key stays as
it is, not added again, which would read all the events under a lock that holds off inserts."""

import django.db.models.deletion
from django.db import migrations, models

from crm.lib.postgres_ops import AlterFieldUniqueDropped


class Migration(migrations.Migration):
    atomic = False  # backwards: CREATE UNIQUE INDEX CONCURRENTLY

    dependencies = [
        ("deadlines", "0004_deadline_one_subject_table_rename"),
        ("leads", "0029_leadevent_lead_index_dropped"),
    ]

    operations = [
        AlterFieldUniqueDropped(
            model_name="leadevent",
            name="deadline",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="deadlines.deadline",
            ),
        ),
    ]
