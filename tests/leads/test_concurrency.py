"""Races the spec rules out: two qualifiers never get the same lead, and two users acting on
one lead leave exactly one outcome. Real threads on a real database (PostgreSQL in CI)."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from deals.models import Deal
from handoff.models import Handoff
from handoff.services import lead_convert
from leads import services
from leads.models import JunkReason, Lead, LeadEvent
from tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(workers: list[Callable[[], object]]) -> list[object]:
    """Start all workers at one barrier; collect each one's result or exception."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_eight_qualifiers_claiming_a_hundred_leads_get_a_hundred_distinct_leads(world):
    for _ in range(100):
        make_lead(world.team)
    qualifiers = [UserFactory() for _ in range(8)]
    world.team.members.add(*qualifiers)

    def claim_until_empty(user) -> Callable[[], list[int]]:
        def work() -> list[int]:
            claimed = []
            while True:
                # Each qualifier works the lead it took, so its next press takes a new one.
                lead = services.lead_claim_next(user=user, teams=[world.team])
                if lead is None:
                    return claimed
                claimed.append(lead.pk)
                services.lead_attempt_log(lead=lead, by=user, outcome="wrong_number")

        return work

    results = run_together([claim_until_empty(q) for q in qualifiers])
    claimed = [pk for result in results for pk in result]
    assert len(claimed) == 100
    assert len(set(claimed)) == 100
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.CLAIMED).count() == 100


def test_concurrent_convert_and_junk_leave_one_outcome_and_no_orphan_deal(world):
    reason = JunkReason.objects.get()
    for _round in range(5):
        lead = make_lead(world.team)
        services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
        services.lead_check(lead=lead, by=world.qualifier)
        convert_copy = Lead.objects.get(pk=lead.pk)
        junk_copy = Lead.objects.get(pk=lead.pk)
        results = run_together(
            [
                lambda lead=convert_copy: lead_convert(
                    lead=lead, by=world.qualifier, sales_team=world.sales
                ),
                lambda lead=junk_copy: services.lead_junk(
                    lead=lead, by=world.teammate, reason=reason
                ),
            ]
        )
        lead.refresh_from_db()
        failures = [r for r in results if isinstance(r, Exception)]
        assert len(failures) == 1, results
        assert isinstance(failures[0], services.LeadConflict)
        assert lead.state in (Lead.State.CONVERTED, Lead.State.JUNK)
        converted = lead.state == Lead.State.CONVERTED
        assert Deal.objects.filter(lead=lead).exists() is converted
        assert Handoff.objects.filter(lead=lead).exists() is converted
        assert (
            lead.events.filter(
                kind=LeadEvent.Kind.TRANSITION, to_state__in=["junk", "converted"]
            ).count()
            == 1
        )


def test_ten_concurrent_identical_intake_posts_make_one_lead(world):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from leads.models import LeadSource

    cache.clear()
    source = LeadSource.objects.get(slug="website")
    source.team = world.team
    source.save()
    body = {"name": "Иван Петров", "phone": "+79161234567", "external_id": "order-42"}

    def post() -> tuple[int, int]:
        response = APIClient().post(
            "/api/v1/intake/", body, format="json", HTTP_X_INTAKE_KEY=source.intake_key
        )
        return response.status_code, response.json()["id"]

    results = run_together([post] * 10)
    assert Lead.objects.filter(source=source, external_id="order-42").count() == 1
    assert sorted(code for code, _id in results) == [200] * 9 + [201]
    assert len({lead_id for _code, lead_id in results}) == 1


def test_two_sweeps_at_once_record_each_alert_once(world):
    from datetime import UTC, datetime, timedelta

    from crm.deadlines.models import Deadline
    from crm.deadlines.sweep import sweep as sla_sweep
    from crm.notifications.models import Notification

    noon = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for number in range(60):  # 60 people: one person's repeats would be duplicates
        make_lead(world.team, now=noon, phone=f"+791612{number:05d}")
    later = noon + timedelta(hours=1)
    raised = run_together([lambda: sla_sweep(now=later), lambda: sla_sweep(now=later)])
    assert sum(raised) == 120  # a warning and a breach per lead, whoever raised them
    assert Deadline.objects.filter(raised_at__isnull=False).count() == 120
    # warnings go to both qualifiers of the team, breaches to its manager
    assert Notification.objects.filter(kind="lead_warn").count() == 120
    assert Notification.objects.filter(kind="lead_breach").count() == 60


def test_two_closers_picking_up_one_deal_one_wins(world):
    from deals.models import Deal
    from deals.services import DealConflict, deal_accept
    from tests.factories import make_deal

    rival = UserFactory(role="Closer")
    world.sales.members.add(rival)
    for _round in range(5):
        deal = make_deal(world, phone=f"+7916555000{_round}")
        copies = [Deal.objects.get(pk=deal.pk), Deal.objects.get(pk=deal.pk)]
        results = run_together(
            [
                lambda d=copies[0]: deal_accept(deal=d, by=world.closer),
                lambda d=copies[1]: deal_accept(deal=d, by=rival),
            ]
        )
        assert sum(isinstance(r, DealConflict) for r in results) == 1, results
        deal.refresh_from_db()
        assert deal.stage == "accepted" and deal.closer in (world.closer, rival)
        assert deal.events.filter(kind="stage").count() == 1


def test_two_qualifiers_booking_one_slot_only_one_gets_it(world):
    from datetime import timedelta

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from deals.models import Deal, VisitSlot
    from handoff.services import lead_convert

    slot = VisitSlot.objects.create(
        closer=world.closer,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
    )
    leads = []
    for index, user in enumerate((world.qualifier, world.teammate)):
        lead = make_lead(world.team, phone=f"+7916444000{index}")
        services.lead_attempt_log(lead=lead, by=user, outcome="reached")
        services.lead_check(lead=lead, by=user)
        leads.append((Lead.objects.get(pk=lead.pk), user))
    results = run_together(
        [
            lambda lead=lead, user=user: lead_convert(
                lead=lead, by=user, slot=slot, address="Мира, 1"
            )
            for lead, user in leads
        ]
    )
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results
    assert Deal.objects.count() == 1  # the loser's conversion was undone whole
    assert Lead.objects.filter(state="checked").count() == 1
    slot.refresh_from_db()
    assert slot.deal == Deal.objects.get()


def test_a_pick_up_racing_a_reassignment_never_overwrites_it(world):
    from deals.models import Deal
    from deals.services import DealConflict, deal_accept, deal_assign
    from tests.factories import make_deal

    rival = UserFactory(role="Closer")
    world.sales.members.add(rival)
    for round_ in range(5):
        deal = make_deal(world, phone=f"+7916333000{round_}")
        for_pick_up, for_reassign = Deal.objects.get(pk=deal.pk), Deal.objects.get(pk=deal.pk)
        results = run_together(
            [
                lambda: deal_accept(deal=for_pick_up, by=world.closer),  # noqa: B023
                lambda: deal_assign(deal=for_reassign, by=world.head, closer=rival),  # noqa: B023
            ]
        )
        deal.refresh_from_db()
        assert sum(isinstance(r, DealConflict) for r in results) == 1, results
        if deal.stage == "accepted":  # the pick-up won: the reassignment was refused
            assert deal.closer == world.closer
        else:  # the reassignment won: the pick-up saw it and was refused
            assert (deal.stage, deal.closer) == ("handed_off", rival)


@pytest.fixture(params=["intake", "manual"])
def arrive(request, world):
    """Both ways a lead is stored: intake (one SQL statement on PostgreSQL, the ORM on SQLite)
    and lead_create (manual entry, the ORM everywhere)."""
    from leads.models import LeadSource

    source = LeadSource.objects.get(slug="website")
    source.team = world.team
    source.save()

    def store(**fields: str) -> Lead:
        if request.param == "intake":
            return services.lead_receive(source=source, fields=fields)[0]
        return services.lead_create(team=world.team, source=source, **fields)

    return store


def test_ten_concurrent_first_posts_of_one_phone_make_one_original(world, arrive):
    from crm.deadlines.models import Deadline

    phones = ["+79161234567", "8 916 123-45-67", "+7 (916) 1234567", "9161234567"]
    results = run_together(
        [lambda i=i: arrive(name=f"Иван {i}", phone=phones[i % 4]) for i in range(10)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    originals = Lead.objects.filter(duplicate_of=None)
    assert originals.count() == 1
    original = originals.get()
    assert Lead.objects.filter(duplicate_of=original).count() == 9
    assert set(Deadline.objects.values_list("lead", "kind")) == {
        (original.pk, "warn"),
        (original.pk, "breach"),
    }


def test_concurrent_posts_sharing_a_phone_or_an_e_mail_never_deadlock(world, arrive):
    # Each post shares its phone with one neighbour and its e-mail with the other: the
    # duplicate locks are taken phone first, so the waits cannot form a cycle.
    results = run_together(
        [
            lambda i=i: arrive(phone=f"+7916000000{i // 2}", email=f"p{(i + 1) // 2}@example.ru")
            for i in range(8)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Lead.objects.count() == 8
    for duplicate in Lead.objects.filter(duplicate_of__isnull=False).select_related("duplicate_of"):
        original = duplicate.duplicate_of
        assert duplicate.phone == original.phone or duplicate.email == original.email


def press_take_next(user, teams, how: str) -> Callable[[], int | None]:
    """One press of Take next, by the page's button, the API or the service itself."""
    from django.test import Client
    from rest_framework.test import APIClient

    def press() -> int | None:
        if how == "service":
            lead = services.lead_claim_next(user=user, teams=teams)
            return lead and lead.pk
        if how == "page":
            client = Client()
            client.force_login(user)
            response = client.post("/leads/take-next/")
            assert response.status_code == 302, response
            return int(response.url.rstrip("/").rsplit("/", 1)[1])
        client = APIClient()
        client.force_authenticate(user)
        response = client.post("/api/v1/leads/claim-next/")
        assert response.status_code == 200, response
        return response.json()["id"]

    return press


def test_one_qualifier_pressing_take_next_eight_times_at_once_claims_one_lead(world):
    for number in range(20):
        make_lead(world.team, phone=f"+791612{number:05d}")
    # A double click, two tabs and the API at once: every press gets the same lead.
    hows = ["service", "service", "page", "page", "api", "api", "service", "page"]
    results = run_together([press_take_next(world.qualifier, [world.team], how) for how in hows])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Lead.objects.filter(assignee=world.qualifier).count() == 1
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.CLAIMED).count() == 1


def test_eight_qualifiers_pressing_take_next_at_once_get_eight_distinct_leads(world):
    for number in range(20):
        make_lead(world.team, phone=f"+791612{number:05d}")
    qualifiers = [UserFactory(role="Qualifier") for _ in range(8)]
    world.team.members.add(*qualifiers)
    results = run_together(
        [press_take_next(q, [world.team], "service") for q in qualifiers for _press in (1, 2)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 8  # two presses each, one lead each, nobody's shared
    for index, qualifier in enumerate(qualifiers):
        assert results[2 * index] == results[2 * index + 1]
        assert Lead.objects.get(pk=results[2 * index]).assignee == qualifier
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.CLAIMED).count() == 8


def test_answers_saved_at_once_one_by_one_and_all_together_never_deadlock(world):
    """The workspace saves each field as it is picked while "Save answers" may send the whole
    script: both write the same answers and the lead's score (a 500 from a deadlock, once)."""
    from django.db import transaction

    from leads.models import Answer, Criterion
    from tests.factories import make_criterion

    criteria = [
        make_criterion(f"q{i}", question=f"Q{i}", kind=Criterion.Kind.YES_NO) for i in range(4)
    ]
    lead = make_lead(world.team)

    def save(order: list[Criterion]) -> Callable[[], None]:
        def work() -> None:
            with transaction.atomic():
                for criterion in order:
                    fresh = Lead.objects.get(pk=lead.pk)
                    services.lead_answer(
                        lead=fresh, by=world.qualifier, criterion=criterion, value="yes"
                    )

        return work

    results = run_together(
        [save(criteria), save(criteria[::-1])] + [save([c]) for c in criteria] * 2
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    assert Answer.objects.filter(lead=lead).count() == 4
