"""Export (issue 16.3): each exported lead's phones and e-mails, read by the export
(`leads.exports._points_sql`, a batch of leads at a time; a lookup per lead when this was
built) in their written order (kind, position, id). Covering that order and what the line
shows (value, extension, label), the lookup is index-only: no visit to the table, whose rows
lie scattered in arrival order — at 1M leads that was 921,000 page reads and most of the
export's database time. PostgreSQL only, built concurrently (intake goes on meanwhile);
SQLite exports row by row."""

from django.db import migrations, models

from crm.lib.postgres_ops import AddIndexOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0024_lead_waiting_since_missed_calls")]

    operations = [
        AddIndexOnPostgres(
            "leadcontactpoint",
            models.Index(
                fields=["lead", "kind", "position", "id"],
                include=["value", "ext", "label"],
                name="lead_point_export",
            ),
        ),
    ]
