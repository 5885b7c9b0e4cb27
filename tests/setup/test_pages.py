"""The Settings pages: who may open what, and every rule of each form — a refused form says
why next to the field and comes back with what was typed, never a 5xx."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.teams.models import Team, WorkingHours
from deals.models import LossReason
from leads import services
from leads.models import Criterion, CriterionOption, JunkReason, LeadSource
from leads.scoring import judge
from tests.factories import SourceFactory, UserFactory, make_criterion, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, world):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def head_client(client, world):
    client.force_login(world.head)
    return client


def criterion_post(**overrides) -> dict:
    data = {
        "question": "Тип кухни",
        "slug": "",
        "help_text": "Спросите про фасады",
        "kind": "choice",
        "required": "on",
        "knock_out": "on",
        "weight": "3",
        "active": "on",
        "min_value": "",
        "max_value": "",
        "options-TOTAL_FORMS": "3",
        "options-INITIAL_FORMS": "0",
        "options-0-label": "На заказ",
        "options-0-value": "",
        "options-0-verdict": "good",
        "options-1-label": "Модульная",
        "options-1-value": "",
        "options-1-verdict": "bad",
        "options-2-label": "",
        "options-2-verdict": "neutral",
    }
    data.update(overrides)
    return data


def option_rows(criterion: Criterion, extra: int = 1) -> dict:
    """The formset as the edit page posts it back."""
    options = list(criterion.options.all())
    data = {
        "options-TOTAL_FORMS": str(len(options) + extra),
        "options-INITIAL_FORMS": str(len(options)),
    }
    for n, option in enumerate(options):
        data |= {
            f"options-{n}-id": str(option.pk),
            f"options-{n}-label": option.label,
            f"options-{n}-value": option.value,
            f"options-{n}-verdict": option.verdict,
            f"options-{n}-order": str(option.order),
        }
    return data


# Who may open what


def test_admin_lands_on_settings_after_login(client, world):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.post(reverse("login"), {"username": "boss", "password": "pw"})
    assert client.get(reverse("home"))["Location"] == reverse("setup:index")


def test_the_menu_shows_settings_to_admins_and_managers_only(client, world):
    for user, shown in ((world.qualifier, False), (world.closer, False), (world.head, True)):
        client.force_login(user)
        html = client.get(reverse("leads:queue")).content.decode()
        assert (f'href="{reverse("setup:index")}"' in html) is shown, user


def test_head_sees_teams_and_sources_but_not_the_shared_lists(head_client, world):
    assert head_client.get(reverse("setup:index")).status_code == 200
    assert head_client.get(reverse("setup:teams")).status_code == 200
    assert head_client.get(reverse("setup:criteria")).status_code == 403
    assert head_client.get(reverse("setup:reasons")).status_code == 403
    other = head_client.get(reverse("setup:team_edit", args=[world.other_team.pk]))
    assert other.status_code == 404


def test_a_qualifier_gets_403(client, world):
    client.force_login(world.qualifier)
    assert client.get(reverse("setup:index")).status_code == 403
    assert client.get(reverse("setup:team_edit", args=[world.team.pk])).status_code == 403


# Criteria


def test_add_a_criterion_with_options_and_a_slug_from_russian(admin_client, world):
    make_criterion(slug="budget", question="Budget", kind="number", knock_out=False)
    response = admin_client.post(reverse("setup:criterion_add"), criterion_post())
    assert response.status_code == 302
    criterion = Criterion.objects.get(slug="tip-kukhni")
    assert (criterion.required, criterion.knock_out, criterion.weight) == (True, True, 3)
    assert [(o.label, o.value, o.verdict) for o in criterion.options.all()] == [
        ("На заказ", "na-zakaz", "good"),
        ("Модульная", "modulnaya", "bad"),
    ]
    assert criterion.order > Criterion.objects.get(slug="budget").order  # new ones go last


def test_a_slug_another_criterion_has_is_refused_with_everything_kept(admin_client, world):
    make_criterion(slug="kitchen")
    response = admin_client.post(reverse("setup:criterion_add"), criterion_post(slug="kitchen"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "is taken by another entry" in html
    assert 'value="Тип кухни"' in html and 'value="Модульная"' in html
    assert Criterion.objects.count() == 1


def test_two_criteria_from_one_question_get_two_slugs(admin_client, world):
    admin_client.post(reverse("setup:criterion_add"), criterion_post())
    admin_client.post(reverse("setup:criterion_add"), criterion_post())
    assert sorted(Criterion.objects.values_list("slug", flat=True)) == [
        "tip-kukhni",
        "tip-kukhni-2",
    ]


def test_a_knock_out_on_a_text_criterion_is_refused(admin_client, world):
    data = criterion_post(kind="text", **{"options-TOTAL_FORMS": "0"})
    response = admin_client.post(reverse("setup:criterion_add"), data)
    assert response.status_code == 400
    assert "A text answer cannot knock a lead out." in response.content.decode()
    assert not Criterion.objects.exists()


def test_a_choice_needs_two_options(admin_client, world):
    data = criterion_post(**{"options-1-label": ""})
    response = admin_client.post(reverse("setup:criterion_add"), data)
    assert response.status_code == 400
    assert "at least two options" in response.content.decode()


def test_two_options_with_one_value_are_refused(admin_client, world):
    data = criterion_post(**{"options-1-value": "na-zakaz"})
    response = admin_client.post(reverse("setup:criterion_add"), data)
    assert response.status_code == 400
    assert "Two options share the value" in response.content.decode()


def test_minimum_above_maximum_is_refused(admin_client, world):
    data = criterion_post(kind="number", knock_out="", min_value="500", max_value="100")
    response = admin_client.post(reverse("setup:criterion_add"), data)
    assert response.status_code == 400
    assert "The maximum is below the minimum." in response.content.decode()


def test_a_weight_that_is_no_number_is_refused(admin_client, world):
    response = admin_client.post(reverse("setup:criterion_add"), criterion_post(weight="три"))
    assert response.status_code == 400
    assert 'value="три"' in response.content.decode()


def test_removing_an_answered_option_archives_it(admin_client, world):
    criterion = make_criterion(knock_out=False)  # custom, modular, undecided
    lead = make_lead(world.team)
    services.lead_answer(lead=lead, criterion=criterion, value="custom", by=world.qualifier)
    data = criterion_post(
        question=criterion.question, slug=criterion.slug, **option_rows(criterion)
    )
    custom, modular, _undecided = criterion.options.all()
    data["options-0-DELETE"] = "on"  # answered: archived
    data["options-1-DELETE"] = "on"  # never answered: deleted
    data |= {"options-3-label": "Классика", "options-3-verdict": "good"}
    response = admin_client.post(reverse("setup:criterion_edit", args=[criterion.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert CriterionOption.objects.get(pk=custom.pk).archived
    assert not CriterionOption.objects.filter(pk=modular.pk).exists()
    criterion.refresh_from_db()
    assert lead.answers.get().label == "Custom"  # the answer keeps its option
    with pytest.raises(Exception, match="Choose one of the listed options"):
        judge(criterion, "custom")  # the script no longer offers it
    workspace = admin_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'value="klassika"' in workspace and 'value="custom"' not in workspace


def test_an_answered_options_value_cannot_change(admin_client, world):
    criterion = make_criterion(knock_out=False)
    services.lead_answer(
        lead=make_lead(world.team), criterion=criterion, value="custom", by=world.qualifier
    )
    data = criterion_post(question="Q", slug=criterion.slug, **option_rows(criterion, extra=0))
    data["options-0-value"] = "bespoke"
    response = admin_client.post(reverse("setup:criterion_edit", args=[criterion.pk]), data)
    assert response.status_code == 400
    assert "Answers use this option" in response.content.decode()


def test_move_up_and_down_and_reorder_by_drag(admin_client, world):
    a = make_criterion(slug="a", question="A")
    b = make_criterion(slug="b", question="B")
    c = make_criterion(slug="c", question="C")
    Criterion.objects.filter(pk=a.pk).update(order=1)
    Criterion.objects.filter(pk=b.pk).update(order=2)
    Criterion.objects.filter(pk=c.pk).update(order=3)

    def order():
        return list(Criterion.objects.order_by("order", "id").values_list("slug", flat=True))

    admin_client.post(reverse("setup:criterion_move", args=[c.pk]), {"direction": "up"})
    assert order() == ["a", "c", "b"]
    admin_client.post(reverse("setup:criterion_move", args=[a.pk]), {"direction": "up"})
    assert order() == ["a", "c", "b"]  # the first stays first
    response = admin_client.post(
        reverse("setup:criteria_order"), {"order": [b.pk, a.pk]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'id="criteria-section"' in response.content.decode()
    assert order() == ["b", "a", "c"]  # one the page did not send keeps its place after them
    bad = admin_client.post(reverse("setup:criterion_move", args=[a.pk]), {"direction": "x"})
    assert bad.status_code == 400
    assert admin_client.post(reverse("setup:criteria_order"), {"order": "x"}).status_code == 400


def test_the_preview_shows_the_draft_in_the_script(admin_client, world):
    make_criterion(slug="budget", question="Бюджет", kind="number", knock_out=False)
    data = criterion_post(question="Срок", **{"options-0-label": "Этот месяц"})
    response = admin_client.post(reverse("setup:criterion_preview"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Бюджет") < html.index("Срок")
    assert "Этот месяц" in html and "Модульная" in html
    assert not Criterion.objects.filter(question="Срок").exists()  # nothing saved


# Reasons


@pytest.mark.parametrize(("kind", "model"), [("junk", JunkReason), ("loss", LossReason)])
def test_add_a_reason_with_a_slug_from_russian(admin_client, world, kind, model):
    response = admin_client.post(
        reverse("setup:reason_add", args=[kind]), {"name": "Нет бюджета", "slug": ""}
    )
    assert response.status_code == 302
    reason = model.objects.get(name="Нет бюджета")
    assert reason.slug == "net-byudzheta" and reason.order >= 1


def test_a_reason_with_a_taken_slug_or_no_name_is_refused(admin_client, world):
    response = admin_client.post(
        reverse("setup:reason_add", args=["junk"]), {"name": "Спам", "slug": "spam"}
    )
    assert response.status_code == 400 and 'value="Спам"' in response.content.decode()
    response = admin_client.post(reverse("setup:reason_add", args=["junk"]), {"name": ""})
    assert response.status_code == 400
    assert admin_client.get(reverse("setup:reason_add", args=["nope"])).status_code == 404


# Sources


def test_head_adds_a_source_for_a_team_they_manage_only(head_client, world):
    data = {
        "name": "Сайт кухонь",
        "channel": "web_form",
        "team": str(world.other_team.pk),
        "active": "on",
        "preset": "tilda",
        "field_map": '{"message": "Comments"}',
        "honeypot_field": "fax",
        "rate_limit_per_minute": "120",
    }
    refused = head_client.post(reverse("setup:source_add"), data)
    assert refused.status_code == 400 and 'value="Сайт кухонь"' in refused.content.decode()
    data["team"] = str(world.team.pk)
    assert head_client.post(reverse("setup:source_add"), data).status_code == 302
    source = LeadSource.objects.get(slug="sayt-kukhon")
    assert source.team == world.team and source.field_map == {"message": "Comments"}


def test_a_head_cannot_open_another_teams_or_a_teamless_source(head_client, world):
    theirs = SourceFactory(slug="theirs", name="Theirs", team=world.other_team)
    teamless = LeadSource.objects.get(slug="website")
    for source in (theirs, teamless):
        assert head_client.get(reverse("setup:source_edit", args=[source.pk])).status_code == 404
        rotate = head_client.post(reverse("setup:source_rotate", args=[source.pk]))
        assert rotate.status_code == 404


@pytest.mark.parametrize(
    ("field_map", "error"),
    [
        ("{message: Comments}", "Not valid JSON"),
        ('["message"]', "Each of our fields maps"),
        ('{"mesage": "Comments"}', "Not our fields: mesage"),
        # Once 500s: a RecursionError, and a lone surrogate echoed into the page or the jsonb.
        ("[" * 100_000 + "]" * 100_000, "Not valid JSON"),
        ('{"\\ud800": "Comments"}', "lone surrogate"),
        ('{"message": "\\udfff"}', "lone surrogate"),
    ],
    ids=["not-json", "not-a-mapping", "not-our-field", "too-deep", "surrogate-key", "surrogate"],
)
def test_a_bad_field_map_is_refused_and_kept(admin_client, world, field_map, error):
    source = LeadSource.objects.get(slug="website")
    data = {
        "name": source.name,
        "slug": source.slug,
        "channel": source.channel,
        "preset": "generic",
        "field_map": field_map,
        "rate_limit_per_minute": "120",
    }
    response = admin_client.post(reverse("setup:source_edit", args=[source.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html
    assert field_map.replace('"', "&quot;") in html


def test_the_source_page_shows_the_intake_url_and_rotating_changes_the_key(admin_client, world):
    source = LeadSource.objects.get(slug="website")
    old = source.intake_key
    html = admin_client.get(reverse("setup:source_edit", args=[source.pk])).content.decode()
    assert f"/api/v1/intake/?key={old}" in html
    assert admin_client.post(reverse("setup:source_rotate", args=[source.pk])).status_code == 302
    source.refresh_from_db()
    assert source.intake_key != old


# Teams


def team_post(team: Team, **overrides) -> dict:
    data = {
        "time_zone": team.time_zone,
        "sla_warn_minutes": "15",
        "sla_breach_minutes": "20",
        "claim_timeout_minutes": "10",
        "retry_after_minutes": "30",
        "call_norm_seconds": "30",
        "call_norm_per_day": "45",
        "hours-TOTAL_FORMS": "2",
        "hours-INITIAL_FORMS": "0",
        "hours-0-weekday": "0",
        "hours-0-opens": "09:00",
        "hours-0-closes": "13:00",
        "hours-1-weekday": "0",
        "hours-1-opens": "14:00",
        "hours-1-closes": "00:00",
    }
    data.update(overrides)
    return data


def test_head_sets_sla_and_hours_and_new_leads_follow(head_client, world):
    response = head_client.post(
        reverse("setup:team_edit", args=[world.team.pk]),
        team_post(
            world.team, sla_warn_minutes="40", sla_breach_minutes="45", **{"hours-TOTAL_FORMS": "0"}
        ),
    )
    assert response.status_code == 302
    world.team.refresh_from_db()
    assert (world.team.sla_warn_minutes, world.team.sla_breach_minutes) == (40, 45)
    now = timezone.now()
    lead = make_lead(world.team, now=now)
    assert lead.breach_at == now + timedelta(minutes=45)


def test_head_sets_the_call_norm_the_call_metrics_count_against(head_client, world):
    html = head_client.get(reverse("setup:team_edit", args=[world.team.pk])).content.decode()
    assert 'name="call_norm_seconds"' in html and 'name="call_norm_per_day"' in html
    data = team_post(world.team, call_norm_seconds="45", call_norm_per_day="60")
    response = head_client.post(reverse("setup:team_edit", args=[world.team.pk]), data)
    assert response.status_code == 302
    world.team.refresh_from_db()
    assert (world.team.call_norm_seconds, world.team.call_norm_per_day) == (45, 60)
    data = team_post(world.team, call_norm_per_day="-1")
    response = head_client.post(reverse("setup:team_edit", args=[world.team.pk]), data)
    assert response.status_code == 400
    sales = head_client.get(reverse("setup:team_edit", args=[world.sales.pk])).content.decode()
    assert "call_norm_per_day" not in sales


def test_working_hours_with_a_lunch_break_are_saved(head_client, world):
    response = head_client.post(
        reverse("setup:team_edit", args=[world.team.pk]), team_post(world.team)
    )
    assert response.status_code == 302
    assert [str(h) for h in WorkingHours.objects.filter(team=world.team)] == [
        "Monday 09:00–13:00",
        "Monday 14:00–00:00",
    ]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"sla_warn_minutes": "20"}, "The warning must come before the breach"),
        ({"sla_warn_minutes": "30"}, "The warning must come before the breach"),
        ({"sla_warn_minutes": "0"}, "At least 1 minute."),
        ({"sla_breach_minutes": "soon"}, "Enter a whole number."),
        ({"hours-1-opens": "12:00"}, "Overlaps another interval of the same day."),
        ({"hours-0-closes": "08:00"}, "Closing comes after opening."),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone"),
    ],
)
def test_team_rules(head_client, world, overrides, error):
    data = team_post(world.team, **overrides)
    response = head_client.post(reverse("setup:team_edit", args=[world.team.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html
    for value in overrides.values():
        assert f'value="{value}"' in html
    world.team.refresh_from_db()
    assert world.team.sla_breach_minutes == 20 and not world.team.working_hours.exists()


def test_a_sales_team_shows_its_own_fields(head_client, world):
    html = head_client.get(reverse("setup:team_edit", args=[world.sales.pk])).content.decode()
    assert "acceptance_hours" in html and "sla_warn_minutes" not in html


def test_the_django_admin_puts_technical_tables_last(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert html.index("Qualification criteria") < html.index("Technical: ")
    assert "Technical: Axes" in html and "Technical: Auth Token" in html
