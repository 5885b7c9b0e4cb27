"""The calls of a period, whoever made them: the person roll-ups' day of everybody (and the
reports' live today) read the contact attempts by their moment alone, which no index led with
— a scan of every call ever made for today's (1.25M rows at 1M leads, ~250 ms twice a refresh;
10× at 10M). `attempt_report_by` leads with the person, so it serves a person's period, not
everybody's day. A new call adds its entry at the index's recent end. Built concurrently, so
calls keep being logged while a big table is read; SQLite reads its few rows without it."""

from django.db import migrations, models

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0032_alert_events_read_from_deadlines")]

    operations = [
        AddIndexOnPostgres("contactattempt", models.Index(fields=["at"], name="attempt_at")),
    ]
