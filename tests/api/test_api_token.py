"""Each user creates, regenerates and revokes their own API token on their profile page; the key
is shown once, when issued."""

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PROFILE = "/accounts/profile/"
TOKEN = "/accounts/profile/token/"


@pytest.fixture
def client(world) -> Client:
    client = Client()
    client.force_login(world.qualifier)
    return client


def _shown_key(html: str) -> str:
    match = re.search(r'id="new-token" type="text" value="([0-9a-f]{40})"', html)
    assert match, "the new key is shown"
    return match.group(1)


def _api_status(key: str) -> int:
    return APIClient().get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Token {key}").status_code


def test_the_profile_needs_a_login():
    response = Client().get(PROFILE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Client().post(TOKEN, {"action": "issue"}).status_code == 302
    assert not Token.objects.exists()


def test_the_header_links_to_the_profile(client):
    assert f'href="{PROFILE}"' in client.get("/notifications/").content.decode()


def test_without_a_token_the_page_offers_to_create_one(client):
    html = client.get(PROFILE).content.decode()
    assert "You have no API token." in html
    assert 'value="issue"' in html
    assert 'value="revoke"' not in html


def test_creating_shows_the_key_once_and_it_works(client, world):
    response = client.post(TOKEN, {"action": "issue"}, follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]  # a reload does not post again
    html = response.content.decode()
    key = _shown_key(html)
    assert "it will not be shown again" in html
    assert Token.objects.get(user=world.qualifier).key == key
    assert _api_status(key) == 200
    again = client.get(PROFILE).content.decode()
    assert key not in again
    assert "You have an API token" in again
    assert "no-store" in response["Cache-Control"]


def test_regenerating_replaces_the_old_key(client, world):
    old = _shown_key(client.post(TOKEN, {"action": "issue"}, follow=True).content.decode())
    new = _shown_key(client.post(TOKEN, {"action": "issue"}, follow=True).content.decode())
    assert new != old
    assert _api_status(old) == 401
    assert _api_status(new) == 200
    assert Token.objects.filter(user=world.qualifier).count() == 1


def test_revoking_deletes_the_token(client, world):
    key = _shown_key(client.post(TOKEN, {"action": "issue"}, follow=True).content.decode())
    response = client.post(TOKEN, {"action": "revoke"}, follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]
    assert "was revoked" in response.content.decode()
    assert not Token.objects.filter(user=world.qualifier).exists()
    assert _api_status(key) == 401


def test_each_user_touches_only_their_own_token(client, world):
    theirs = Token.objects.create(user=world.teammate)
    client.post(TOKEN, {"action": "issue"})
    client.post(TOKEN, {"action": "revoke"})
    assert Token.objects.get(user=world.teammate) == theirs
    assert theirs.key not in client.get(PROFILE).content.decode()


@pytest.mark.parametrize("body", [{}, {"action": "delete-everything"}])
def test_an_unknown_action_is_400_and_changes_nothing(client, world, body):
    token = Token.objects.create(user=world.qualifier)
    assert client.post(TOKEN, body).status_code == 400
    assert Token.objects.get(user=world.qualifier) == token


def test_the_forms_need_csrf(world):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.qualifier)
    html = strict.get(PROFILE).content.decode()
    assert html.count('name="csrfmiddlewaretoken"') >= 2  # the language switcher and the form
    assert strict.post(TOKEN, {"action": "issue"}).status_code == 403
    assert not Token.objects.exists()


def test_get_does_not_issue(client):
    assert client.get(TOKEN).status_code == 405
    assert not Token.objects.exists()


def test_the_page_is_in_russian(client):
    client.cookies.load({"django_language": "ru"})
    html = client.get(PROFILE, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "API-токен" in html
    assert "Создать токен" in html
