"""Search (issue 16.1): the last digits of a phone read from indexes alone. At 10M leads about
1,000 leads share any four last digits, and the API's page read each one's point row (for its
kind and lead) and its lead row (for its team and arrival) to keep the user's and sort by
arrival: two random heap reads a match, 0.6–1 s. Now the phones' reversed numbers
(`lead_phone_reversed`, partial: e-mails never end in digits) carry the lead and the number,
and `lead_team_arrival` gives a lead's team and arrival by its key, so both reads are
index-only and only the page's leads are read from the table. The number is in the phone
index besides its reversal because the planner takes an index-only scan only when every
column the statement names is in the index. Replaces `lead_point_value_reversed` (0026).
PostgreSQL only, built concurrently (the intake goes on); SQLite scans."""

from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Reverse

from crm.lib.postgres_ops import AddIndexOnPostgres, RemoveIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0033_day_indexes")]

    operations = [
        AddIndexOnPostgres(
            "leadcontactpoint",
            models.Index(
                OpClass(Reverse("value"), name="text_pattern_ops"),
                include=["lead", "value"],
                condition=Q(kind="phone"),
                name="lead_phone_reversed",
            ),
        ),
        RemoveIndexOnPostgres(
            "leadcontactpoint",
            models.Index(
                OpClass(Reverse("value"), name="text_pattern_ops"),
                name="lead_point_value_reversed",
            ),
        ),
        AddIndexOnPostgres(
            "lead",
            models.Index(fields=["id"], include=["team", "created_at"], name="lead_team_arrival"),
        ),
    ]
