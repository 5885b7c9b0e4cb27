"""leads 0032: the stored alert events go (each lead's raised deadlines now stand for them on
its timeline) and back again: migrated backwards, every raised deadline of a lead has its event
as the old sweep wrote it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from crm.deadlines.models import Deadline
from crm.deadlines.sweep import sweep
from leads import alerts
from leads.models import LeadEvent
from tests.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("leads", "0031_lead_never_called_statistics")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def test_alert_events_go_forward_and_come_back_backwards(world):
    now = timezone.now()
    lead = make_lead(world.team, now=now - timedelta(hours=1))
    assert sweep(now=now) == 2
    kept = set(LeadEvent.objects.values_list("pk", "kind"))
    try:
        executor = _migrate(BEFORE)
        old = executor.loader.project_state(BEFORE[0]).apps.get_model("leads", "LeadEvent")
        written = {(e.deadline_id, e.at) for e in old.objects.filter(kind="alert")}
        raised = set(
            Deadline.objects.filter(lead=lead)
            .exclude(raised_at=None)
            .values_list("pk", "raised_at")
        )
        assert written == raised and len(written) == 2
        assert set(old.objects.exclude(kind="alert").values_list("pk", "kind")) == kept
    finally:
        _migrate(None)
    assert set(LeadEvent.objects.values_list("pk", "kind")) == kept  # the alert rows gone
    assert len(alerts.raised_on_timeline(lead, None, None)) == 2
