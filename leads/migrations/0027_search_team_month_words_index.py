"""Search (issue 16.1): the lead's words index again, with every word also behind its team and
month of arrival (`leads.search.lead_search_words`: `lead_words()` and `TeamMonthWords`), as
`lead_team_month_words` — a qualifier's name search reads the matches of their team's recent
months only, where `lead_words` read every team's and the arrival words' long posting lists.
It holds all `lead_words` held (the same words and arrival words), so that index goes. Built and
dropped concurrently on PostgreSQL (intake goes on meanwhile), nothing elsewhere; then the
table is analyzed: the new expression has no statistics before, and without them the planner
guesses tens of thousands of matches for a team's few and starts parallel workers (at 1M: 26 ms
a window, 0.3 ms after ANALYZE)."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations

from crm.lib.postgres_ops import AddIndexOnPostgres, RemoveIndexOnPostgres
from leads.search import lead_search_words, lead_words


def analyze(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY

    dependencies = [("leads", "0026_search_phone_last_digits_index")]

    operations = [
        AddIndexOnPostgres("lead", GinIndex(lead_search_words(), name="lead_team_month_words")),
        RemoveIndexOnPostgres("lead", GinIndex(lead_words(), name="lead_words")),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
