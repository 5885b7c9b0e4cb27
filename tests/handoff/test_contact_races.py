"""Conversions of one person racing each other, in real threads on a real database: inside a
sales team they end on one contact and one company (the per-team unique constraints decide),
and a race between two teams never merges them."""

import pytest

from crm.teams.models import Team
from deals.models import Company, Contact, Deal
from handoff.services import lead_convert
from leads import services
from tests.factories import TeamFactory, make_lead
from tests.leads.test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)

PHONES = ("+7 916 123-45-67", "8 (916) 123 45 67", "9161234567", "+79161234567")


def checked(team: Team, qualifier, phone: str, company: str):
    lead = make_lead(team, phone=phone, company_name=company)
    services.lead_attempt_log(lead=lead, by=qualifier, outcome="reached")
    services.lead_check(lead=lead, by=qualifier)
    return lead


def test_one_person_converted_at_once_by_two_teams_is_one_contact_per_team(world):
    field = TeamFactory(name="Field sales", kind=Team.Kind.SALES, assignment="pool")
    world.other_team.hands_off_to.add(field)
    world.sales.assignment = "pool"
    world.sales.save()
    work = [
        (lead, world.qualifier, world.sales)
        for lead in (checked(world.team, world.qualifier, p, "Alpha") for p in PHONES)
    ] + [
        (lead, world.outsider, field)
        for lead in (checked(world.other_team, world.outsider, p, "ALPHA") for p in PHONES[:2])
    ]
    results = run_together(
        [
            lambda lead=lead, by=by, team=team: lead_convert(lead=lead, by=by, sales_team=team)
            for lead, by, team in work
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    for team, deals in ((world.sales, 4), (field, 2)):
        contacts = Contact.objects.filter(team=team)
        assert contacts.count() == 1
        assert Deal.objects.filter(team=team, contact=contacts.get()).count() == deals
        assert Company.objects.filter(team=team).count() == 1
        assert set(Deal.objects.filter(team=team).values_list("company__team", flat=True)) == {
            team.pk
        }
