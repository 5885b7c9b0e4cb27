"""Search (issue 16.1): pg_trgm and its GIN indexes, on PostgreSQL only (SQLite searches by a
plain scan): every stored phone and e-mail of a lead, and the lead's folded name, company and
primary e-mail (`leads.search.lead_text`, the expression the search filters on). Built
concurrently, so intake keeps writing while a big table is indexed."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations

from crm.lib.postgres_ops import AddIndexOnPostgres, TrigramExtensionOnPostgres
from leads.search import lead_text


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("leads", "0020_event_timeline_index")]

    operations = [
        TrigramExtensionOnPostgres(),
        AddIndexOnPostgres(
            "leadcontactpoint",
            GinIndex(fields=["value"], opclasses=["gin_trgm_ops"], name="lead_point_value_trgm"),
        ),
        AddIndexOnPostgres(
            "lead",
            GinIndex(OpClass(lead_text(), name="gin_trgm_ops"), name="lead_search_trgm"),
        ),
    ]
