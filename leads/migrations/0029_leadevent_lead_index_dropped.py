"""The SLA sweep at 10M leads (issue 16.6): a lead's events are found through
lead_event_timeline (lead, at, id), whose prefix is the lead; the foreign key's own index on
the lead only cost every new event one more random page of an index as big as the table (the
sweep writes 1,000 events at a time). Dropped CONCURRENTLY on PostgreSQL, so the timeline keeps
taking writes while it goes."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "leads_leadevent_lead_id_426caf75"  # the name Django gave the foreign key's index
TABLE = "leads_leadevent"


def drop(apps, schema_editor) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {INDEX}")


def build(apps, schema_editor) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON {TABLE} (lead_id)")


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY

    dependencies = [("leads", "0028_lead_open_count_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="leadevent",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="leads.lead",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, build)],
        ),
    ]
