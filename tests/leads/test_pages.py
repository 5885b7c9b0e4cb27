"""The workspace and manual entry through HTTP: bad input gets field errors and saves nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal
from leads import services
from leads.models import Lead
from tests.factories import make_criterion, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def qualifier_client(client, world):
    client.force_login(world.qualifier)
    return client


def test_each_role_lands_on_its_page(client, world):
    for user, page in (
        (world.qualifier, "leads:queue"),
        (world.closer, "deals:board"),
        (world.head, "reports:teams"),
    ):
        client.force_login(user)
        assert client.get(reverse("home"))["Location"] == reverse(page)


def test_login_page_logs_in_and_lands_on_the_queue(client, world):
    response = client.post(reverse("login"), {"username": "qualifier", "password": "pw"})
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("leads:queue")


def test_workspace_shows_click_to_call_and_timeline(qualifier_client, world):
    lead = make_lead(world.team, phone="8 (916) 123-45-67")
    html = qualifier_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'href="tel:+7-916-123-45-67"' in html
    assert 'id="check" disabled' in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "teleported"}, "outcome"),
        ({"outcome": "reached", "duration_s": "-3"}, "duration_s"),
        ({"outcome": "reached", "duration_s": "lots"}, "duration_s"),
        ({"outcome": "callback", "callback_at": "tomorrow-ish"}, "callback_at"),
        ({"outcome": "callback"}, "callback_at"),
    ],
)
def test_bad_attempt_input_gets_field_errors_and_saves_nothing(
    qualifier_client, world, data, field
):
    lead = make_lead(world.team)
    response = qualifier_client.post(reverse("leads:attempt", args=[lead.pk]), data)
    assert response.status_code == 400
    assert field in response.context["attempt_form"].errors
    assert not lead.attempts.exists()


def test_attempt_is_logged_and_stops_the_clock(qualifier_client, world):
    lead = make_lead(world.team)
    response = qualifier_client.post(
        reverse("leads:attempt", args=[lead.pk]),
        {"outcome": "reached", "duration_s": "75", "note": "ok"},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_attempt_at is not None
    assert lead.attempts.get().duration_s == 75


def test_callback_time_is_read_in_the_teams_time_zone(qualifier_client, world):
    world.team.time_zone = "Asia/Yekaterinburg"
    world.team.save()
    lead = make_lead(world.team)
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(world.team.zone).date()
    qualifier_client.post(
        reverse("leads:attempt", args=[lead.pk]),
        {"outcome": "callback", "callback_at": f"{tomorrow}T10:30"},
    )
    callback = lead.attempts.get().callback_at.astimezone(world.team.zone)
    assert (callback.hour, callback.minute) == (10, 30)


def test_junk_without_reason_gets_an_error_and_saves_nothing(qualifier_client, world):
    lead = make_lead(world.team)
    response = qualifier_client.post(reverse("leads:junk", args=[lead.pk]), {"note": "spam"})
    assert response.status_code == 400
    assert "reason" in response.context["junk_form"].errors
    assert Lead.objects.get(pk=lead.pk).state == "new"


def test_bad_answer_gets_a_field_error_and_saves_nothing(qualifier_client, world):
    budget = make_criterion("budget", question="Budget", kind="number", min_value=250000)
    lead = make_lead(world.team)
    response = qualifier_client.post(
        reverse("leads:answers", args=[lead.pk]), {f"c{budget.pk}": "a lot"}
    )
    assert response.status_code == 400
    assert f"c{budget.pk}" in response.context["answers_form"].errors
    assert not lead.answers.exists()


def test_answers_score_the_lead(qualifier_client, world):
    kind = make_criterion()
    budget = make_criterion(
        "budget", question="Budget", kind="number", min_value=250000, weight=1, knock_out=False
    )
    lead = make_lead(world.team)
    qualifier_client.post(
        reverse("leads:answers", args=[lead.pk]),
        {f"c{kind.pk}": "custom", f"c{budget.pk}": "100 000"},
    )
    lead.refresh_from_db()
    assert (lead.score, lead.temperature) == (75, "hot")
    assert lead.answers.get(criterion=budget).knocked_out is False  # not a knock-out criterion


def test_answers_are_kept_as_given_when_the_criterion_changes(world):
    criterion = make_criterion()
    lead = make_lead(world.team)
    services.lead_answer(lead=lead, by=world.qualifier, criterion=criterion, value="custom")
    criterion.question = "Something else entirely"
    criterion.save()
    criterion.options.filter(value="custom").update(label="Renamed", verdict="bad")
    answer = lead.answers.get()
    assert (answer.question, answer.label, answer.verdict) == (
        "Custom or modular?",
        "Custom",
        "good",
    )


def test_the_whole_path_through_the_pages(qualifier_client, world):
    criterion = make_criterion()
    lead = make_lead(world.team)
    assert qualifier_client.post(reverse("leads:take_next"))["Location"] == reverse(
        "leads:detail", args=[lead.pk]
    )
    qualifier_client.post(reverse("leads:attempt", args=[lead.pk]), {"outcome": "reached"})
    qualifier_client.post(reverse("leads:answers", args=[lead.pk]), {f"c{criterion.pk}": "custom"})
    qualifier_client.post(reverse("leads:check", args=[lead.pk]))
    response = qualifier_client.post(
        reverse("handoff:convert", args=[lead.pk]), {"sales_team": world.sales.pk}, follow=True
    )
    assert "Converted and handed off" in response.content.decode()
    assert Deal.objects.get(lead=lead).team == world.sales


def test_blocked_check_explains_why(qualifier_client, world):
    lead = make_lead(world.team)
    response = qualifier_client.post(reverse("leads:check", args=[lead.pk]), follow=True)
    assert "Log at least one contact attempt." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).state == "new"


def test_convert_with_a_bogus_team_is_refused(qualifier_client, world):
    lead = make_lead(world.team)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached")
    services.lead_check(lead=lead, by=world.qualifier)
    for bogus in ("abc", str(world.other_team.pk)):
        qualifier_client.post(reverse("handoff:convert", args=[lead.pk]), {"sales_team": bogus})
    assert Lead.objects.get(pk=lead.pk).state == "checked"
    assert not Deal.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Иван Петров"}, "__all__"),
        ({"name": "Иван Петров", "phone": "12345"}, "phone"),
        ({"name": "Иван Петров", "email": "not-an-email"}, "email"),
        ({"name": "Иван Петров", "phone": "+79161234567", "source": "999"}, "source"),
    ],
)
def test_manual_entry_bad_input_gets_field_errors_and_saves_nothing(
    qualifier_client, world, data, field
):
    from leads.models import LeadSource

    data = {"team": world.team.pk, "source": LeadSource.objects.get().pk, **data}
    response = qualifier_client.post(reverse("leads:create"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Lead.objects.exists()


def test_manual_entry_warns_about_an_open_duplicate_then_links_it(qualifier_client, world):
    from leads.models import LeadSource

    first = make_lead(world.team, phone="+79161234567")
    data = {
        "team": world.team.pk,
        "source": LeadSource.objects.get().pk,
        "name": "Иван Петров",
        "phone": "8 916 123 45 67",
    }
    response = qualifier_client.post(reverse("leads:create"), data)
    assert response.status_code == 200  # a question, not an error
    assert response.context["duplicate"] == first
    assert Lead.objects.count() == 1
    response = qualifier_client.post(reverse("leads:create"), {**data, "save_duplicate": "on"})
    assert response.status_code == 302
    assert Lead.objects.exclude(pk=first.pk).get().duplicate_of == first


def test_manual_entry_cannot_target_another_team(qualifier_client, world):
    from leads.models import LeadSource

    data = {
        "team": world.other_team.pk,
        "source": LeadSource.objects.get().pk,
        "name": "Иван Петров",
        "phone": "+79161234567",
    }
    response = qualifier_client.post(reverse("leads:create"), data)
    assert response.status_code == 400
    assert "team" in response.context["form"].errors
    assert not Lead.objects.exists()


def test_duplicates_are_matched_within_the_team_only(qualifier_client, world):
    from leads.models import LeadSource

    make_lead(world.other_team, phone="+79161234567", name="Чужой Клиент")
    data = {
        "team": world.team.pk,
        "source": LeadSource.objects.get().pk,
        "name": "Иван Петров",
        "phone": "8 916 123 45 67",
    }
    response = qualifier_client.post(reverse("leads:create"), data)
    assert response.status_code == 302  # no warning naming another team's lead
    assert Lead.objects.get(team=world.team).duplicate_of is None
