"""The raised breaches by due moment *and team* (`deadline_breach_team`), replacing
`deadline_breach_raised` (due moment and lead): a day's breaches by team are one range of it,
index-only. Built, then the old one dropped, CONCURRENTLY on PostgreSQL: the sweep keeps
raising deadlines meanwhile."""

from django.db import migrations, models
from django.db.models import Q

CONDITION = Q(kind="breach", raised_at__isnull=False)
OLD = models.Index(fields=["due_at", "lead", "id"], condition=CONDITION, name="deadline_breach_raised")
NEW = models.Index(
    fields=["due_at", "lead_team", "lead", "id"], condition=CONDITION, name="deadline_breach_team"
)


def _swap(apps, schema_editor, build: models.Index, drop: models.Index) -> None:
    model = apps.get_model("deadlines", "Deadline")
    postgres = schema_editor.connection.vendor == "postgresql"
    concurrently = {"concurrently": True} if postgres else {}
    schema_editor.add_index(model, build, **concurrently)
    schema_editor.remove_index(model, drop, **concurrently)


def forwards(apps, schema_editor) -> None:
    _swap(apps, schema_editor, NEW, OLD)


def backwards(apps, schema_editor) -> None:
    _swap(apps, schema_editor, OLD, NEW)


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY

    dependencies = [("deadlines", "0005_deadline_lead_team")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="deadline", name="deadline_breach_raised"),
                migrations.AddIndex(model_name="deadline", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
