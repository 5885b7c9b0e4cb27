"""The person report's roll-ups (issue 16.2, reports/person_rollups.py) read a closer's deals
accepted and closed in a day — today live, a marked day again — by closer first; without these
the closer's index brings every deal they ever had. PostgreSQL only, built CONCURRENTLY (SQLite
databases are small)."""

from django.db import migrations, models

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("deals", "0012_search_word_prefix_indexes")]

    operations = [
        AddIndexOnPostgres(
            "deal",
            models.Index(
                fields=["closer", "accepted_at"],
                condition=models.Q(accepted_at__isnull=False),
                name="deal_report_closer_accepted",
            ),
        ),
        AddIndexOnPostgres(
            "deal",
            models.Index(
                fields=["closer", "closed_at"],
                condition=models.Q(closed_at__isnull=False),
                name="deal_report_closer_closed",
            ),
        ),
    ]
