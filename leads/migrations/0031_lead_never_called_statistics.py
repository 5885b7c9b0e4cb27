"""How many open leads were never called, as PostgreSQL's planner sees it. Taken column by
column, "state = new" and "first_attempt_at IS NULL" look independent, so it guessed a tenth of
a team's never-called leads; on a team with a backlog of breached leads it then read the whole
backlog and sorted it for the queue's BREACHED rank (6,600 leads at 1M: 34 ms; 62,000 at 10M:
0.56 s) instead of walking `lead_never_called` backwards for the 51 rows a page needs (0.3 ms).
Statistics of the two columns together (their most common pairs) tell it the truth. ANALYZE
builds them now rather than at autovacuum's next pass (a sample: seconds at 10M leads)."""

from django.db import migrations

from crm.lib.postgres_ops import RunSQLOnPostgres


class Migration(migrations.Migration):
    dependencies = [("leads", "0030_leadevent_deadline_unique_dropped")]

    operations = [
        RunSQLOnPostgres(
            sql=[
                "CREATE STATISTICS lead_state_first_attempt (mcv) ON state, first_attempt_at "
                "FROM leads_lead",
                "ANALYZE leads_lead",
            ],
            reverse_sql=["DROP STATISTICS IF EXISTS lead_state_first_attempt"],
        ),
    ]
