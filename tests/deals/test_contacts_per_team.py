"""A contact belongs to the sales team that received the person's deal: the same person handed
off to two sales teams is two contacts, and neither team's pages or API show what the other
recorded — while within one team the person stays one contact, merged, across companies."""

from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from crm.notifications.models import Notification
from crm.teams.models import Role, Team
from deals import services as deals
from deals.models import Contact
from handoff import disputes
from handoff.services import lead_convert
from leads import services
from tests.factories import TeamFactory, UserFactory, make_criterion, make_lead

pytestmark = pytest.mark.django_db

A = {"name": "Иван Петров", "phone": "+7 916 123-45-67", "email": "ivan@alpha.ru"}
B = {"name": "Пётр Сидоров", "phone": "8 (916) 123 45 67", "email": "petr@beta.ru"}


@dataclass
class Pair:
    """A qualification team and the sales team it hands off to, with one person of each."""

    qualification: Team
    sales: Team
    qualifier: object
    closer: object
    head: object


@pytest.fixture
def pairs(world) -> tuple[Pair, Pair]:
    """Team A = the world's call centre → Showroom; team B = the other call centre → a second
    sales team with its own closer and head."""
    world.sales.assignment = "pool"
    world.sales.save()
    head_b = UserFactory(username="head_b", role=Role.SALES_HEAD)
    sales_b = TeamFactory(
        name="Field sales", kind=Team.Kind.SALES, manager=head_b, assignment="pool"
    )
    closer_b = UserFactory(username="closer_b", role=Role.CLOSER)
    sales_b.members.add(closer_b)
    world.other_team.hands_off_to.add(sales_b)
    world.other_team.manager = head_b
    world.other_team.save()
    return (
        Pair(world.team, world.sales, world.qualifier, world.closer, world.head),
        Pair(world.other_team, sales_b, world.outsider, closer_b, head_b),
    )


def convert(pair: Pair, *, sales: Team | None = None, answers: dict | None = None, **fields):
    lead = make_lead(pair.qualification, **fields)
    services.lead_attempt_log(lead=lead, by=pair.qualifier, outcome="reached")
    for criterion, value in (answers or {}).items():
        services.lead_answer(lead=lead, by=pair.qualifier, criterion=criterion, value=value)
    services.lead_check(lead=lead, by=pair.qualifier)
    return lead_convert(lead=lead, by=pair.qualifier, sales_team=sales or pair.sales).deal


def page(client, user, name: str, pk: int):
    client.force_login(user)
    return client.get(reverse(name, args=[pk]))


def test_the_same_phone_converted_by_two_teams_is_a_contact_of_each(pairs):
    a, b = pairs
    deal_a = convert(a, company_name="ООО Альфа", **A)
    deal_b = convert(b, company_name="ооо альфа", **B)
    assert deal_a.contact_id != deal_b.contact_id
    assert (deal_a.contact.team, deal_b.contact.team) == (a.sales, b.sales)
    assert (deal_b.contact.name, deal_b.contact.email) == (B["name"], B["email"])
    assert (deal_a.contact.name, deal_a.contact.email) == (A["name"], A["email"])
    assert deal_a.contact.phone == deal_b.contact.phone == "+79161234567"
    # One company name, two teams' rows, each spelled as that team's qualifier typed it.
    assert deal_a.company_id != deal_b.company_id
    assert (deal_a.company.name, deal_b.company.name) == ("ООО Альфа", "ооо альфа")
    assert (deal_a.company.team, deal_b.company.team) == (a.sales, b.sales)


def test_neither_teams_pages_show_the_others_name_email_company_or_deals(client, pairs):
    a, b = pairs
    deal_a = convert(a, company_name="Alpha Kitchens", **A)
    deal_b = convert(b, company_name="Beta Interiors", **B)
    sides = (
        (a, deal_a, deal_b, (B["name"], B["email"], "Beta Interiors")),
        (b, deal_b, deal_a, (A["name"], A["email"], "Alpha Kitchens")),
    )
    for pair, own, other, (name, email, company) in sides:
        for user in (pair.closer, pair.head):
            for html in (
                page(client, user, "deals:detail", own.pk).content.decode(),
                page(client, user, "deals:contact", own.contact_id).content.decode(),
                client.get(reverse("deals:board")).content.decode(),
            ):
                assert name not in html and email not in html and company not in html
                assert reverse("deals:detail", args=[other.pk]) not in html
            assert page(client, user, "deals:detail", other.pk).status_code == 404
            assert page(client, user, "deals:contact", other.contact_id).status_code == 404
            api = APIClient()
            api.force_authenticate(user)
            listed = api.get("/api/v1/deals/").json()["results"]
            assert [d["id"] for d in listed] == [own.pk]
            assert (listed[0]["contact"], listed[0]["company"]) == (
                own.contact.name,
                own.company.name,
            )
            assert api.get(f"/api/v1/deals/{other.pk}/").status_code == 404


def test_a_second_teams_conversion_changes_nothing_on_the_first_teams_contact(client, pairs):
    a, b = pairs
    deal_a = convert(a, company_name="Alpha Kitchens", phone=A["phone"], name=A["name"])
    convert(b, company_name="Beta Interiors", **B)  # the same phone, with an e-mail and a move
    contact = Contact.objects.get(pk=deal_a.contact_id)
    assert (contact.name, contact.email, contact.company.name) == (
        A["name"],
        "",
        "Alpha Kitchens",
    )
    html = page(client, a.closer, "deals:contact", contact.pk).content.decode()
    assert "Beta Interiors" not in html and B["email"] not in html


def test_within_one_team_the_contact_is_reused_merged_and_keeps_its_history(client, pairs):
    a, _ = pairs
    first = convert(a, company_name="Alpha", name=A["name"], phone=A["phone"])
    by_phone = convert(a, company_name="Beta", phone=B["phone"], email=A["email"], name="И. Петров")
    by_email = convert(a, phone="+7 903 000-00-00", email=A["email"].upper(), name="Иван П")
    contact = Contact.objects.get(pk=first.contact_id)
    assert {by_phone.contact_id, by_email.contact_id} == {contact.pk}
    # The e-mail the second lead brought was added; the person moved to Beta, one contact.
    assert (contact.name, contact.phone, contact.email) == (A["name"], "+79161234567", A["email"])
    assert contact.company.name == "Beta"
    assert [first.company.name, by_phone.company.name] == ["Alpha", "Beta"]
    html = page(client, a.closer, "deals:contact", contact.pk).content.decode()
    for deal in (first, by_phone, by_email):
        assert reverse("deals:detail", args=[deal.pk]) in html
    assert "Alpha" in html and "Beta" in html
    assert Contact.objects.filter(team=a.sales).count() == 1


def test_the_contact_page_lists_the_teams_leads_not_another_teams(client, pairs, world):
    """A head who manages team B's call centre too sees B's leads on their pages — but team A's
    contact page is A's history: leads of the teams handing off to A's sales team only."""
    a, b = pairs
    b.qualification.manager = a.head
    b.qualification.save()
    deal_a = convert(a, **A)
    lead_b = make_lead(b.qualification, company_name="Beta Interiors", **B)
    html = page(client, a.head, "deals:contact", deal_a.contact_id).content.decode()
    assert reverse("leads:detail", args=[deal_a.lead_id]) in html
    assert reverse("leads:detail", args=[lead_b.pk]) not in html
    assert "Beta Interiors" not in html


def test_two_call_centres_handing_to_one_sales_team_share_its_contact_but_not_their_names(
    client, pairs
):
    """Both call centres hand off to Showroom: its closers see one person with both deals.
    The qualifiers never see the contact: their dispute page and notifications name the
    person as their own lead did."""
    a, b = pairs
    b.qualification.hands_off_to.add(a.sales)
    criterion = make_criterion(required=False)
    convert(a, **A)
    deal = convert(b, sales=a.sales, answers={criterion: "custom"}, **B)
    assert deal.contact.name == A["name"]  # Showroom's contact, made by the first handoff
    assert Contact.objects.filter(team=a.sales).count() == 1
    deals.deal_accept(deal=deal, by=a.closer)
    dispute = disputes.dispute_raise(deal=deal, by=a.closer, criterion=criterion, claim="no")
    told = Notification.objects.get(recipient=b.qualifier, kind="dispute")
    assert told.params["contact"] == B["name"]
    for url in (reverse("handoff:dispute", args=[dispute.pk]), reverse("handoff:disputes")):
        client.force_login(b.qualifier)
        html = client.get(url).content.decode()
        assert B["name"] in html and A["name"] not in html
    assert page(client, b.qualifier, "deals:contact", deal.contact_id).status_code == 404


def test_the_services_lookup_never_reaches_into_another_teams_contacts(pairs):
    a, b = pairs
    deal_b = convert(b, company_name="Alpha", **B)
    lead = make_lead(a.qualification, **A)
    company = deals.company_for_name(" alpha ", a.sales)
    contact = deals.contact_for_lead(lead, company, a.sales)
    assert contact.pk != deal_b.contact_id and contact.team == a.sales
    assert company.pk != deal_b.company_id and company.team == a.sales
    assert deals.contact_for_lead(lead, company, a.sales).pk == contact.pk
    assert Contact.objects.get(pk=deal_b.contact_id).email == B["email"]


def test_a_contact_cannot_be_given_another_teams_company(pairs):
    """The admin's form: the company autocomplete lists every team's companies."""
    a, b = pairs
    deal_a = convert(a, company_name="Alpha", **A)
    deal_b = convert(b, company_name="Beta", **B)
    contact = Contact.objects.get(pk=deal_a.contact_id)
    contact.company = deal_b.company
    with pytest.raises(ValidationError) as error:
        contact.full_clean()
    assert "company" in error.value.message_dict
