"""Nobody reaches another team's lead by changing an id in a URL: every lead route is a 404."""

import pytest
from django.urls import reverse

from tests.factories import make_lead

pytestmark = pytest.mark.django_db

LEAD_ROUTES = [
    ("get", "leads:detail", {}),
    ("post", "leads:attempt", {"outcome": "reached"}),
    ("post", "leads:answers", {}),
    ("post", "leads:check", {}),
    ("post", "leads:junk", {"reason": "1"}),
    ("post", "handoff:convert", {"sales_team": "1"}),
]


@pytest.mark.parametrize(("method", "route", "data"), LEAD_ROUTES)
def test_outsider_gets_404_for_another_teams_lead(client, world, method, route, data):
    lead = make_lead(world.team)
    client.force_login(world.outsider)
    response = getattr(client, method)(reverse(route, args=[lead.pk]), data)
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.state == "new"
    assert not lead.attempts.exists()


@pytest.mark.parametrize(("method", "route", "data"), LEAD_ROUTES)
def test_closer_gets_404_for_a_qualification_teams_lead(client, world, method, route, data):
    lead = make_lead(world.team)
    client.force_login(world.closer)
    assert getattr(client, method)(reverse(route, args=[lead.pk]), data).status_code == 404


def test_member_and_manager_see_the_lead(client, world):
    lead = make_lead(world.team)
    for user in (world.qualifier, world.teammate, world.head):
        client.force_login(user)
        assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200


def test_queue_lists_only_the_users_teams(client, world):
    mine = make_lead(world.team, name="Мой Лид")
    theirs = make_lead(world.other_team, name="Чужой Лид")
    client.force_login(world.qualifier)
    page = client.get(reverse("leads:queue")).content.decode()
    assert mine.name in page
    assert theirs.name not in page


def test_take_next_never_hands_out_another_teams_lead(client, world):
    make_lead(world.other_team)
    client.force_login(world.qualifier)
    response = client.post(reverse("leads:take_next"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("leads:queue")
    assert "queue is empty" in response.content.decode()


def test_anonymous_is_sent_to_login(client, world):
    lead = make_lead(world.team)
    for url in (reverse("leads:queue"), reverse("leads:detail", args=[lead.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
