"""Moving Deadline from leads to crm.deadlines keeps every row: run the migrations back to the
old layout (the table leads_deadline, the acceptance deadline on the lead), write rows there
the way the old code did, and migrate forward again."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from crm.deadlines.models import Deadline
from tests.factories import make_deal, make_lead

pytestmark = pytest.mark.django_db(transaction=True)

OLD = [("deadlines", None)]  # before the app existed: leads.0013 and Deadline in leads


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_forward_keeps_every_row_and_moves_acceptance_to_the_deal(world):
    now = timezone.now()
    deal = make_deal(world, now=now)
    lead = make_lead(world.team, phone="+79031112233", now=now)
    before = {d.pk: (d.kind, d.due_at, d.raised_at, d.cancelled_at) for d in Deadline.objects.all()}
    try:
        executor = _migrate(OLD)
        assert "leads_deadline" in _tables() and "deadlines_deadline" not in _tables()
        old = executor.loader.project_state(("leads", "0013_criterion_option_archived"))
        OldDeadline = old.apps.get_model("leads", "Deadline")
        # Rolled back: the acceptance deadline hangs on the converted lead again.
        assert OldDeadline.objects.get(kind="acceptance").lead_id == deal.lead_id
        # Rows written by the old code: a raised one, and an acceptance deadline on a lead.
        raised = OldDeadline.objects.create(
            lead_id=lead.pk, kind="stall_remind", due_at=now, raised_at=now
        )
        OldDeadline.objects.filter(kind="acceptance").delete()
        acceptance = OldDeadline.objects.create(
            lead_id=deal.lead_id, kind="acceptance", due_at=now + timedelta(hours=4)
        )
        orphan = OldDeadline.objects.create(  # a lead with no deal: never raisable
            lead_id=lead.pk, kind="acceptance", due_at=now
        )
        before.pop(next(pk for pk, row in before.items() if row[0] == "acceptance"))
        before[raised.pk] = ("stall_remind", now, now, None)
        before[acceptance.pk] = ("acceptance", now + timedelta(hours=4), None, None)
    finally:
        _migrate(None)
    assert "deadlines_deadline" in _tables() and "leads_deadline" not in _tables()
    after = Deadline.objects.all()
    assert len(after) == len(before) + 1
    for d in after:
        if d.pk == orphan.pk:
            assert (d.kind, d.lead_id, d.deal_id) == ("acceptance_orphan", lead.pk, None)
            assert d.cancelled_at is not None
            continue
        assert (d.kind, d.due_at, d.raised_at, d.cancelled_at) == before[d.pk]
    moved = Deadline.objects.get(pk=acceptance.pk)
    assert (moved.lead_id, moved.deal_id) == (None, deal.pk)
    kinds = set(lead.deadlines.values_list("kind", flat=True))
    assert kinds == {"warn", "breach", "stall_remind", "acceptance_orphan"}
    # New rows get fresh ids after the rename (the sequence / identity went with the table).
    fresh = make_lead(world.team, phone="+79035556677", now=now)
    assert min(fresh.deadlines.values_list("pk", flat=True)) > max(before)
