"""The qualifier's workspace (issue 12): contact details corrected on the call, the name rule,
blockers that say what is missing, answers saved one by one, Log call that also checks, and
what the page says after converting."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal, VisitSlot
from handoff.services import lead_convert
from leads import services
from leads.models import Criterion, Lead, LeadEvent
from tests.factories import make_criterion, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def qualifier_client(client, world):
    client.force_login(world.qualifier)
    return client


def reached(lead, by):
    services.lead_attempt_log(lead=lead, by=by, outcome="reached", duration_s=60)


# Contact details ------------------------------------------------------------------------


def test_contact_update_normalises_and_names_the_changed_fields_never_their_values(world):
    lead = make_lead(world.team, name="Анна", email="")
    changed = services.lead_contact_update(
        lead=lead,
        by=world.qualifier,
        name="  Анна   Смирнова ",
        phones=[
            ("+7 916 123-45-67", "other", ""),  # the same number, typed differently
            ("8 (903) 111-22-33", "work", "12"),
        ],
        emails=[("Anna@Example.COM", "home")],
        company_name="ООО Ромашка",
    )
    lead.refresh_from_db()
    assert (lead.name, lead.phone, lead.email) == (
        "Анна Смирнова",
        "+79161234567",
        "anna@example.com",
    )
    points = [(p.kind, p.value, p.label, p.ext, p.position) for p in lead.points.all()]
    assert points == [
        ("email", "anna@example.com", "home", "", 0),
        ("phone", "+79161234567", "other", "", 0),
        ("phone", "+79031112233", "work", "12", 1),
    ]
    assert changed == ["name", "company_name", "phone", "email"]
    event = lead.events.get(kind=LeadEvent.Kind.CONTACT)
    assert event.note == "name,company_name,phone,email"
    assert "9031112233" not in event.note and "example" not in event.note
    assert event.actor == world.qualifier


def test_contact_update_without_a_change_leaves_no_event(world):
    lead = make_lead(world.team)
    assert services.lead_contact_update(lead=lead, by=world.qualifier, name=lead.name) == []
    assert not lead.events.filter(kind=LeadEvent.Kind.CONTACT).exists()


def test_contact_update_refuses_a_bad_phone_and_saves_nothing(world):
    lead = make_lead(world.team, name="Анна")
    with pytest.raises(services.ValidationError) as error:
        services.lead_contact_update(
            lead=lead,
            by=world.qualifier,
            name="Анна Ли",
            phones=[(lead.phone, "mobile", ""), ("12", "work", "")],
        )
    assert "phone" in error.value.message_dict
    lead.refresh_from_db()
    assert (lead.name, lead.points.count()) == ("Анна", 1)


def test_changed_phone_links_the_lead_to_the_teams_older_open_lead_and_unlinks_it(world):
    older = make_lead(world.team, phone="+79031112233", name="Старый Лид")
    make_lead(world.other_team, phone="+79035556677")  # another team's: never linked
    lead = make_lead(world.team, phone="+79161234567")
    assert lead.duplicate_of is None

    services.lead_contact_update(lead=lead, by=world.qualifier, phone="8 903 111-22-33")
    assert Lead.objects.get(pk=lead.pk).duplicate_of == older

    services.lead_contact_update(lead=lead, by=world.qualifier, phone="+79035556677")
    assert Lead.objects.get(pk=lead.pk).duplicate_of is None


def test_a_lead_never_called_keeps_one_first_call_clock_when_its_phone_relinks_it(world):
    """Found attacking issue 11: a lead corrected into a duplicate kept its own alerts, and a
    duplicate corrected away from its original had no clock at all."""
    make_lead(world.team, phone="+79031112233")
    lead = make_lead(world.team, phone="+79161234567")

    def running():
        return sorted(
            lead.deadlines.filter(cancelled_at=None, raised_at=None).values_list("kind", "due_at")
        )

    clock = running()
    assert len(clock) == 2
    services.lead_contact_update(lead=lead, by=world.qualifier, phone="8 903 111-22-33")
    assert running() == []  # the original's clock counts

    services.lead_contact_update(lead=lead, by=world.qualifier, phone="+79035556677")
    assert running() == clock  # its own clock again, from its arrival

    reached(lead, world.qualifier)  # called: no first-call clock left to move
    services.lead_contact_update(lead=lead, by=world.qualifier, phone="8 903 111-22-33")
    services.lead_contact_update(lead=lead, by=world.qualifier, phone="+79035556677")
    assert running() == []


def test_the_oldest_lead_edited_to_a_newer_ones_phone_is_not_its_duplicate(world):
    oldest = make_lead(world.team, phone="+79161234567")
    make_lead(world.team, phone="+79031112233")
    services.lead_contact_update(lead=oldest, by=world.qualifier, phone="+79031112233")
    assert Lead.objects.get(pk=oldest.pk).duplicate_of is None


def test_contact_of_a_closed_lead_or_a_teammates_lead_cannot_be_changed(world):
    lead = make_lead(world.team)
    reached(lead, world.teammate)  # the teammate works it now
    with pytest.raises(services.LeadConflict):
        services.lead_contact_update(lead=lead, by=world.qualifier, name="Кто-то Другой")
    services.lead_junk(lead=lead, by=world.teammate, reason=services.JunkReason.objects.first())
    with pytest.raises(services.LeadConflict):
        services.lead_contact_update(lead=lead, by=world.teammate, name="Кто-то Другой")


def test_workspace_edits_a_one_word_name_and_the_lead_can_then_be_checked(qualifier_client, world):
    world.team.surname_required = True
    world.team.save()
    lead = make_lead(world.team, name="Анна")
    reached(lead, world.qualifier)
    assert "surname" in services.transition_blockers(lead, "mark_checked")[0]

    response = qualifier_client.post(
        reverse("leads:contact", args=[lead.pk]),
        {"name": "Анна Смирнова", "phone_0": "+79161234567", "phone_0_kind": "mobile"},
        follow=True,
    )
    assert "Contact details saved." in response.content.decode()
    qualifier_client.post(reverse("leads:check", args=[lead.pk]))
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.CHECKED
    timeline = qualifier_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "contact details changed" in timeline and "full name" in timeline


def test_contact_form_without_a_phone_or_email_is_refused(qualifier_client, world):
    lead = make_lead(world.team, name="Анна")
    response = qualifier_client.post(
        reverse("leads:contact", args=[lead.pk]), {"name": "", "phone": "", "email": ""}
    )
    assert response.status_code == 400
    assert "Enter a phone or an e-mail" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).name == "Анна"


# The name rule and the blockers' texts --------------------------------------------------


def test_a_first_name_alone_checks_unless_the_team_asks_for_a_surname(world):
    lead = make_lead(world.team, name="Анна")
    reached(lead, world.qualifier)
    assert services.transition_blockers(lead, "mark_checked") == []
    world.team.surname_required = True
    world.team.save()
    lead = Lead.objects.select_related("team").get(pk=lead.pk)
    assert services.transition_blockers(lead, "mark_checked") == [
        "Enter the surname too: this team asks for the first and last name."
    ]


def test_convert_blocker_names_each_unanswered_required_criterion_in_order(world):
    make_criterion("budget", question="Budget", kind=Criterion.Kind.NUMBER, order=1)
    make_criterion("kitchen", question="Kitchen type", order=2)
    make_criterion("notes", question="Notes", kind="text", required=False, knock_out=False)
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    assert services.transition_blockers(lead, "convert") == ["Answer: Budget, Kitchen type"]


def test_knock_out_blocker_names_the_question(world):
    kitchen = make_criterion(question="Kitchen type")
    lead = make_lead(world.team)
    services.lead_answer(lead=lead, by=world.qualifier, criterion=kitchen, value="modular")
    assert services.convert_condition_blockers(lead) == [
        "A knock-out answer disqualifies this lead: Kitchen type"
    ]


def test_convert_panel_of_a_new_lead_says_what_converting_will_need(qualifier_client, world):
    make_criterion(question="Kitchen type")
    lead = make_lead(world.team)
    html = qualifier_client.get(reverse("handoff:convert", args=[lead.pk])).content.decode()
    assert "Check the lead first." in html and "Answer: Kitchen type" in html


# Answers saved one by one ----------------------------------------------------------------


def test_answer_endpoint_saves_one_answer_and_returns_the_new_score(qualifier_client, world):
    kitchen = make_criterion(question="Kitchen type")
    lead = make_lead(world.team)
    response = qualifier_client.post(
        reverse("leads:answer", args=[lead.pk]), {"criterion": kitchen.pk, "value": "custom"}
    )
    assert response.status_code == 200
    assert 'id="lead-badges"' in response.content.decode()
    assert "hot · 100" in response.content.decode()
    assert lead.answers.get().value == "custom"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"criterion": "0", "value": "custom"}, "no longer asked"),
        ({"criterion": "abc", "value": "custom"}, "no longer asked"),
        ({"value": "custom"}, "no longer asked"),
        ({"criterion": "KITCHEN", "value": "granite"}, "valid choice"),
    ],
)
def test_bad_answer_is_a_400_with_the_reason_and_saves_nothing(
    qualifier_client, world, data, reason
):
    kitchen = make_criterion(question="Kitchen type")
    lead = make_lead(world.team)
    if data.get("criterion") == "KITCHEN":
        data = {**data, "criterion": kitchen.pk}
    response = qualifier_client.post(reverse("leads:answer", args=[lead.pk]), data)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not lead.answers.exists()


def test_bad_number_answer_is_refused_with_the_reason(qualifier_client, world):
    budget = make_criterion("budget", question="Budget", kind=Criterion.Kind.NUMBER)
    lead = make_lead(world.team)
    response = qualifier_client.post(
        reverse("leads:answer", args=[lead.pk]), {"criterion": budget.pk, "value": "lots"}
    )
    assert response.status_code == 400 and response.content
    assert not lead.answers.exists()


def test_knocked_out_lead_shows_the_badge_not_its_temperature(qualifier_client, world):
    kitchen = make_criterion(question="Kitchen type", weight=6)
    decides = make_criterion("decides", question="Decides?", kind="yes_no", knock_out=False)
    lead = make_lead(world.team)
    services.lead_answer(lead=lead, by=world.qualifier, criterion=decides, value="yes")
    response = qualifier_client.post(
        reverse("leads:answer", args=[lead.pk]), {"criterion": kitchen.pk, "value": "modular"}
    )
    assert "knocked out" in response.content.decode()
    html = qualifier_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "knocked out" in html
    assert "warm · " not in html and "hot · " not in html


# Log call that also checks ---------------------------------------------------------------


def test_log_call_with_check_too_checks_a_reached_lead_with_complete_data(qualifier_client, world):
    lead = make_lead(world.team, name="Анна")
    response = qualifier_client.post(
        reverse("leads:attempt", args=[lead.pk]), {"outcome": "reached", "check": "on"}, follow=True
    )
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.CHECKED
    assert "Lead checked." in response.content.decode()


def test_log_call_with_check_too_says_what_still_blocks_and_keeps_the_call(qualifier_client, world):
    lead = make_lead(world.team, name="", phone="", email="a@example.com")
    response = qualifier_client.post(
        reverse("leads:attempt", args=[lead.pk]), {"outcome": "reached", "check": "on"}, follow=True
    )
    html = response.content.decode()
    assert "Not checked yet" in html and "Enter the name." in html
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.state, lead.attempts.count()) == (Lead.State.NEW, 1)


def test_log_call_with_check_too_does_not_check_after_no_answer(qualifier_client, world):
    lead = make_lead(world.team)
    qualifier_client.post(
        reverse("leads:attempt", args=[lead.pk]), {"outcome": "no_answer", "check": "on"}
    )
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.NEW


# The workspace page ----------------------------------------------------------------------


def test_due_countdown_carries_its_due_time_and_words_in_the_readers_language(
    qualifier_client, world
):
    lead = make_lead(world.team)
    html = qualifier_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert f'data-due="{lead.due_at.isoformat()}"' in html
    assert 'data-left-text="in {time}"' in html and 'data-late-text="{time} late"' in html
    html = qualifier_client.get(
        reverse("leads:detail", args=[lead.pk]), headers={"accept-language": "ru"}
    ).content.decode()
    assert 'data-left-text="через {time}"' in html
    assert 'id="shortcuts-help"' in html and "js/countdown.js" in html


def test_after_converting_the_message_names_the_deal_closer_and_visit(client, world):
    """The head may open the deal, so the message links it; the visit is on the timeline."""
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    starts = timezone.now() + timedelta(days=2)
    slot = VisitSlot.objects.create(
        closer=world.closer, starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    client.force_login(world.head)
    response = client.post(
        reverse("handoff:convert", args=[lead.pk]),
        {"slot": slot.pk, "address": "ул. Ленина, 1"},
        follow=True,
    )
    html = response.content.decode()
    deal = Deal.objects.get(lead=lead)
    assert (
        f'<a href="{reverse("deals:detail", args=[deal.pk])}" id="deal-link">#{deal.pk}</a>' in html
    )
    assert "closer: Anna" in html and "Site visit booked:" in html and "ул. Ленина, 1" in html
    visit = lead.events.get(kind=LeadEvent.Kind.VISIT)
    assert "ул. Ленина, 1" in visit.note and world.closer.last_name in visit.note


def test_qualifier_who_cannot_open_deals_reads_the_deal_number_without_a_link(
    qualifier_client, world
):
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    response = qualifier_client.post(reverse("handoff:convert", args=[lead.pk]), follow=True)
    html = response.content.decode()
    deal = Deal.objects.get(lead=lead)
    assert f"deal #{deal.pk}" in html.lower() and 'id="deal-link"' not in html
    assert "No site visit booked yet." in html
    assert not lead.events.filter(kind=LeadEvent.Kind.VISIT).exists()


def test_lead_convert_without_a_slot_records_no_visit(world):
    lead = make_lead(world.team)
    reached(lead, world.qualifier)
    services.lead_check(lead=lead, by=world.qualifier)
    lead_convert(lead=lead, by=world.qualifier, sales_team=world.sales)
    assert not lead.events.filter(kind=LeadEvent.Kind.VISIT).exists()


def test_answer_to_a_lead_closed_meanwhile_is_refused_as_text(qualifier_client, world):
    kitchen = make_criterion(question="Kitchen type")
    lead = make_lead(world.team)
    services.lead_junk(lead=lead, by=world.qualifier, reason=services.JunkReason.objects.first())
    response = qualifier_client.post(
        reverse("leads:answer", args=[lead.pk]), {"criterion": kitchen.pk, "value": "custom"}
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "already junk" in response.content.decode()
    assert not lead.answers.exists()


def test_changed_email_links_to_an_older_lead_with_that_email(world):
    older = make_lead(world.team, phone="+79031112233", email="anna@example.com")
    lead = make_lead(world.team, phone="+79161234567")
    services.lead_contact_update(lead=lead, by=world.qualifier, email="ANNA@example.com")
    assert Lead.objects.get(pk=lead.pk).duplicate_of == older
    assert Lead.objects.get(pk=older.pk).duplicate_of is None
