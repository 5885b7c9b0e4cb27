"""The lead's team on its deadlines (Deadline.lead_team): the team report's breach hours read it
instead of the lead of every breach. Adding a nullable column without a constraint is instant
on PostgreSQL. The copy is filled here only where the reports read live — breaches not raised
yet, and those due over the last two days (today, and yesterday before its roll-up is built);
older days are read from their roll-ups, and a row without the copy is still counted right,
through its lead (reports/rollups.py). New deadlines get it when they are scheduled."""

from datetime import timedelta

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

RECENT = timedelta(days=2)


def copy_recent(apps, schema_editor) -> None:
    Deadline = apps.get_model("deadlines", "Deadline")
    Lead = apps.get_model("leads", "Lead")
    since = timezone.now() - RECENT
    Deadline.objects.filter(
        Q(raised_at=None, cancelled_at=None) | Q(raised_at__isnull=False, due_at__gte=since),
        kind="breach",
        lead__isnull=False,
        lead_team=None,
    ).update(lead_team=Subquery(Lead.objects.filter(pk=OuterRef("lead")).values("team")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0004_deadline_one_subject_table_rename"),
        ("teams", "0006_team_call_norm"),
    ]

    operations = [
        migrations.AddField(
            model_name="deadline",
            name="lead_team",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="teams.team",
            ),
        ),
        migrations.RunPython(copy_recent, migrations.RunPython.noop),
    ]
