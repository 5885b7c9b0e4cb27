from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def test_take_next_hands_out_the_most_urgent_lead(world):
    now = timezone.now()
    later = make_lead(world.team, now=now - timedelta(minutes=1))
    urgent = make_lead(world.team, now=now - timedelta(minutes=10))
    assert services.lead_claim_next(user=world.qualifier, teams=[world.team], now=now) == urgent
    assert services.lead_claim_next(user=world.teammate, teams=[world.team], now=now) == later


def test_pressing_take_next_twice_returns_the_same_unworked_lead(world):
    make_lead(world.team)
    make_lead(world.team)
    first = services.lead_claim_next(user=world.qualifier, teams=[world.team])
    again = services.lead_claim_next(user=world.qualifier, teams=[world.team])
    assert first == again


def test_an_unworked_claim_returns_to_the_queue_after_the_timeout(world):
    now = timezone.now()
    lead = make_lead(world.team, now=now)
    assert services.lead_claim_next(user=world.qualifier, teams=[world.team], now=now) == lead
    assert services.lead_claim_next(user=world.teammate, teams=[world.team], now=now) is None
    after_lunch = now + timedelta(minutes=world.team.claim_timeout_minutes, seconds=1)
    assert (
        services.lead_claim_next(user=world.teammate, teams=[world.team], now=after_lunch) == lead
    )
    assert Lead.objects.get(pk=lead.pk).assignee == world.teammate


def test_a_worked_claim_stays_with_its_qualifier(world):
    now = timezone.now()
    lead = make_lead(world.team, now=now)
    services.lead_claim_next(user=world.qualifier, teams=[world.team], now=now)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached", now=now)
    much_later = now + timedelta(hours=2)
    assert services.lead_claim_next(user=world.teammate, teams=[world.team], now=much_later) is None


def test_no_answer_puts_the_lead_back_for_a_retry(world):
    now = timezone.now()
    lead = make_lead(world.team, now=now)
    services.lead_claim_next(user=world.qualifier, teams=[world.team], now=now)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="no_answer", now=now)
    lead.refresh_from_db()
    assert lead.assignee is None
    assert lead.due_at == now + timedelta(minutes=world.team.retry_after_minutes)
    assert lead.first_attempt_at == now
    # Not before the retry delay: calling straight back rarely reaches anyone.
    assert services.lead_claim_next(user=world.teammate, teams=[world.team], now=now) is None
    retry_time = lead.due_at
    assert services.lead_claim_next(user=world.teammate, teams=[world.team], now=retry_time) == lead


def test_a_callback_request_sets_the_new_due_time_and_comes_back_to_its_qualifier(world):
    now = timezone.now()
    lead = make_lead(world.team, now=now)
    callback = now + timedelta(hours=3)
    services.lead_attempt_log(
        lead=lead, by=world.qualifier, outcome="callback", callback_at=callback, now=now
    )
    lead.refresh_from_db()
    assert (lead.due_at, lead.assignee) == (callback, world.qualifier)
    assert services.lead_claim_next(user=world.qualifier, teams=[world.team], now=now) is None
    due = services.lead_claim_next(user=world.qualifier, teams=[world.team], now=callback)
    assert due == lead


@pytest.mark.parametrize(
    ("outcome", "callback_in", "field"),
    [
        ("callback", None, "callback_at"),
        ("callback", -5, "callback_at"),
        ("reached", 30, "callback_at"),
    ],
)
def test_callback_time_must_fit_the_outcome(world, outcome, callback_in, field):
    from django.core.exceptions import ValidationError

    now = timezone.now()
    lead = make_lead(world.team, now=now)
    callback_at = None if callback_in is None else now + timedelta(minutes=callback_in)
    with pytest.raises(ValidationError) as error:
        services.lead_attempt_log(
            lead=lead, by=world.qualifier, outcome=outcome, callback_at=callback_at, now=now
        )
    assert field in error.value.message_dict
    assert not lead.attempts.exists()


def test_a_lead_taken_by_a_teammate_cannot_be_logged_by_another(world):
    lead = make_lead(world.team)
    services.lead_claim_next(user=world.qualifier, teams=[world.team])
    with pytest.raises(services.LeadConflict):
        services.lead_attempt_log(
            lead=Lead.objects.get(pk=lead.pk), by=world.teammate, outcome="reached"
        )


def test_queue_filters(client, world):
    now = timezone.now()
    old = make_lead(world.team, name="Старый Лид", now=now - timedelta(days=8))
    fresh = make_lead(world.team, name="Новый Лид", now=now)
    services.lead_claim_next(user=world.qualifier, teams=[world.team])
    client.force_login(world.qualifier)
    html = client.get(reverse("leads:queue"), {"age": "older_7d"}).content.decode()
    assert old.name in html and fresh.name not in html
    html = client.get(reverse("leads:queue"), {"assignee": "me"}).content.decode()
    assert fresh.name in html and old.name not in html  # Take next gave the fresh one
    html = client.get(reverse("leads:queue"), {"state": "checked"}).content.decode()
    assert old.name not in html
    assert client.get(reverse("leads:queue"), {"state": "bogus"}).status_code == 200


def test_queue_partial_for_htmx_refresh_has_only_the_rows(client, world):
    make_lead(world.team, name="Свежий Лид")
    client.force_login(world.qualifier)
    html = client.get(reverse("leads:queue"), HTTP_HX_REQUEST="true").content.decode()
    assert "Свежий Лид" in html
    assert "<html" not in html
    assert 'id="queue-rows"' in html


def test_closed_leads_leave_the_queue(client, world):
    from leads.models import JunkReason

    lead = make_lead(world.team, name="Спам Спамов")
    services.lead_junk(lead=lead, by=world.qualifier, reason=JunkReason.objects.get())
    client.force_login(world.qualifier)
    assert "Спам Спамов" not in client.get(reverse("leads:queue")).content.decode()


def test_a_teammate_cannot_junk_a_lead_someone_is_working_but_the_manager_can(world):
    from leads.models import JunkReason

    lead = make_lead(world.team)
    services.lead_claim_next(user=world.qualifier, teams=[world.team])
    reason = JunkReason.objects.get()
    with pytest.raises(services.LeadConflict):
        services.lead_junk(lead=Lead.objects.get(pk=lead.pk), by=world.teammate, reason=reason)
    services.lead_junk(lead=Lead.objects.get(pk=lead.pk), by=world.head, reason=reason)
    assert Lead.objects.get(pk=lead.pk).state == "junk"


def test_pages_show_times_in_the_teams_zone(client, world):
    from datetime import UTC, datetime

    world.team.time_zone = "Asia/Yekaterinburg"
    world.team.save()
    lead = make_lead(world.team, now=datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    client.force_login(world.qualifier)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "25.11.2026 12:00" in html  # 07:00 UTC is noon in Yekaterinburg


def test_an_unchanged_queue_answers_the_poll_with_no_content(client, world):
    make_lead(world.team, name="Тихий Лид")
    client.force_login(world.qualifier)
    first = client.get(reverse("leads:queue"), HTTP_HX_REQUEST="true")
    digest = first.content.decode().split('data-digest="')[1].split('"')[0]
    again = client.get(reverse("leads:queue"), {"digest": digest}, HTTP_HX_REQUEST="true")
    assert (again.status_code, again.content) == (204, b"")
    make_lead(world.team, name="Новенький Лид", phone="+79160000077")
    changed = client.get(reverse("leads:queue"), {"digest": digest}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and "Новенький Лид" in changed.content.decode()


def test_the_poll_keeps_the_rows_the_screen_expanded_and_inserts_new_ones(client, world):
    now = timezone.now()
    for i in range(60):
        make_lead(world.team, name=f"Лид {i}", phone=f"+7916000{i:04d}", now=now - (i + 1) * MINUTE)
    client.force_login(world.qualifier)
    first = client.get(reverse("leads:queue"), HTTP_HX_REQUEST="true").content.decode()
    assert first.count("lead-row") == 50
    more = client.get(
        reverse("leads:queue"), {"after": _cursors(first)[-1]}, HTTP_HX_REQUEST="true"
    )
    last_shown = _cursors(more.content.decode())[-1]  # the screen now shows all 60
    make_lead(world.team, name="Только Что", phone="+79169999999", now=now)
    poll = client.get(reverse("leads:queue"), {"through": last_shown}, HTTP_HX_REQUEST="true")
    html = poll.content.decode()
    assert html.count("lead-row") == 61 and "Только Что" in html and "Show more" not in html


def _cursors(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('data-cursor="')[1:]]


def test_a_filter_with_no_match_says_nothing_was_found(client, world):
    make_lead(world.team, name="Тёплый Лид")
    client.force_login(world.qualifier)
    response = client.get(reverse("leads:queue"), {"temperature": "hot"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="queue-rows"' in html and "Тёплый Лид" not in html
    assert "Nothing found for these filters." in html and 'id="clear-filters"' in html


# The queue's rows as the template wrote them before leads/templatetags/leads.py `queue_rows`
# took over (one tag or filter per cell): the tag must keep every byte of it.
TEMPLATE_ROWS = """{% load people i18n leads %}{% for row in rows %}{% with lead=row.lead %}
      <tr class="lead-row rank-{{ row.rank.name|lower }} {{ lead|sla_status:now }}" data-lead="{{ lead.pk }}" data-cursor="{{ row.cursor }}">
        <td class="due"><time datetime="{{ lead.due_at.isoformat }}" data-due="{{ lead.due_at.isoformat }}" data-now="{{ now.isoformat }}"
          data-left-text="{% translate 'in {time}' %}" data-late-text="{% translate '{time} late' %}" data-days-text="{% translate '{days} d' %}">{{ lead.due_at|due_in:now }}</time></td>
        <td><a href="{% url 'leads:detail' lead.pk %}">{{ lead.name|default:_("(no name)") }}</a>{% if lead.duplicate_of_id %} <span class="tag">{% translate "duplicate" %}</span>{% endif %}{% if lead.waiting_since %} <span class="tag missed">{% translate "Missed call" %}</span>{% endif %}</td>
        <td>{{ lead.phone|phone|default:lead.email }}</td>
        <td>{{ lead.source }}</td>
        <td><span class="state {{ lead.state }}">{{ lead.get_state_display }}</span></td>
        <td><span class="temp {{ lead.temperature }}">{{ lead.get_temperature_display }}</span></td>
        <td>{% if lead.assignee_id and not lead|claim_lapsed:now %}{{ lead.assignee|person }}{% else %}<span class="muted">—</span>{% endif %}</td>
        <td>{{ lead.created_at|date:"d.m H:i" }}</td>
      </tr>
    {% endwith %}{% endfor %}"""  # noqa: E501 - the template's own lines


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_rows_tag_writes_what_the_row_template_wrote(world, language):
    from django.template import Context, Template
    from django.utils import translation

    from leads import alerts, priority
    from leads.templatetags.leads import queue_rows

    now = timezone.now()
    team = world.team
    plain = make_lead(team, now=now - 3 * MINUTE)
    nameless = make_lead(team, now=now - 70 * MINUTE, name="", phone="", email="a@example.ru")
    odd = make_lead(team, now=now - 3 * 24 * 60 * MINUTE, name='<b>"O\'Neil" & Co</b>')
    duplicate = make_lead(team, now=now - 5 * MINUTE, phone="+79160000001")
    Lead.objects.filter(pk=duplicate.pk).update(duplicate_of=plain, waiting_since=now)
    held = make_lead(team, now=now - 9 * MINUTE)
    Lead.objects.filter(pk=held.pk).update(
        assignee=world.qualifier, claimed_at=now, claim_expires_at=now + 10 * MINUTE
    )
    lapsed = make_lead(team, now=now - 40 * MINUTE)
    Lead.objects.filter(pk=lapsed.pk).update(
        assignee=world.teammate,
        claimed_at=now,
        claim_expires_at=now - MINUTE,
        state=Lead.State.CHECKED,
        temperature=Lead.Temperature.HOT,
    )
    leads = Lead.objects.select_related("source", "assignee").order_by("pk")
    ranks = list(priority.Rank)
    rows = [priority.Row(lead, ranks[i % len(ranks)]) for i, lead in enumerate(leads)]
    for row in rows:  # a missed caller's row is ordered (and its cursor made) by the call
        if row.rank is priority.Rank.MISSED:
            row.lead.waiting_since = row.lead.waiting_since or now - MINUTE
    assert {nameless.pk, odd.pk} <= {row.lead.pk for row in rows}
    alerts.attach_sla([row.lead for row in rows], now)
    with translation.override(language), timezone.override("Asia/Yekaterinburg"):
        expected = Template(TEMPLATE_ROWS).render(Context({"rows": rows, "now": now}))
        assert queue_rows(rows, now) == expected
    assert "&lt;b&gt;&quot;O&#x27;Neil&quot; &amp; Co&lt;/b&gt;" in expected
    assert 'class="tag"' in expected and "a@example.ru" in expected
    assert 'class="tag missed"' in expected
