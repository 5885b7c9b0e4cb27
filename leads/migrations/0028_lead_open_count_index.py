"""The queue's count of open leads ("1000+ open leads", `leads.selectors.open_count`, on every
load and every 2-second poll): a team's open leads with their state and assignee (the default
view leaves out other people's checked leads), so the count is index-only. Through the
queue's index it visited every open lead's table page — the rows lie scattered in arrival
order: ~900 page reads per load at 100k leads, and the count is capped at 1,000, so flat with
the table. PostgreSQL only, built concurrently (intake goes on meanwhile)."""

from django.db import migrations, models

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0027_search_team_month_words_index")]

    operations = [
        AddIndexOnPostgres(
            "lead",
            models.Index(
                fields=["team"],
                include=["state", "assignee"],
                name="lead_open_count",
                condition=models.Q(state__in=["new", "checked"]),
            ),
        ),
    ]
