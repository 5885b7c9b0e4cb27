"""A lead's alerts are read from its raised deadlines (leads.alerts.raised_on_timeline), no
longer stored as events: the sweep wrote one event per raised deadline, each at its lead's
place in the events' timeline index, and at 10M leads that was a page read from disk per
alert. The stored alert events repeat what their deadlines hold (the moment raised, the
kind), so they go, and with them the event's `deadline` column, which only they used.
Backwards, each raised deadline of a lead gets its event again."""

from django.db import migrations

ALERTS_DELETED = "DELETE FROM leads_leadevent WHERE kind = 'alert'"
ALERTS_WRITTEN_AGAIN = """
INSERT INTO leads_leadevent
    (lead_id, actor_id, at, kind, from_state, to_state, reason_id, note, attempt_id, deadline_id)
SELECT lead_id, NULL, raised_at, 'alert', '', '', NULL, '', NULL, id
FROM deadlines_deadline
WHERE lead_id IS NOT NULL AND raised_at IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0004_deadline_one_subject_table_rename"),
        ("leads", "0031_lead_never_called_statistics"),
    ]

    operations = [
        migrations.RunSQL(ALERTS_DELETED, ALERTS_WRITTEN_AGAIN),
        migrations.RemoveField(model_name="leadevent", name="deadline"),
    ]
