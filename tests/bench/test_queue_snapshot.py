"""The queue benchmarks claim a lead per Take next and release it due 30 minutes later; the
snapshot they take first puts every new lead's place in the queue back when they are done."""

from bench import harness
from leads import services
from leads.models import Lead
from tests.factories import make_lead


def test_a_claimed_and_released_lead_is_put_back_where_it_was(world):
    leads = [make_lead(world.team, phone=f"+7916123456{i}") for i in range(3)]
    before = {lead.pk: queue_place(lead) for lead in Lead.objects.all()}
    snapshot = harness.queue_snapshot()

    claimed = services.lead_claim_next(user=world.qualifier, teams=[world.team])
    assert claimed is not None and claimed.pk in {lead.pk for lead in leads}
    harness.release_claim(claimed.pk)
    assert queue_place(Lead.objects.get(pk=claimed.pk)) != before[claimed.pk]

    harness.restore_queue(snapshot)
    assert {lead.pk: queue_place(lead) for lead in Lead.objects.all()} == before


def queue_place(lead: Lead) -> tuple:
    return tuple(getattr(lead, column) for column in harness.QUEUE_COLUMNS)
