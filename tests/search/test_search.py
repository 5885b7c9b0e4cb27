"""Search (issue 16.1): the header's box and `?q=` on the API — a phone in any written form, a
name (Russian too: any case, ё as е), an e-mail, a company — scoped to what the user may see:
never another team's lead, every state of their own."""

from datetime import UTC, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.teams.models import Role
from leads import channels
from leads.models import Lead
from leads.search import (
    EMAIL,
    LIMIT,
    PHONE,
    WORDS,
    SearchError,
    fold,
    highlight_spans,
    parse_query,
    word_prefixes,
)
from leads.services import lead_junk
from tests.factories import JunkReasonFactory, TeamFactory, UserFactory, make_deal, make_lead


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def found_leads(user: User, q: str) -> list[int]:
    response = client_for(user).get(reverse("search"), {"q": q})
    assert response.status_code == 200
    return [hit.obj.pk for hit in response.context["results"].leads.hits]


# ------------------------------------------------------------------ reading the query


@pytest.mark.parametrize(
    "typed", ["+7 (912) 345-67-89", "89123456789", "8 912 345 67 89", "9123456789", "+79123456789"]
)
def test_a_whole_phone_in_any_written_form_is_one_number(typed):
    query = parse_query(typed)
    assert (query.kind, query.e164) == (PHONE, "+79123456789")


@pytest.mark.parametrize(("typed", "digits"), [("4567", "4567"), ("345-67-89", "3456789")])
def test_a_part_of_a_phone_is_its_digits(typed, digits):
    query = parse_query(typed)
    assert (query.kind, query.digits, query.e164) == (PHONE, digits, "")


def test_an_at_sign_is_an_email_and_words_are_folded():
    assert parse_query(" Ivan@Example.RU ").kind == EMAIL
    assert parse_query("Ivan@Example.RU").words == ("ivan@example.ru",)
    query = parse_query("Семён  ПЕТРОВ")
    assert (query.kind, query.words) == (WORDS, ("семен", "петров"))
    assert fold("Ёлкин") == "елкин"


def test_words_are_prefixes_cut_as_the_index_cuts_its_text():
    """Only letters and digits reach the tsquery: nothing typed is read as its syntax."""
    assert word_prefixes(parse_query("Семён Петров-Водкин")) == (
        "'семен':* & 'петров':* & 'водкин':*"
    )
    assert word_prefixes(parse_query("mail.ru o'brien & !x |")) == (
        "'mail':* & 'ru':* & 'o':* & 'brien':* & 'x':*"
    )
    # a lead's day of arrival is a word of its index ("#9830"): no typed word reaches it
    assert word_prefixes(parse_query("#9830 семен")) == "'9830':* & 'семен':*"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Type a phone, a name"),
        ("   ", "Type a phone, a name"),
        ("123", "at least 4 digits"),
        ("ab", "at least 3 letters"),
        ("a b", "at least 3 letters"),
        ("@", "at least 3 letters"),
    ],
)
def test_an_empty_or_too_short_query_says_what_to_type(typed, says):
    with pytest.raises(SearchError) as error:
        parse_query(typed)
    assert says in error.value.messages[0]


def test_highlight_marks_the_digits_of_a_written_phone_and_folded_words():
    spans = highlight_spans(parse_query("4567"), "+7 912 334-45-67")
    assert [text for text, marked in spans if marked] == ["45-67"]
    spans = highlight_spans(parse_query("семенов"), "Пётр Семёнов")
    assert [text for text, marked in spans if marked] == ["Семёнов"]


# ------------------------------------------------------------------ the page


@pytest.fixture
def two_teams(world):
    """One person's number in both teams: each team must only ever find its own lead."""
    mine = make_lead(world.team, name="Иван Семёнов", phone="+79123456789", email="ivan@mail.ru")
    theirs = make_lead(
        world.other_team, name="Иван Семёнов", phone="+79123456789", email="ivan@mail.ru"
    )
    return mine, theirs


@pytest.mark.parametrize(
    "typed", ["+7 (912) 345-67-89", "89123456789", "6789", "345-67-89", "8912345"]
)
def test_a_qualifier_finds_their_lead_by_phone_never_another_teams(world, two_teams, typed):
    mine, theirs = two_teams
    assert found_leads(world.qualifier, typed) == [mine.pk]
    assert found_leads(world.outsider, typed) == [theirs.pk]


@pytest.mark.parametrize(
    ("typed", "found"),
    [("6789", True), ("56789", True), ("4567", False), ("91234", False), ("234567", True)],
)
def test_a_few_digits_are_the_end_of_a_number_six_anywhere_in_it(world, two_teams, typed, found):
    """Four or five digits are a number's last ones (a range of one index, however many
    numbers are stored); from six on they are also found in its middle."""
    mine, _theirs = two_teams
    assert found_leads(world.qualifier, typed) == ([mine.pk] if found else [])


@pytest.mark.parametrize(
    "typed", ["иван", "ИВАН семенов", "Семёнов", "семенов", "Ivan@mail.ru", "ivan@", "mail.ru"]
)
def test_names_in_russian_and_emails_any_case_yo_as_ye(world, two_teams, typed):
    mine, theirs = two_teams
    assert found_leads(world.qualifier, typed) == [mine.pk]
    assert found_leads(world.outsider, typed) == [theirs.pk]


@pytest.mark.parametrize("typed", ["Семен", "СЕМЁН", "семёнова", "Ольга Семенова", "Ольг"])
def test_a_prefix_of_a_surname_or_name_finds_it_yo_as_ye(world, typed):
    lead = make_lead(world.team, name="Ольга Семёнова", phone="+79160000021")
    make_lead(world.team, name="Олег Петров", phone="+79160000022")
    assert found_leads(world.qualifier, typed) == [lead.pk]


def test_a_common_surname_alone_finds_the_newest_first(world):
    """Two pages and more of one surname, most of them older than the first window: the page
    is the newest 20 of all, newest first, and says there are more. The same with only a few
    in the last month: the windows widen until a page is found."""
    now = timezone.now()
    ages = [1, 2, 3, *range(40, 40 + 2 * LIMIT)]  # days; 3 in the last 30 days
    leads = {
        age: make_lead(
            world.team, name=f"Пётр Иванов {age}", phone=f"+7916{age:07d}", now=now - timedelta(age)
        )
        for age in ages
    }
    make_lead(world.other_team, name="Пётр Иванов", phone="+79169999999", now=now)
    make_lead(world.team, name="Пётр Сидоров", phone="+79169999998", now=now)
    response = client_for(world.qualifier).get(reverse("search"), {"q": "иванов"})
    group = response.context["results"].leads
    assert [hit.obj.pk for hit in group.hits] == [leads[age].pk for age in sorted(ages)[:LIMIT]]
    assert group.more
    # a page and one in the last month: the older ones are not needed
    for age in range(4, 4 + LIMIT):
        make_lead(
            world.team, name="Анна Иванова", phone=f"+7917{age:07d}", now=now - timedelta(age)
        )
    hits = client_for(world.qualifier).get(reverse("search"), {"q": "Иванов"})
    ages_shown = [(now - hit.obj.created_at).days for hit in hits.context["results"].leads.hits]
    assert ages_shown == sorted(ages_shown) and max(ages_shown) < 30


def test_a_window_of_arrival_holds_its_days_only(world):
    from leads.search import lead_match

    now = timezone.now()
    old = make_lead(world.team, name="Ия Мартынова", phone="+79160000031", now=now - timedelta(8))
    new = make_lead(world.team, name="Ия Мартынова", phone="+79160000032", now=now - timedelta(6))
    query = parse_query("мартынов")
    since = (now - timedelta(7)).date()
    assert list(lead_match(Lead.objects.all(), query, since)) == [new]
    assert set(lead_match(Lead.objects.all(), query)) == {old, new}


def test_a_head_of_two_teams_finds_both_and_the_teams_never_each_others(world, two_teams):
    mine, theirs = two_teams
    third = TeamFactory(name="Third call centre")
    third_lead = make_lead(third, name="Иван Семёнов", phone="+79123456789")
    world.other_team.manager = world.head
    world.other_team.save()
    for typed in ("семенов", "6789", "+7 912 345 67 89"):
        assert sorted(found_leads(world.head, typed)) == sorted([mine.pk, theirs.pk])
        assert found_leads(world.qualifier, typed) == [mine.pk]
        assert found_leads(world.outsider, typed) == [theirs.pk]
    assert third_lead.pk not in found_leads(world.head, "семенов")


def test_a_head_finds_their_teams_and_an_admin_every_team(world, two_teams):
    mine, theirs = two_teams
    admin = User.objects.create_superuser("root", password="pw")
    assert found_leads(world.head, "6789") == [mine.pk]  # manages `team` only
    assert sorted(found_leads(admin, "6789")) == sorted([mine.pk, theirs.pk])


def test_every_state_is_found_with_its_state_shown(world):
    junk = make_lead(world.team, name="Пётр Мусоров", phone="+79160000001")
    lead_junk(lead=junk, by=world.qualifier, reason=JunkReasonFactory())
    deal = make_deal(world, name="Олег Сделкин", phone="+79160000002")
    response = client_for(world.qualifier).get(reverse("search"), {"q": "+79160000001"})
    assert [h.obj.state for h in response.context["results"].leads.hits] == [Lead.State.JUNK]
    assert 'class="state junk"' in response.content.decode()
    assert found_leads(world.qualifier, "Сделкин") == [deal.lead_id]


def test_a_second_phone_and_a_company_are_searched_too(world):
    lead = make_lead(
        world.team,
        name="Анна",
        company_name="ООО «Ёлка»",
        points=[
            channels.Point(channels.PHONE, "+79160000011"),
            channels.Point(channels.PHONE, "+74951234567", channels.Label.WORK),
        ],
    )
    assert found_leads(world.qualifier, "8 (495) 123-45-67") == [lead.pk]
    response = client_for(world.qualifier).get(reverse("search"), {"q": "елка"})
    hit = response.context["results"].leads.hits[0]
    assert (hit.obj.pk, hit.key) == (lead.pk, "company")
    assert "<mark>Ёлка</mark>" in response.content.decode()


def test_the_row_links_to_the_lead_and_names_the_field_that_matched(world, two_teams):
    mine, _ = two_teams
    html = client_for(world.qualifier).get(reverse("search"), {"q": "6789"}).content.decode()
    assert reverse("leads:detail", args=[mine.pk]) in html
    assert "<mark>67-89</mark>" in html
    assert "phone:" in html


@pytest.mark.parametrize("typed", ["", "12", "ab"])
def test_an_empty_or_short_query_is_a_message_on_the_page(world, typed):
    response = client_for(world.qualifier).get(reverse("search"), {"q": typed})
    assert response.status_code == 200
    assert 'class="search-problem"' in response.content.decode()


def test_nothing_found_says_so(world):
    response = client_for(world.qualifier).get(reverse("search"), {"q": "Несуществующий"})
    assert "Nothing found" in response.content.decode()


def test_a_closer_finds_their_teams_deals_and_contacts_not_leads(world):
    deal = make_deal(world, name="Олег Сделкин", phone="+79160000002", company_name="Кухни")
    response = client_for(world.closer).get(reverse("search"), {"q": "сделкин"})
    results = response.context["results"]
    assert results.leads is None  # a closer has no leads to find
    assert [h.obj.pk for h in results.deals.hits] == [deal.pk]
    assert [h.obj.pk for h in results.contacts.hits] == [deal.contact_id]
    html = response.content.decode()
    assert reverse("deals:detail", args=[deal.pk]) in html
    assert reverse("deals:contact", args=[deal.contact_id]) in html
    by_phone = client_for(world.closer).get(reverse("search"), {"q": "0002"}).context["results"]
    assert [h.obj.pk for h in by_phone.deals.hits] == [deal.pk]
    by_company = client_for(world.closer).get(reverse("search"), {"q": "кухни"}).context["results"]
    assert [h.obj.pk for h in by_company.deals.hits] == [deal.pk]
    # a closer of another sales team finds nothing of it
    other_sales = world.sales.__class__.objects.create(name="Other sales", kind="sales")
    stranger = UserFactory(username="stranger", role=Role.CLOSER)
    other_sales.members.add(stranger)
    theirs = client_for(stranger).get(reverse("search"), {"q": "сделкин"}).context["results"]
    assert theirs.deals.hits == [] and theirs.contacts.hits == []


@pytest.mark.parametrize("who", ["qualifier", "closer", "head", "admin"])
def test_every_role_has_the_search_box(world, who):
    user = (
        User.objects.create_superuser("root", password="pw")
        if who == "admin"
        else getattr(world, who)
    )
    html = client_for(user).get(reverse("accounts:profile")).content.decode()
    assert 'role="search"' in html and f'action="{reverse("search")}"' in html


def test_a_staff_user_without_a_team_has_no_search(world):
    staff = UserFactory(username="staffer", is_staff=True)
    client = client_for(staff)
    assert 'role="search"' not in client.get(reverse("accounts:profile")).content.decode()
    assert client.get(reverse("search"), {"q": "иван"}).status_code == 403


# ------------------------------------------------------------------ the API


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("typed", ["+7 (912) 345-67-89", "6789", "семенов", "ivan@mail.ru"])
def test_api_leads_q_is_scoped(world, two_teams, typed):
    mine, theirs = two_teams
    answer = api_for(world.qualifier).get("/api/v1/leads/", {"q": typed})
    assert answer.status_code == 200
    assert [row["id"] for row in answer.json()["results"]] == [mine.pk]
    answer = api_for(world.outsider).get("/api/v1/leads/", {"q": typed})
    assert [row["id"] for row in answer.json()["results"]] == [theirs.pk]


def api_pages(user: User, q: str, page_size: int) -> list[list[int]]:
    """Every page of `/api/v1/leads/?q=`, following the `next` links."""
    pages, url, params = [], "/api/v1/leads/", {"q": q, "page_size": page_size}
    while url:
        answer = api_for(user).get(url, params)
        assert answer.status_code == 200, answer.content
        pages.append([row["id"] for row in answer.json()["results"]])
        url, params = answer.json()["next"], None
    return pages


def test_api_pages_through_a_common_surname_newest_first_without_gaps(world):
    """Matches in every window of arrival (the last week, month, 90 days, year, older), two
    arriving at the same moment across a page's end: the pages follow each other with no
    lead twice and none missed, as the cursor over all the matches gives them, and the
    previous link leads back to the first page."""
    now = timezone.now()
    ages = [0, 1, 2, 3, 3, 5, 6, 20, 40, 41, 100, 200, 400, 401, 900]
    made = [
        make_lead(
            world.team, name=f"Пётр Кузнецов {n}", phone=f"+7916{n:07d}", now=now - timedelta(age)
        )
        for n, age in enumerate(ages)
    ]
    make_lead(world.other_team, name="Пётр Кузнецов", phone="+79169999999", now=now)
    make_lead(world.team, name="Пётр Сидоров", phone="+79169999998", now=now)
    newest_first = sorted(made, key=lambda lead: (lead.created_at, lead.pk), reverse=True)
    for size in (2, 4, 6):
        pages = api_pages(world.qualifier, "кузнецов", size)
        assert [pk for page in pages for pk in page] == [lead.pk for lead in newest_first]
        assert all(len(page) == size for page in pages[:-1])
    second = api_for(world.qualifier).get("/api/v1/leads/", {"q": "кузнецов", "page_size": 6})
    back = api_for(world.qualifier).get(second.json()["next"]).json()["previous"]
    first = api_for(world.qualifier).get(back).json()["results"]
    assert [row["id"] for row in first] == [lead.pk for lead in newest_first[:6]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the sort is PostgreSQL's plan")
def test_api_sorts_the_matches_by_an_arrival_no_index_holds(world):
    """So the planner reads the words index and sorts its matches, never walks created_at: a
    qualifier's window read from their team's buckets alone, and with a filter besides `q`
    the window's arrival words beside the match."""
    from django.test.utils import CaptureQueriesContext

    from leads.search import BUCKET, _month_number

    lead = make_lead(world.team, name="Ян Кузнецов", phone="+79160000001")
    bucket = BUCKET.format(team=world.team.pk, month=_month_number(lead.created_at.date()))
    for extra in ({}, {"state": "new"}):
        with CaptureQueriesContext(connection) as sent:
            answer = api_for(world.qualifier).get("/api/v1/leads/", {"q": "кузнецов", **extra})
        assert len(answer.json()["results"]) == 1
        reads = [q["sql"] for q in sent.captured_queries if "@@" in q["sql"]]
        assert len(reads) == 1  # the window reaches past the team's oldest lead: all of them
        sql = reads[0]
        assert 'ORDER BY ("leads_lead"."created_at" + interval \'0 seconds\') DESC' in sql
        assert (f"'{bucket}кузнецов':*" in sql) is not extra
        assert ("to_tsquery" in sql) is bool(extra)


def walk(user: User, q: str, size: int, path: str = "/api/v1/leads/", **extra) -> list[tuple]:
    """Every answer of `/api/v1/leads/?q=` (or `path`'s), following `next` to the last page,
    then `previous` back to the first: (rows, next, previous) of each."""
    answers, url, params = [], path, {"q": q, "page_size": size, **extra}
    for link in ("next", "previous"):
        while True:
            answer = api_for(user).get(url, params)
            assert answer.status_code == 200, answer.content
            body = answer.json()
            answers.append(([row["id"] for row in body["results"]], body["next"], body["previous"]))
            if not body[link]:
                break
            url, params = body[link], None
    return answers


@pytest.mark.parametrize("size", [2, 5])
def test_api_windows_give_every_page_and_cursor_all_the_matches_give(world, monkeypatch, size):
    """The windows of arrival (`NewestLeadMatchesFirst`) against all the matches sorted
    (`NewestMatchesFirst`): the same pages and the same `next` and `previous` links, forward
    to the last page and back to the first — for a qualifier (their team's buckets), a head of
    two teams, an admin, with a filter besides `q` (arrival words beside the match), and for a
    rare query whose window holds nothing. Matches dense this week (windows fill), sparse
    across two years (windows widen, or all are read), two at one moment across pages, one
    a minute in the future, another team's, and a team whose leads all arrived this week (a
    window short of a page, yet all there are)."""
    from leads import api

    now = timezone.now()
    ages = [0, 0, 0.1, 0.5, 1, 1, 2, 3, 4, 5, 6, 6.5, 8, 9, 15, 29, 31, 45, 89, 91, 200]
    ages += [364, 366, 500, 700]
    for n, age in enumerate(ages):
        make_lead(
            world.team, name=f"Анна Зайцева {n}", phone=f"+7916{n:07d}", now=now - timedelta(age)
        )
    make_lead(world.team, name="Анна Зайцева", phone="+79169999990", now=now - timedelta(3))
    make_lead(world.team, name="Анна Зайцева", phone="+79169999991", now=now + timedelta(minutes=1))
    for n, age in enumerate([0, 2, 40, 400]):
        make_lead(
            world.other_team, name="Анна Зайцева", phone=f"+7917{n:07d}", now=now - timedelta(age)
        )
    make_lead(world.team, name="Ольга Редкая", phone="+79169999992", now=now - timedelta(600))
    world.other_team.manager = world.head
    world.other_team.save()
    admin = UserFactory(username="admin", is_superuser=True)
    fresh, newcomer = TeamFactory(name="New team"), UserFactory(role=Role.QUALIFIER)
    fresh.members.add(newcomer)
    for n in range(4):  # a team whose leads all arrived this week
        make_lead(fresh, name="Анна Зайцева", phone=f"+7918{n:07d}", now=now - timedelta(n))
    cases = [
        (world.qualifier, "зайцева", {}),
        (world.qualifier, "анна зайцева", {"state": "new"}),
        (world.head, "зайцева", {}),
        (admin, "зайцева", {}),
        (admin, "зайцева", {"created_before": (now + timedelta(1)).isoformat()}),
        (world.qualifier, "редкая", {}),
        (world.outsider, "зайцева", {}),
        (newcomer, "зайцева", {}),
    ]
    for user, q, extra in cases:
        windows = walk(user, q, size, **extra)
        monkeypatch.setattr(api.LeadViewSet, "pagination_class", api.NewestMatchesFirst)
        assert windows == walk(user, q, size, **extra), (user, q, extra)
        monkeypatch.undo()
    keys = []  # what each window read answered: keys, or None (all the matches read)
    found = api.NewestLeadMatchesFirst._window_keys
    monkeypatch.setattr(
        api.NewestLeadMatchesFirst,
        "_window_keys",
        lambda self, *args: keys.append(found(self, *args)) or keys[-1],
    )
    seen = [pk for page, _next, _previous in walk(world.qualifier, "зайцева", size) for pk in page]
    walk(newcomer, "зайцева", size)
    walk(world.qualifier, "зайцева", size, state="new")  # windows beside the match, then all
    assert any(k and len(k) > size for k in keys)  # a full window
    assert any(k is not None and len(k) <= size for k in keys)  # one past the oldest lead
    assert None in keys  # all the matches read
    mine = Lead.objects.filter(team=world.team, name__startswith="Анна Зайцева")
    assert len(seen) == 2 * mine.count() and set(seen) == set(mine.values_list("pk", flat=True))


@pytest.mark.parametrize("size", [2, 5])
def test_api_phone_digits_pages_from_keys_are_those_all_the_matches_give(world, monkeypatch, size):
    """The last digits of a phone, its page's keys read first (`NewestLeadMatchesFirst`)
    against all the matches sorted (`NewestMatchesFirst`): the same pages and links forward
    and back — a qualifier, a head of two teams, an admin, with a filter besides `q`, two
    leads at one moment, a second phone that matches, another team's leads."""
    from leads import api
    from leads.models import LeadContactPoint

    now = timezone.now()
    for n, age in enumerate([0, 0, 0.5, 1, 3, 3, 8, 40, 400, 401, 700]):
        make_lead(
            world.team, name=f"Абонент {n}", phone=f"+7916{n:03d}4567", now=now - timedelta(age)
        )
    second = make_lead(world.team, name="Второй номер", phone="+79160000001", now=now)
    LeadContactPoint.objects.create(
        lead=second,
        kind=channels.PHONE,
        label=channels.Label.WORK,
        value="+79169994567",
        position=1,
    )
    for n in range(3):
        make_lead(world.other_team, name=f"Чужой {n}", phone=f"+7917{n:03d}4567", now=now)
    world.other_team.manager = world.head
    world.other_team.save()
    admin = UserFactory(username="admin", is_superuser=True)
    cases = [
        (world.qualifier, "4567", {}),
        (world.qualifier, "94567", {"state": "new"}),
        (world.head, "45-67", {}),
        (admin, "4567", {}),
        (world.outsider, "4567", {}),
    ]
    for user, q, extra in cases:
        keys_first = walk(user, q, size, **extra)
        monkeypatch.setattr(api.LeadViewSet, "pagination_class", api.NewestMatchesFirst)
        assert keys_first == walk(user, q, size, **extra), (user, q, extra)
        monkeypatch.undo()
    seen = {pk for page, _next, _previous in walk(world.qualifier, "4567", size) for pk in page}
    assert second.pk in seen and len(seen) == 12


def deal_of(world, name: str, phone: str, at, company: str = ""):
    """A deal of the sales team made straight in the database, its contact's phone a point."""
    from deals.models import Company, Contact, ContactPoint, Deal

    lead = make_lead(world.team, name=name, phone=phone, now=at)
    firm = Company.objects.create(team=world.sales, name=company) if company else None
    contact = Contact.objects.create(team=world.sales, name=name, phone=phone, company=firm)
    ContactPoint.objects.create(contact=contact, kind=channels.PHONE, value=phone, raw=phone)
    return Deal.objects.create(
        team=world.sales, lead=lead, contact=contact, company=firm, created_at=at
    )


@pytest.mark.parametrize("few", [0, 1000])
@pytest.mark.parametrize("size", [2, 5])
def test_api_deals_q_pages_from_keys_are_those_all_the_matches_give(world, monkeypatch, size, few):
    """`?q=` on the deals (`NewestDealMatchesFirst`: the page's keys in arrival order first)
    against all the matches sorted (`NewestMatchesFirst`): the same pages and links forward
    and back, with the matching contacts named (`FEW_MATCHES` of them) or a subquery (`few`
    0: every match is "many") — by the contact's name, by the company's, by the last digits
    of a phone, two deals at one moment, a filter besides `q`, another sales team's deal."""
    from deals import api as deals_api
    from deals import search as deals_search
    from deals.api import NewestDealMatchesFirst
    from leads.api import NewestMatchesFirst

    monkeypatch.setattr(deals_search, "FEW_MATCHES", few)
    now = timezone.now()
    for n, age in enumerate([0, 0, 0.5, 1, 3, 3, 8, 40, 400, 700]):
        deal_of(world, f"Олег Сделкин {n}", f"+7916{n:03d}4567", now - timedelta(age))
    deal_of(world, "Анна Иванова", "+79160000011", now - timedelta(2), company="Сделкин и сыновья")
    deal_of(world, "Пётр Иванов", "+79160000012", now - timedelta(5))
    other_sales = TeamFactory(name="Other showroom", kind="sales")
    other = deal_of(world, "Олег Сделкин", "+79170000013", now)
    other.team = other_sales
    other.save()
    admin = UserFactory(username="admin", is_superuser=True)
    cases = [
        (world.closer, "сделкин", {}),
        (world.closer, "4567", {}),
        (world.closer, "сделкин", {"stage": "handed_off"}),
        (admin, "сделкин", {}),
        (world.qualifier, "сделкин", {}),
    ]
    for user, q, extra in cases:
        keys_first = walk(user, q, size, "/api/v1/deals/", **extra)
        monkeypatch.setattr(deals_api.DealViewSet, "pagination_class", NewestMatchesFirst)
        assert keys_first == walk(user, q, size, "/api/v1/deals/", **extra), (user, q, extra)
        monkeypatch.setattr(deals_api.DealViewSet, "pagination_class", NewestDealMatchesFirst)
    pages = walk(world.closer, "сделкин", size, "/api/v1/deals/")
    assert len({pk for page, _next, _previous in pages for pk in page}) == 11


def test_api_windows_widen_by_what_they_found():
    from leads.api import NewestLeadMatchesFirst

    wider = NewestLeadMatchesFirst._wider
    assert wider(7, 0, 51) == 0  # nothing this week: a rare query, all its matches
    assert wider(7, 19, 51) == 0  # 991 a year: few, all of them
    assert wider(7, 40, 51) == 30  # 17.9 days needed
    assert wider(7, 25, 51) == 30  # 28.6
    assert wider(30, 40, 51) == 0  # 487 a year
    assert wider(30, 150, 200) == 90  # 80 days needed
    assert wider(90, 300, 400) == 365  # 240
    assert wider(30, 90, 2000) == 0  # 1,333 days: none is wide enough


def test_api_a_short_q_is_a_400_naming_it(world):
    answer = api_for(world.qualifier).get("/api/v1/leads/", {"q": "12"})
    assert answer.status_code == 400
    assert "4 digits" in answer.json()["q"][0]
    assert api_for(world.qualifier).get("/api/v1/leads/", {"q": ""}).status_code == 200


def test_api_deals_q(world):
    deal = make_deal(world, name="Олег Сделкин", phone="+79160000002")
    answer = api_for(world.closer).get("/api/v1/deals/", {"q": "Сделкин"})
    assert [row["id"] for row in answer.json()["results"]] == [deal.pk]
    answer = api_for(world.closer).get("/api/v1/deals/", {"q": "89160000002"})
    assert [row["id"] for row in answer.json()["results"]] == [deal.pk]
    assert api_for(world.closer).get("/api/v1/deals/", {"q": "ab"}).status_code == 400


def test_the_schema_describes_q(world):
    schema = api_for(world.qualifier).get("/api/v1/schema/", {"format": "json"}).json()
    for path in ("/api/v1/leads/", "/api/v1/deals/"):
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert "phone" in params["q"]["description"]


# ------------------------------------------------------------------ PostgreSQL: the indexes


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search's indexes are PostgreSQL's"
)
@pytest.mark.parametrize(
    ("typed", "index"),
    [
        ("6789", "lead_phone_reversed"),
        ("234567", "lead_point_value_trgm"),
        ("семенов", "lead_team_month_words"),
        ("ivan@", "lead_point_value_trgm"),
    ],
)
def test_the_search_reads_its_indexes(world, two_teams, typed, index):
    """The conditions the search sends can be served by its indexes (the lead's expression is
    the indexed one, to the letter). Checked on the conditions alone: in a test's tiny table
    the planner prefers the team's index; at 1M leads it picks these by itself (the EXPLAIN
    printed by bench/search_bench.py)."""
    from leads.models import LeadContactPoint
    from leads.search import lead_match, points_q

    query = parse_query(typed)
    if query.kind == WORDS:  # a window of arrival too: the same index, days as its words
        rows = lead_match(Lead.objects.all(), query, since=timezone.now().date())
    elif index == "lead_phone_reversed":  # a partial index: with the `kind` condition it has
        rows = LeadContactPoint.objects.filter(points_q(query))
    else:  # digits or an e-mail anywhere: points_q's condition on the value (`kind` on top)
        needle = query.digits if query.kind == PHONE else query.words[0]
        rows = LeadContactPoint.objects.filter(value__contains=needle)
    with transaction.atomic(), connection.cursor() as cur:
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            cur.execute(f"SET LOCAL enable_{scan} = off")  # bitmap scans only
        sql, params = rows.query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert index in plan, plan


# ------------------------------------------------------------------ the words' buckets


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the buckets are PostgreSQL's")
def test_a_leads_words_are_in_its_team_and_months_bucket(world):
    """`TeamMonthWords`: each word once more behind the team and the month of arrival (UTC)."""
    from leads.search import BUCKET, lead_search_words

    lead = make_lead(world.team, name="Семён О'Брайен-Ким", email="sk@mail.ru")
    vector = Lead.objects.filter(pk=lead.pk).values_list(lead_search_words(), flat=True)[0]
    with connection.cursor() as cur:
        cur.execute("SELECT tsvector_to_array(%s::tsvector)", [vector])
        lexemes = set(cur.fetchone()[0])
    arrival = lead.created_at.astimezone(UTC)
    bucket = BUCKET.format(team=world.team.pk, month=(arrival.year - 2000) * 12 + arrival.month - 1)
    words = {"семен", "о", "брайен", "ким", "sk", "mail", "ru"}
    assert words | {bucket + word for word in words} <= lexemes


def test_a_qualifier_reads_the_buckets_a_head_of_many_teams_the_words(world):
    from leads.search import MAX_BUCKET_TEAMS, bucketable

    query = parse_query("Иван Семёнов")
    on_postgres = connection.vendor == "postgresql"
    assert bucketable(query, [world.team.pk]) is on_postgres
    assert not bucketable(query, list(range(1, MAX_BUCKET_TEAMS + 2)))
    assert not bucketable(query, None)  # an admin: every team
    assert not bucketable(parse_query("x²y семенов"), [world.team.pk])  # the parser splits x²y


def test_the_buckets_find_the_newest_of_the_teams_only_across_months(world):
    """A qualifier's words read from their team's buckets, month windows widening: the same
    page as all matches sorted — the newest first, another team's never, older months only when
    the recent ones are fewer than a page."""
    now = timezone.now()
    ages = [0, 20, 45, 100, 200, *range(400, 400 + LIMIT)]  # days: each window, and older
    leads = {
        age: make_lead(
            world.team, name="Олег Рябов", phone=f"+7916{age:07d}", now=now - timedelta(age)
        )
        for age in ages
    }
    for age in (1, 50):  # newer, but another team's
        make_lead(
            world.other_team, name="Олег Рябов", phone=f"+7917{age:07d}", now=now - timedelta(age)
        )
    response = client_for(world.qualifier).get(reverse("search"), {"q": "олег рябов"})
    group = response.context["results"].leads
    assert [hit.obj.pk for hit in group.hits] == [leads[age].pk for age in sorted(ages)[:LIMIT]]
    assert group.more
    # a head of both teams: the other team's too, in arrival order
    world.other_team.manager = world.head
    world.other_team.save()
    assert len(found_leads(world.head, "рябов")) == LIMIT
