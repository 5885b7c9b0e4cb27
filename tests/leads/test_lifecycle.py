from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from deals.models import Deal
from handoff.services import lead_convert
from leads import services
from leads.models import JunkReason, Lead, LeadEvent
from tests.factories import make_criterion, make_lead

pytestmark = pytest.mark.django_db


def reached(lead, by):
    services.lead_attempt_log(lead=lead, by=by, outcome="reached", duration_s=60)


def test_new_lead_gets_deadlines_from_team_policy(world):
    now = timezone.now()
    lead = make_lead(world.team, now=now)
    assert lead.state == Lead.State.NEW
    assert lead.warn_at == now + timedelta(minutes=15)
    assert lead.breach_at == now + timedelta(minutes=20)
    assert lead.events.get().kind == LeadEvent.Kind.CREATED


def test_check_needs_a_contact_attempt(world):
    lead = make_lead(world.team)
    with pytest.raises(services.TransitionBlocked) as blocked:
        services.lead_check(lead=lead, by=world.qualifier)
    assert blocked.value.reasons == ["Log at least one contact attempt."]
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    lead.refresh_from_db()
    assert lead.state == Lead.State.CHECKED


def test_check_needs_a_name_and_the_surname_only_where_the_team_asks(world):
    nameless = make_lead(world.team, name="")
    reached(nameless, world.qualifier)
    with pytest.raises(services.TransitionBlocked) as blocked:
        services.lead_check(lead=nameless, by=world.qualifier)
    assert blocked.value.reasons == ["Enter the name."]

    world.team.surname_required = True
    world.team.save()
    lead = make_lead(world.team, name="Иван")
    reached(lead, world.qualifier)
    with pytest.raises(services.TransitionBlocked) as blocked:
        services.lead_check(lead=lead, by=world.qualifier)
    assert "surname" in blocked.value.reasons[0]


def test_check_needs_a_phone(world):
    lead = make_lead(world.team, phone="", email="ivan@example.com")
    reached(lead, world.qualifier)
    with pytest.raises(services.TransitionBlocked) as blocked:
        services.lead_check(lead=lead, by=world.qualifier)
    assert blocked.value.reasons == ["Enter a valid phone number."]


def test_junk_needs_a_reason_and_records_it_with_the_note(world):
    lead = make_lead(world.team)
    with pytest.raises(ValidationError):
        services.lead_junk(lead=lead, by=world.qualifier, reason=None)
    reason = JunkReason.objects.get(slug="spam")
    services.lead_junk(lead=lead, by=world.qualifier, reason=reason, note="bot")
    lead.refresh_from_db()
    assert lead.state == Lead.State.JUNK
    assert lead.junk_reason == reason
    assert lead.closed_at is not None
    event = lead.events.get(kind=LeadEvent.Kind.TRANSITION)
    assert (event.actor, event.from_state, event.to_state, event.reason, event.note) == (
        world.qualifier,
        "new",
        "junk",
        reason,
        "bot",
    )


def test_checked_lead_can_be_junked(world):
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    services.lead_junk(lead=lead, by=world.qualifier, reason=JunkReason.objects.get())
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.JUNK


def test_convert_only_from_checked(world):
    lead = make_lead(world.team)
    with pytest.raises(services.TransitionBlocked) as blocked:
        lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)
    assert "new" in blocked.value.reasons[0]
    assert not Deal.objects.exists()


def test_convert_creates_contact_deal_and_handoff(world):
    lead = make_lead(world.team, email="Ivan@Example.com", company_name="ООО Ромашка")
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    handoff = lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)
    lead.refresh_from_db()
    assert lead.state == Lead.State.CONVERTED
    deal = handoff.deal
    assert (deal.team, deal.stage, deal.lead) == (world.sales, Deal.Stage.HANDED_OFF, lead)
    assert deal.contact.phone == "+79161234567"
    assert deal.contact.email == "ivan@example.com"
    assert deal.company.name == "ООО Ромашка"
    assert (handoff.qualifier, handoff.from_team, handoff.team) == (
        world.qualifier,
        world.team,
        world.sales,
    )


def test_convert_reuses_the_contact_of_the_same_person_at_a_new_company(world):
    first = make_lead(world.team, company_name="Alpha")
    reached(first, world.qualifier)
    services.lead_check(lead=first, by=world.qualifier)
    one = lead_convert(lead=first, by=world.qualifier, sales_team=world.sales)
    second = make_lead(world.team, phone="8 (916) 123-45-67", company_name="Beta")
    reached(second, world.qualifier)
    services.lead_check(lead=second, by=world.qualifier)
    two = lead_convert(lead=second, by=world.qualifier, sales_team=world.sales)
    assert one.deal.contact_id == two.deal.contact_id
    assert one.deal.company.name == "Alpha"
    assert two.deal.contact.company.name == "Beta"


def test_convert_to_a_team_not_handed_off_to_is_refused(world):
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    with pytest.raises(ValidationError):
        lead_convert(lead=lead, by=world.qualifier, sales_team=world.other_team)
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.CHECKED


def test_knock_out_answer_blocks_conversion(world):
    criterion = make_criterion()
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_answer(lead=lead, by=world.qualifier, criterion=criterion, value="modular")
    services.lead_check(lead=lead, by=world.qualifier)
    with pytest.raises(services.TransitionBlocked) as blocked:
        lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)
    assert "knock-out" in blocked.value.reasons[0]
    services.lead_answer(lead=lead, by=world.qualifier, criterion=criterion, value="custom")
    assert lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)


def test_required_criterion_must_be_answered_to_convert(world):
    make_criterion()
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    with pytest.raises(services.TransitionBlocked) as blocked:
        lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)
    assert blocked.value.reasons == ["Answer: Custom or modular?"]


@pytest.mark.parametrize(
    ("state_path", "transition"),
    [
        (["junk"], "mark_checked"),
        (["junk"], "junk"),
        (["junk"], "convert"),
        (["check", "convert"], "mark_checked"),
        (["check", "convert"], "junk"),
        (["check", "convert"], "convert"),
        (["check"], "mark_checked"),
    ],
)
def test_illegal_transitions_are_refused(world, state_path, transition):
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    for step in state_path:
        if step == "check":
            services.lead_check(lead=lead, by=world.qualifier)
        elif step == "junk":
            services.lead_junk(lead=lead, by=world.qualifier, reason=JunkReason.objects.get())
        else:
            lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)
    state = lead.state
    with pytest.raises(services.TransitionBlocked):
        services.lead_transition(
            lead=lead, by=world.qualifier, name=transition, reason=JunkReason.objects.get()
        )
    assert Lead.objects.get(pk=lead.pk).state == state


def test_state_cannot_be_assigned_directly(world):
    lead = make_lead(world.team)
    with pytest.raises(AttributeError):
        lead.state = Lead.State.CONVERTED


def test_a_stale_copy_loses_to_the_first_transition(world):
    lead = make_lead(world.team)
    stale = Lead.objects.get(pk=lead.pk)
    services.lead_junk(lead=lead, by=world.qualifier, reason=JunkReason.objects.get())
    with pytest.raises(services.LeadConflict, match="Someone else changed this lead"):
        services.lead_junk(lead=stale, by=world.teammate, reason=JunkReason.objects.get())
    assert lead.events.filter(kind=LeadEvent.Kind.TRANSITION).count() == 1
