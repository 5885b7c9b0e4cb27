"""crm/access.py as a table: every rule × every persona. The README's "Access rules" table
is this one in words."""

from types import SimpleNamespace

import pytest

from crm import access
from crm.teams.models import Role
from deals import services as deals
from handoff.disputes import dispute_raise
from tests.factories import UserFactory, make_criterion, make_deal

PERSONAS = ("qualifier", "closer", "head", "head_b", "outsider", "staff", "admin", "nobody")
Y, N = True, False

# rule: (the question asked of a persona and the world's objects), then one answer per persona
TABLE = {
    "is_admin": (lambda u, o: access.is_admin(u), N, N, N, N, N, N, Y, N),
    "may_open_settings": (lambda u, o: access.may_open_settings(u), N, N, Y, Y, N, N, Y, N),
    "may_open_admin_site": (lambda u, o: access.may_open_admin_site(u), N, N, N, N, N, Y, Y, N),
    "works_leads (queue, new lead)": (lambda u, o: access.works_leads(u), Y, N, Y, Y, Y, N, Y, N),
    "works_deals (board)": (lambda u, o: access.works_deals(u), N, Y, Y, N, N, N, Y, N),
    "may_search (the header's box)": (lambda u, o: access.may_search(u), Y, Y, Y, Y, Y, N, Y, N),
    "keeps_visit_slots": (lambda u, o: access.keeps_visit_slots(u), N, Y, N, N, N, N, N, N),
    "heads_teams (reports)": (lambda u, o: access.heads_teams(u), N, N, Y, Y, N, N, Y, N),
    "heads_qualification (SLA now)": (
        lambda u, o: access.heads_qualification(u),
        N, N, Y, Y, N, N, Y, N,
    ),
    "may_import": (lambda u, o: access.may_import(u), N, N, Y, Y, N, N, Y, N),
    "manages team A": (lambda u, o: access.manages(u, o.team), N, N, Y, N, N, N, Y, N),
    "manages the sales team": (lambda u, o: access.manages(u, o.sales), N, N, Y, N, N, N, Y, N),
    "works the picked-up deal": (lambda u, o: access.works_deal(u, o.deal), N, Y, Y, N, N, N, Y, N),
    "may pick up a pool deal": (lambda u, o: access.may_pick_up(u, o.pool), N, Y, N, N, N, N, N, N),
    "may reassign pool deal": (lambda u, o: access.may_reassign(u, o.pool), N, N, Y, N, N, N, Y, N),
    "may dispute the deal": (lambda u, o: access.may_dispute(u, o.deal), N, Y, N, N, N, N, N, N),
    "may comment the dispute": (
        lambda u, o: access.may_comment_dispute(u, o.dispute),
        Y, N, N, N, N, N, N, N,
    ),
    "may rule on the dispute": (lambda u, o: access.may_rule(u, o.dispute), N, N, Y, N, N, N, Y, N),
    "may open head's import job": (
        lambda u, o: access.may_open_import(u, o.job),
        N, N, Y, N, N, N, Y, N,
    ),
}  # fmt: skip


@pytest.fixture
def objects(world):
    criterion = make_criterion(required=False)
    deal = make_deal(world, phone="+79160000222", answers={criterion: "custom"})
    deals.deal_accept(deal=deal, by=world.closer)
    head_b = UserFactory(username="head_b", role=Role.SALES_HEAD)
    world.other_team.manager = head_b
    world.other_team.save()
    users = {
        "qualifier": world.qualifier,
        "closer": world.closer,
        "head": world.head,
        "head_b": head_b,
        "outsider": world.outsider,
        "staff": UserFactory(username="staff", is_staff=True),
        "admin": UserFactory(username="root", is_staff=True, is_superuser=True),
        "nobody": UserFactory(username="nobody"),
    }
    return SimpleNamespace(
        users=users,
        team=world.team,
        sales=world.sales,
        deal=deal,
        pool=make_deal(world, phone="+79160000333"),
        dispute=dispute_raise(deal=deal, by=world.closer, criterion=criterion, claim="wrong"),
        job=SimpleNamespace(created_by_id=world.head.pk, team=world.team),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("rule", sorted(TABLE))
def test_access_rule(rule, objects):
    ask, *expected = TABLE[rule]
    got = [ask(objects.users[persona], objects) for persona in PERSONAS]
    assert got == expected, dict(zip(PERSONAS, got, strict=True))


@pytest.mark.django_db
def test_the_menu_shows_each_role_only_what_it_can_use(objects):
    shown = {name: {k for k, v in access.menu(u).items() if v} for name, u in objects.users.items()}
    assert shown["qualifier"] == {"queue", "new_lead", "disputes", "leaderboard", "search"}
    assert shown["closer"] == {"deals", "disputes", "leaderboard", "search"}
    assert shown["head"] == {
        *("queue", "new_lead", "import", "deals", "sla", "disputes", "reports", "leaderboard"),
        *("settings", "search"),
    }
    assert shown["staff"] == {"admin_site"}
    assert shown["nobody"] == set()


@pytest.mark.django_db
def test_each_persona_lands_where_it_works(objects):
    lands = {name: access.landing_url_name(u) for name, u in objects.users.items()}
    assert lands == {
        "qualifier": "leads:queue",
        "closer": "deals:board",
        "head": "reports:teams",
        "head_b": "reports:teams",
        "outsider": "leads:queue",
        "staff": "admin:index",
        "admin": "setup:index",
        "nobody": "accounts:profile",
    }
