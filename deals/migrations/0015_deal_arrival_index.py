"""Search (issue 16.1): a deal search's page by walking the deals newest first
(`deals.api.NewestDealMatchesFirst`, for a query matching many contacts), each checked against
the matches by its contact and company and kept within the user's teams — from this index
alone, in its order (arrival, then id, as the page), where the created_at index read each
walked deal's row from the table (at 1M leads ~6,000 rows for a common surname's page).
PostgreSQL only, built concurrently (conversions go on); SQLite scans."""

from django.db import migrations, models

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("deals", "0014_search_phone_last_digits_index")]

    operations = [
        AddIndexOnPostgres(
            "deal",
            models.Index(
                fields=["created_at", "id"],
                include=["team", "contact", "company"],
                name="deal_arrival",
            ),
        ),
    ]
