"""Missed calls first in the queue (issue 17): `Lead.waiting_since`, the `missed_call` event,
and on PostgreSQL the partial index the queue's MISSED rank reads — only leads whose caller
waits are in it, so it stays tiny and costs the intake nothing. Built concurrently, so the
intake keeps writing while a big table is scanned; SQLite reads the rank through the queue's
own index."""

from django.db import migrations, models
from django.db.models import Q

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0023_search_word_prefix_index")]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="waiting_since",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="missed call, waiting since"
            ),
        ),
        migrations.AlterField(
            model_name="leadevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "arrived"),
                    ("claimed", "taken"),
                    ("attempt", "call logged"),
                    ("transition", "state changed"),
                    ("alert", "alert raised"),
                    ("contact", "contact details changed"),
                    ("visit", "site visit booked"),
                    ("mail", "e-mail received"),
                    ("missed_call", "missed call"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        AddIndexOnPostgres(
            "lead",
            models.Index(
                fields=["team", "waiting_since", "id"],
                name="lead_waiting",
                condition=Q(state="new", waiting_since__isnull=False),
            ),
        ),
    ]
