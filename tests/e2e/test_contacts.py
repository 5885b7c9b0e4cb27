"""A person handed off by two call centres to two sales teams, in a real browser: each team's
closer goes from the board to the deal to the person's page and sees only what their own
team recorded (SPEC: convert "never across into data another team may not see")."""

from playwright.sync_api import Page, expect

from crm.teams.models import Role, Team
from handoff.services import lead_convert
from leads import services
from tests.e2e.conftest import login
from tests.factories import TeamFactory, UserFactory, make_lead


def hand_off(qualification: Team, sales: Team, qualifier, **fields):
    lead = make_lead(qualification, **fields)
    services.lead_attempt_log(lead=lead, by=qualifier, outcome="reached")
    services.lead_check(lead=lead, by=qualifier)
    return lead_convert(lead=lead, by=qualifier, sales_team=sales).deal


def test_each_sales_team_sees_only_its_own_record_of_the_person(page: Page, live_server, world):
    field = TeamFactory(name="Field sales", kind=Team.Kind.SALES, assignment="pool")
    field.members.add(UserFactory(username="closer_b", role=Role.CLOSER))
    world.other_team.hands_off_to.add(field)
    world.sales.assignment = "pool"
    world.sales.save()
    hand_off(
        world.team,
        world.sales,
        world.qualifier,
        name="Иван Петров",
        email="ivan@alpha.ru",
        company_name="Alpha Kitchens",
    )
    theirs = hand_off(
        world.other_team,
        field,
        world.outsider,
        name="Пётр Сидоров",
        phone="8 916 123-45-67",  # the same person's phone, as the other call centre typed it
        email="petr@beta.ru",
        company_name="Beta Interiors",
    )

    login(page, live_server, "closer_b")
    page.locator(f"article.deal[data-deal='{theirs.pk}'] a").first.click()
    expect(page.locator("main h1")).to_contain_text("Пётр Сидоров")
    page.locator("main h1 a").first.click()
    expect(page).to_have_url(f"{live_server.url}/deals/contacts/{theirs.contact_id}/")
    main = page.locator("main")
    expect(main).to_contain_text("petr@beta.ru")
    expect(main).to_contain_text("Beta Interiors")
    for other in ("Иван Петров", "ivan@alpha.ru", "Alpha Kitchens", "Showroom"):
        expect(main).not_to_contain_text(other)
