"""Search (issue 16.1): the last digits of a phone as a prefix of the reversed number — a
btree on reverse(value) with text_pattern_ops (LIKE 'prefix%' needs it under a non-C
collation), so "the last four digits" reads its matches only. PostgreSQL only, built
concurrently; SQLite scans."""

from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models.functions import Reverse

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0025_lead_point_export_index")]

    operations = [
        AddIndexOnPostgres(
            "leadcontactpoint",
            models.Index(
                OpClass(Reverse("value"), name="text_pattern_ops"),
                name="lead_point_value_reversed",
            ),
        ),
    ]
