"""The deal board shows every open deal (issue 16.4): each column's true count, its first page
in the column's order and "Show more" pages read by keyset — no deal missed or repeated when
deals tie on the sort key — within what crm/access.py lets the user see; the cards' buttons in
a fixed number of queries; the lead's and the deal's timelines paged the same way."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.deadlines import registry as alerts_registry
from crm.deadlines.models import Deadline
from crm.lib import keyset
from crm.lib.timeline import TIMELINE_PAGE
from crm.teams.models import Role, Team
from deals import selectors
from deals.models import Deal, DealEvent
from deals.selectors import COLUMN_ORDER, board_column, board_counts, board_scope
from leads.models import LeadEvent
from tests.factories import TeamFactory, UserFactory, make_deal, make_lead
from tests.factories import make_board_deal as deal

pytestmark = pytest.mark.django_db


def walk(scope, stage: str, size: int) -> list[int]:
    """Every page of a column, cursor to cursor: the ids in the order shown."""
    shown, after = [], ""
    for _ in range(100):
        deals, after = board_column(scope, stage, after=after, size=size)
        assert len(deals) <= size
        shown += [d.pk for d in deals]
        if not after:
            return shown
    raise AssertionError("the pages never ended")


def test_pages_show_every_deal_once_when_many_tie_on_the_sort_key(world):
    moment = timezone.now().replace(microsecond=0)
    tied = [deal(world.sales, world.team, created_at=moment) for _ in range(7)]
    newer = deal(world.sales, world.team, created_at=moment + timedelta(minutes=1))
    older = deal(world.sales, world.team, created_at=moment - timedelta(minutes=1))
    scope = board_scope(world.head, mine_only=False)

    for size in (1, 2, 3, 8, 20):
        ids = walk(scope, "handed_off", size)
        expected = [newer.pk, *sorted((d.pk for d in tied), reverse=True), older.pk]
        assert ids == expected  # newest first, ties by id, none missed or repeated
    assert board_counts(scope)["handed_off"] == 9


def test_the_meeting_column_runs_soonest_visit_first_through_ties_and_a_missing_time(world):
    visit = timezone.now().replace(microsecond=0) + timedelta(days=2)
    tied = [
        deal(world.sales, world.team, "meeting", closer=world.closer, meeting_at=visit)
        for _ in range(4)
    ]
    sooner = deal(world.sales, world.team, "meeting", meeting_at=visit - timedelta(hours=1))
    no_time = deal(world.sales, world.team, "meeting")  # stored without one: still shown, last
    scope = board_scope(world.head, mine_only=False)
    assert COLUMN_ORDER["meeting"] == ("meeting_at", False)
    for size in (1, 2, 5, 6, 7):
        assert walk(scope, "meeting", size) == [sooner.pk, *[d.pk for d in tied], no_time.pk]


def test_a_column_larger_than_the_page_has_show_more_and_the_count_says_how_many(client, world):
    deals = [deal(world.sales, world.team, "accepted", closer=world.closer) for _ in range(23)]
    client.force_login(world.closer)
    page = client.get(reverse("deals:board"))
    column = next(c for c in page.context["columns"] if c.stage == "accepted")
    assert column.count == 23 and len(column.deals) == 20 and column.next_cursor
    html = page.content.decode()
    assert 'id="column-accepted" data-count="23"' in html
    assert html.count("show-more") == 1

    more = client.get(
        reverse("deals:board_more", args=["accepted"]),
        {"after": column.next_cursor},
        headers={"HX-Request": "true"},
    )
    assert more.status_code == 200
    rest = more.content.decode()
    shown = {d.pk for d in column.deals} | {d.pk for d in deals if f'data-deal="{d.pk}"' in rest}
    assert shown == {d.pk for d in deals}
    assert "show-more" not in rest and "<html" not in rest


def test_a_count_past_the_cap_says_so_and_the_exact_one_comes_on_demand(client, world, monkeypatch):
    teammate = UserFactory(username="closer2", role=Role.CLOSER)
    world.sales.members.add(teammate)
    for _ in range(5):
        deal(world.sales, world.team, "accepted", closer=world.closer)
    for _ in range(2):
        deal(world.sales, world.team, "accepted", closer=teammate)
    deal(world.sales, world.team, "proposal", closer=world.closer)
    head_scope = board_scope(world.head, mine_only=False)
    # Exact up to the cap, cap + 1 past it: a bounded read however many deals are open.
    assert board_counts(head_scope, cap=3)["accepted"] == 4
    assert board_counts(head_scope, cap=7)["accepted"] == 7
    assert board_counts(head_scope, cap=3)["proposal"] == 1

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    client.force_login(world.closer)
    page = client.get(reverse("deals:board"))
    column = next(c for c in page.context["columns"] if c.stage == "accepted")
    assert column.capped and column.count_label == "3+" and len(column.deals) == 5
    html = page.content.decode()
    assert 'id="column-accepted" data-count="3+"' in html
    assert 'id="column-proposal" data-count="1"' in html  # under the cap: no button
    assert html.count('class="count-all"') == 1
    assert 'hx-get="/deals/stage/accepted/count/"' in html
    exact = client.get(reverse("deals:board_count", args=["accepted"]))
    assert exact.status_code == 200
    assert exact.content.decode().strip() == '<span class="muted count">5</span>'

    # The head: the whole team's count, or with "Pool and mine" kept in the button's URL.
    for _ in range(4):
        deal(world.sales, world.team)
    client.force_login(world.head)
    assert ">7<" in client.get(reverse("deals:board_count", args=["accepted"])).content.decode()
    html = client.get(reverse("deals:board"), {"show": "mine"}).content.decode()
    assert 'hx-get="/deals/stage/handed_off/count/?show=mine"' in html
    mine = client.get(reverse("deals:board_count", args=["handed_off"]), {"show": "mine"})
    assert ">4<" in mine.content.decode()
    assert client.get(reverse("deals:board_count", args=["won"])).status_code == 404
    client.force_login(world.qualifier)
    assert client.get(reverse("deals:board_count", args=["accepted"])).status_code == 403


def test_show_more_keeps_the_heads_filter(client, world):
    other = UserFactory(username="closer2", role=Role.CLOSER)
    world.sales.members.add(other)
    for _ in range(22):
        deal(world.sales, world.team, "proposal", closer=other)
    mine = deal(world.sales, world.team, "proposal", closer=world.head)
    client.force_login(world.head)

    everyone = client.get(reverse("deals:board"))
    assert next(c for c in everyone.context["columns"] if c.stage == "proposal").count == 23
    assert 'hx-get="/deals/stage/proposal/?after=' in everyone.content.decode()

    only_mine = client.get(reverse("deals:board"), {"show": "mine"})
    column = next(c for c in only_mine.context["columns"] if c.stage == "proposal")
    assert column.count == 1 and [d.pk for d in column.deals] == [mine.pk]
    for _ in range(21):  # the pool: a page of it, then "Show more" with the filter in its URL
        deal(world.sales, world.team)
    only_mine = client.get(reverse("deals:board"), {"show": "mine"})
    assert 'hx-get="/deals/stage/handed_off/?show=mine&amp;after=' in only_mine.content.decode()

    first = next(c for c in everyone.context["columns"] if c.stage == "proposal")
    more = client.get(reverse("deals:board_more", args=["proposal"]), {"after": first.next_cursor})
    assert more.status_code == 200 and 'data-deal="' in more.content.decode()
    filtered = client.get(
        reverse("deals:board_more", args=["proposal"]),
        {"show": "mine", "after": first.next_cursor},
    )
    assert 'data-deal="' not in filtered.content.decode()  # the filter holds on later pages


def test_a_closer_sees_the_pool_and_their_own_never_a_teammates_or_another_teams(client, world):
    teammate = UserFactory(username="closer2", role=Role.CLOSER)
    world.sales.members.add(teammate)
    other_sales = TeamFactory(name="Other showroom", kind=Team.Kind.SALES)
    world.other_team.hands_off_to.add(other_sales)
    pool = deal(world.sales, world.team)
    own = deal(world.sales, world.team, "accepted", closer=world.closer)
    theirs = deal(world.sales, world.team, "accepted", closer=teammate)
    elsewhere = deal(other_sales, world.other_team)

    scope = board_scope(world.closer, mine_only=True)
    assert board_counts(scope) == {"handed_off": 1, "accepted": 1, "meeting": 0, "proposal": 0}
    assert walk(scope, "handed_off", 5) == [pool.pk]
    assert walk(scope, "accepted", 5) == [own.pk]

    client.force_login(world.closer)
    html = client.get(reverse("deals:board")).content.decode()
    assert f'data-deal="{pool.pk}"' in html and f'data-deal="{own.pk}"' in html
    assert f'data-deal="{theirs.pk}"' not in html and f'data-deal="{elsewhere.pk}"' not in html
    # A cursor does not open a door: the next page is read in the same scope.
    cursor = keyset.cursor_of(theirs.created_at + timedelta(seconds=1), theirs.pk + 1)
    more = client.get(reverse("deals:board_more", args=["accepted"]), {"after": cursor})
    assert f'data-deal="{theirs.pk}"' not in more.content.decode()

    # The head of the team sees all of the team's, not another team's.
    head_scope = board_scope(world.head, mine_only=False)
    assert walk(head_scope, "accepted", 5) == sorted([own.pk, theirs.pk], reverse=True)
    assert board_counts(head_scope)["handed_off"] == 1


def test_the_board_and_show_more_are_only_for_sales_teams(client, world):
    for user in (world.qualifier, world.outsider):
        client.force_login(user)
        assert client.get(reverse("deals:board")).status_code == 403
        assert client.get(reverse("deals:board_more", args=["accepted"])).status_code == 403


def test_a_mangled_cursor_or_stage_is_refused(client, world):
    client.force_login(world.closer)
    url = reverse("deals:board_more", args=["accepted"])
    for bad in ("junk", "2026-01-01T00:00:00_x", "2026-01-01T00:00:00_5"):
        assert client.get(url, {"after": bad}).status_code == 400
    assert client.get(reverse("deals:board_more", args=["won"])).status_code == 404


def test_the_board_asks_a_fixed_number_of_queries_however_many_cards(client, world):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("deals:board")).status_code == 200
        return len(captured.captured_queries)

    client.force_login(world.closer)
    for stage in Deal.OPEN_STAGES:
        deal(world.sales, world.team, stage, closer=None if stage == "handed_off" else world.closer)
    few = queries()
    for stage in Deal.OPEN_STAGES:
        for _ in range(6):
            deal(
                world.sales,
                world.team,
                stage,
                closer=None if stage == "handed_off" else world.closer,
                meeting_at=timezone.now() + timedelta(days=1),
            )
    assert queries() == few
    page = client.get(reverse("deals:board"))
    assert page.content.decode().count("pick-up") == 7  # the pool's cards: the closer may


def test_my_visits_list_the_users_own_from_today_on_whatever_the_columns_show(client, world):
    tomorrow = timezone.localtime() + timedelta(days=1)
    mine = deal(world.sales, world.team, "meeting", closer=world.closer, meeting_at=tomorrow)
    deal(world.sales, world.team, "meeting", meeting_at=tomorrow)  # nobody's
    deal(
        world.sales,
        world.team,
        "meeting",
        closer=world.closer,
        meeting_at=tomorrow - timedelta(days=3),
    )  # past
    client.force_login(world.closer)
    page = client.get(reverse("deals:board"))
    assert [d.pk for d in page.context["visits"]] == [mine.pk]


# ---------------------------------------------------------------- timelines


def test_the_lead_timeline_shows_the_latest_page_then_earlier_ones(client, world):
    lead = make_lead(world.team)
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    LeadEvent.objects.bulk_create(
        LeadEvent(lead=lead, kind="claimed", at=at + timedelta(minutes=n // 3), note=f"n{n}")
        for n in range(120)  # three events a minute: pages end inside a tie
    )
    every = list(lead.events.order_by("at", "id").values_list("pk", flat=True))
    client.force_login(world.qualifier)

    page = client.get(reverse("leads:detail", args=[lead.pk]))
    shown = [e.pk for e in page.context["events"]]
    assert shown == every[-TIMELINE_PAGE:]  # the latest, oldest of them first
    url = page.context["earlier_url"]
    assert url and 'class="earlier-button"' in page.content.decode()
    while url:
        more = client.get(url, headers={"HX-Request": "true"})
        assert more.status_code == 200
        shown = [e.pk for e in more.context["events"]] + shown
        url = more.context["earlier_url"]
    assert shown == every  # each event once, in order

    client.force_login(world.outsider)  # another team's lead: its timeline is a 404 too
    assert client.get(reverse("leads:timeline", args=[lead.pk])).status_code == 404
    client.force_login(world.qualifier)
    bad = client.get(reverse("leads:timeline", args=[lead.pk]), {"before": "nope"})
    assert bad.status_code == 400


def test_alerts_raised_on_a_lead_show_on_its_timeline_once_each_in_order(client, world):
    # Alerts are read from the lead's raised deadlines, not stored as events: each page takes
    # those of the span it covers, ties with an event at a page's edge included.
    lead = make_lead(world.team)
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    LeadEvent.objects.bulk_create(
        LeadEvent(lead=lead, kind="claimed", at=at + timedelta(minutes=n // 3), note=f"n{n}")
        for n in range(120)  # the created event and 49 of these on the latest page: from minute 23
    )
    raised = {-5: "warn", 7: "breach", 23: "stall_remind", 30: "stall_escalate", 41: "warn"}
    for minute, kind in raised.items():
        moment = at + timedelta(minutes=minute)
        Deadline.objects.create(lead=lead, kind=kind, due_at=moment, raised_at=moment)
    Deadline.objects.create(lead=lead, kind="breach", due_at=at, cancelled_at=at)  # not raised
    client.force_login(world.qualifier)

    page = client.get(reverse("leads:detail", args=[lead.pk]))
    pages = [page.context["events"]]
    url = page.context["earlier_url"]
    while url:
        more = client.get(url, headers={"HX-Request": "true"})
        pages.insert(0, more.context["events"])
        url = more.context["earlier_url"]
    assert len(pages) == 3
    entries = [entry for shown in pages for entry in shown]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    shown_alerts = [(e.at, e.note) for e in entries if e.kind == LeadEvent.Kind.ALERT]
    assert shown_alerts == [
        (at + timedelta(minutes=minute), str(alerts_registry.label(kind)))
        for minute, kind in raised.items()
    ]
    assert [len([e for e in shown if e.kind == "alert"]) for shown in pages] == [1, 1, 3]
    assert "alert raised</strong>\n" in page.content.decode()

    russian = client.get(reverse("leads:detail", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE="ru")
    assert "сработало оповещение" in russian.content.decode()
    assert "предупреждение о перезвоне" in russian.content.decode()


def test_the_deal_timeline_is_paged_the_same_way(client, world):
    made = make_deal(world, name="Иван Петров")
    at = timezone.now() - timedelta(days=2)
    DealEvent.objects.bulk_create(
        DealEvent(deal=made, kind="note", at=at + timedelta(minutes=n), note=f"Заметка {n}")
        for n in range(60)
    )
    every = list(made.events.order_by("at", "id").values_list("pk", flat=True))
    client.force_login(world.closer)
    page = client.get(reverse("deals:detail", args=[made.pk]))
    shown = [e.pk for e in page.context["events"]]
    assert shown == every[-TIMELINE_PAGE:]
    more = client.get(page.context["earlier_url"])
    assert [e.pk for e in more.context["events"]] + shown == every
    assert more.context["earlier_url"] == ""
    client.force_login(world.outsider)
    assert client.get(reverse("deals:timeline", args=[made.pk])).status_code == 404


def test_cursors_round_trip_and_refuse_what_is_not_one():
    moment = timezone.now()
    assert keyset.parse_cursor(keyset.cursor_of(moment, 42)) == (moment, 42)
    assert keyset.parse_cursor(keyset.cursor_of(None, 7)) == (None, 7)
    for bad in ("", "42", "x_1", "2026-01-01T10:00:00_1", "2026-01-01T10:00:00Z_"):
        with pytest.raises(ValueError, match="not a cursor"):
            keyset.parse_cursor(bad)


# A column's cards as templates/deals/board.html wrote them before deals/templatetags/deals.py
# `deal_cards` took over (one tag or filter per field): the tag must keep every byte of it.
TEMPLATE_CARDS = """{% load i18n people %}{% for deal in column.deals %}
      <article class="card deal" data-deal="{{ deal.pk }}">
        <a href="{{ deal.detail_url }}"><strong>{{ deal.contact }}</strong></a>{% if deal.company %} · {{ deal.company }}{% endif %}
        <div><span class="temp {{ deal.lead.temperature }}">{{ deal.lead.get_temperature_display }} · {{ deal.lead.score }}</span></div>
        {% if deal.meeting_at %}<div class="visit">{% include "icons/house.html" %} {{ deal.meeting_at|date:"d.m H:i" }}</div>{% endif %}
        <div class="muted">{% if deal.closer %}{{ deal.closer|person }}{% else %}{% translate "in the pool" %}{% endif %} · {{ deal.created_at|date:"d.m H:i" }}</div>
        {% if deal.can_pick_up %}
        <form method="post" action="{{ deal.accept_url }}">{% csrf_token %}<button type="submit" class="primary pick-up">{% translate "Pick up" %}</button></form>
        {% endif %}
      </article>
    {% empty %}{% if not request.GET.after %}<p class="muted">—</p>{% endif %}
    {% endfor %}"""  # noqa: E501 - the template's own lines


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_cards_tag_writes_what_the_card_template_wrote(rf, world, language):
    from django.template import Context, Template
    from django.utils import translation

    from deals.models import Company
    from deals.templatetags.deals import deal_cards

    visit = timezone.now().replace(microsecond=0) + timedelta(days=1, minutes=7)
    company = Company.objects.create(team=world.sales, name='<i>"Рога" & Co</i>')
    made = [
        deal(world.sales, world.team),
        deal(world.sales, world.team, "meeting", closer=world.closer, meeting_at=visit),
        deal(world.sales, world.team, "accepted", closer=world.head, company=company),
        deal(world.sales, world.team, "proposal", created_at=visit - timedelta(days=40)),
    ]
    made[0].contact.name = '<script>O\'Neil & "Sons"</script>'
    made[0].contact.save()
    made[1].lead.temperature, made[1].lead.score = "hot", 1234
    made[1].lead.save()
    deals = list(
        Deal.objects.filter(pk__in=[d.pk for d in made])
        .select_related("contact", "company", "closer", "lead")
        .order_by("pk")
    )
    for n, card in enumerate(deals):
        card.detail_url, card.accept_url = f"/deals/{card.pk}/?a=1&b=2", f"/deals/{card.pk}/take/"
        card.can_pick_up = n % 2 == 0
    first, more = rf.get("/deals/"), rf.get("/deals/", {"after": "x"})
    cases = [(deals, first, "tok&en"), (deals, first, None), ([], first, "t"), ([], more, "t")]
    with translation.override(language), timezone.override("Asia/Yekaterinburg"):
        for cards, request, token in cases:
            context = {"column": {"deals": cards}, "request": request, "csrf_token": token}
            expected = Template(TEMPLATE_CARDS).render(Context(context))
            assert deal_cards(Context(context), cards) == expected
    html = deal_cards(Context({"csrf_token": "tok"}), deals)
    assert "&lt;script&gt;O&#x27;Neil &amp; &quot;Sons&quot;&lt;/script&gt;" in html
    assert "&lt;i&gt;&quot;Рога&quot; &amp; Co&lt;/i&gt;" in html and 'class="visit"' in html
    assert html.count('name="csrfmiddlewaretoken" value="tok"') == 2
