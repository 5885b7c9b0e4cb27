"""Migration 0005 splits the contacts and companies sales teams used to share: each team gets
its own row, rebuilt from its own leads, and no deal loses its contact or company."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from crm.teams.models import Team
from deals.contact_split import split_by_team
from deals.models import Company, Contact, Deal
from tests.factories import TeamFactory, make_lead

P, P2, P3, P4 = "+79161234567", "+79031112233", "+79265554433", "+79857776655"


@pytest.fixture
def sales_b(world) -> Team:
    team = TeamFactory(name="Field sales", kind=Team.Kind.SALES)
    world.other_team.hands_off_to.add(team)
    return team


def legacy_deal(Deal, team: Team, lead, contact, company):
    return Deal.objects.create(
        team_id=team.pk,
        lead_id=lead.pk,
        contact_id=contact.pk,
        company_id=company.pk if company else None,
        created_at=timezone.now(),
    )


def build_shared(world, sales_b, Contact, Company, Deal) -> dict:
    """What the old global matching made of these conversions, in order."""
    a1 = make_lead(world.team, name="Иван Петров", phone=P, email="ivan@a.ru", company_name="Alpha")
    b1 = make_lead(
        world.other_team, name="Пётр Сидоров", phone=P, email="petr@b.ru", company_name="alpha"
    )
    a2 = make_lead(world.team, name="Иван Петров", phone=P, company_name="Gamma")
    b2 = make_lead(world.other_team, name="Ольга Ким", phone=P3, email="olga@b.ru")
    a3 = make_lead(world.team, name="Ольга Кимова", phone=P4, email="olga@b.ru")
    b3 = make_lead(world.other_team, name="Анна Лис", phone=P2)
    alpha = Company.objects.create(name="Alpha")
    gamma = Company.objects.create(name="Gamma")
    # a1 made the contact; b1 matched it by phone (its e-mail not added: the contact had one)
    # and moved it to Alpha; a2 moved it to Gamma.
    shared = Contact.objects.create(name="Иван Петров", phone=P, email="ivan@a.ru", company=gamma)
    # b2 made this one; a3 matched it by e-mail (its phone not added: the contact had one).
    by_email = Contact.objects.create(name="Ольга Ким", phone=P3, email="olga@b.ru")
    only_b = Contact.objects.create(name="Анна Лис", phone=P2)
    orphan = Contact.objects.create(name="Typed in the admin", phone="+79990000000")
    deals = {
        "a1": legacy_deal(Deal, world.sales, a1, shared, alpha),
        "b1": legacy_deal(Deal, sales_b, b1, shared, alpha),
        "a2": legacy_deal(Deal, world.sales, a2, shared, gamma),
        "b2": legacy_deal(Deal, sales_b, b2, by_email, None),
        "a3": legacy_deal(Deal, world.sales, a3, by_email, None),
        "b3": legacy_deal(Deal, sales_b, b3, only_b, None),
    }
    return {
        "deals": {key: deal.pk for key, deal in deals.items()},
        "shared": shared.pk,
        "by_email": by_email.pk,
        "only_b": only_b.pk,
        "orphan": orphan.pk,
        "alpha": alpha.pk,
    }


def check_split(world, sales_b, made: dict) -> None:
    deals = {
        key: Deal.objects.select_related("contact", "company").get(pk=pk)
        for key, pk in made["deals"].items()
    }
    assert Deal.objects.count() == 6  # every deal kept, each with a contact
    for deal in deals.values():
        assert deal.contact.team_id == deal.team_id
        assert deal.company is None or deal.company.team_id == deal.team_id
    for contact in Contact.objects.exclude(company=None):
        assert contact.company.team_id == contact.team_id

    # Team A keeps the row its lead made, with A's name and e-mail, now at Gamma.
    mine = deals["a1"].contact
    assert mine.pk == made["shared"] == deals["a2"].contact_id
    assert (mine.name, mine.phone, mine.email, mine.company.name) == (
        "Иван Петров",
        P,
        "ivan@a.ru",
        "Gamma",
    )
    assert (deals["a1"].company.name, deals["a2"].company.name) == ("Alpha", "Gamma")
    assert deals["a1"].company_id == made["alpha"]

    # Team B gets its own copy: B's name, B's e-mail, B's company as B spelled it.
    theirs = deals["b1"].contact
    assert theirs.pk != mine.pk and theirs.team == sales_b
    assert (theirs.name, theirs.phone, theirs.email, theirs.company.name) == (
        "Пётр Сидоров",
        P,
        "petr@b.ru",
        "alpha",
    )
    assert deals["b1"].company == theirs.company and theirs.company.pk != made["alpha"]

    # Matched by e-mail across teams: B (whose lead made it) keeps it; A's copy has A's name
    # and A's own phone instead of B's.
    olga_b, olga_a = deals["b2"].contact, deals["a3"].contact
    assert olga_b.pk == made["by_email"] and olga_b.team == sales_b
    assert (olga_b.name, olga_b.phone, olga_b.email) == ("Ольга Ким", P3, "olga@b.ru")
    assert (olga_a.team, olga_a.name, olga_a.phone, olga_a.email) == (
        world.sales,
        "Ольга Кимова",
        P4,
        "olga@b.ru",
    )

    assert Contact.objects.get(pk=made["only_b"]).team == sales_b
    assert Contact.objects.get(pk=made["orphan"]).team is None  # no team's page reaches it
    # Nothing one team recorded is on the other's contacts.
    b_values = set(Contact.objects.filter(team=sales_b).values_list("name", "email").distinct())
    assert not {("Иван Петров", "ivan@a.ru"), ("Ольга Кимова", "olga@b.ru")} & b_values
    a_companies = set(Company.objects.filter(team=world.sales).values_list("name", flat=True))
    assert a_companies == {"Alpha", "Gamma"}


@pytest.mark.django_db
def test_split_gives_each_team_its_own_contact_and_loses_no_deal(world, sales_b):
    made = build_shared(world, sales_b, Contact, Company, Deal)
    report = split_by_team(Contact, Company, Deal)
    assert (report.contacts_made, report.companies_made, report.deals_moved) == (2, 1, 2)
    check_split(world, sales_b, made)


@pytest.mark.django_db
def test_split_run_again_changes_nothing(world, sales_b):
    made = build_shared(world, sales_b, Contact, Company, Deal)
    split_by_team(Contact, Company, Deal)
    before = list(Contact.objects.order_by("pk").values())
    report = split_by_team(Contact, Company, Deal)
    assert (report.contacts_split, report.companies_split) == (0, 0)
    assert list(Contact.objects.order_by("pk").values()) == before
    check_split(world, sales_b, made)


@pytest.mark.django_db(transaction=True)
def test_the_migration_splits_what_the_old_schema_shared(world, sales_b):
    """The real migration, from the schema before it (global unique phone, no team column)."""
    executor = MigrationExecutor(connection)
    before, latest = [("deals", "0004_report_indexes")], executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        made = build_shared(
            world,
            sales_b,
            old.get_model("deals", "Contact"),
            old.get_model("deals", "Company"),
            old.get_model("deals", "Deal"),
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    check_split(world, sales_b, made)
