"""Search (issue 16.1): a contact's phones by their last digits, as `leads 0024` does for a
lead's: a btree on reverse(value) with text_pattern_ops. PostgreSQL only, built
concurrently; SQLite scans."""

from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models.functions import Reverse

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("deals", "0013_person_report_indexes")]

    operations = [
        AddIndexOnPostgres(
            "contactpoint",
            models.Index(
                OpClass(Reverse("value"), name="text_pattern_ops"),
                name="contact_point_value_reversed",
            ),
        ),
    ]
