"""The calls and the decisions of a period, whoever made them: the person roll-ups' day of
everybody (and the reports' live today) read the contact attempts and the transition events by
their moment alone, which no index led with — a scan of every call ever made for today's
(1.25M rows at 1M leads, ~250 ms twice a refresh; 10× at 10M), and of the events.
`attempt_report_by` and `event_report_actor` lead with the person, so they serve a person's
period, not everybody's day. A new row adds its entry at an index's recent end. Built
concurrently, so calls and decisions keep being logged while a big table is read; SQLite reads
its few rows without them."""

from django.db import migrations, models
from django.db.models import Q

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0032_alert_events_read_from_deadlines")]

    operations = [
        AddIndexOnPostgres("contactattempt", models.Index(fields=["at"], name="attempt_at")),
        AddIndexOnPostgres(
            "leadevent",
            models.Index(fields=["at"], condition=Q(kind="transition"), name="event_transition_at"),
        ),
    ]
