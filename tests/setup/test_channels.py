"""A team's PBX connection and sales mailbox, set up in Settings by whoever manages the team:
secrets written but never shown back, the PBX's address to copy, extensions of the team's
people only, and every refusal said next to its field (never a 5xx)."""

import pytest
from django.urls import reverse

from leads.models import LeadSource, Mailbox
from telephony.models import Extension, PbxConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def head_client(client, world):
    client.force_login(world.head)  # manages world.team
    return client


def pbx_post(world, **overrides) -> dict:
    data = {
        "team": str(world.team.pk),
        "provider": "zadarma",
        "api_key": "zd-key",
        "api_secret": "zd-secret-1",
        "api_url": "",
        "numbers": "  +74951112233 \n\n 74951112244 ",
        "active": "on",
        "ext-TOTAL_FORMS": "2",
        "ext-INITIAL_FORMS": "0",
        "ext-0-user": str(world.qualifier.pk),
        "ext-0-extension": " 101 ",
        "ext-1-user": str(world.teammate.pk),
        "ext-1-extension": "102",
    }
    return {**data, **overrides}


def test_a_manager_connects_a_pbx_and_gets_the_address_to_give_it(head_client, world):
    answer = head_client.post(reverse("setup:pbx_add"), pbx_post(world))

    connection = PbxConnection.objects.get()
    assert answer.status_code == 302
    assert (connection.team, connection.api_secret) == (world.team, "zd-secret-1")
    assert connection.numbers == "+74951112233\n74951112244"
    assert {(e.user, e.extension) for e in connection.extensions.all()} == {
        (world.qualifier, "101"),
        (world.teammate, "102"),
    }
    page = head_client.get(answer.url).content.decode()
    assert f"/api/v1/telephony/zadarma/{connection.url_key}/" in page
    assert "zd-secret-1" not in page  # written, never shown back


def test_the_secret_left_empty_stays_and_mango_gets_its_base_address(head_client, world):
    connection = PbxConnection.objects.create(
        team=world.team, provider="mango", api_key="k", api_secret="salt-1"
    )
    data = pbx_post(world, provider="mango", api_secret="", **{"ext-TOTAL_FORMS": "0"})

    answer = head_client.post(reverse("setup:pbx_edit", args=[connection.pk]), data)

    assert answer.status_code == 302
    connection.refresh_from_db()
    assert (connection.api_secret, connection.api_key) == ("salt-1", "zd-key")
    page = head_client.get(answer.url).content.decode()
    assert f"/api/v1/telephony/mango/{connection.url_key}/" in page
    assert "events/call" not in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"api_secret": ""}, "api_secret", "Enter the secret the PBX signs with."),
        ({"api_key": ""}, "api_key", "Mango and Zadarma need the API key"),
        ({"api_url": "not an address"}, "api_url", "Enter a valid URL."),
        ({"provider": "asterisk"}, "provider", "Select a valid choice."),
        ({"ext-1-extension": "101"}, "extension", "duplicate data for extension"),
        ({"ext-1-user": "OUTSIDER"}, "user", "Select a valid choice."),
        ({"ext-1-user": "QUALIFIER", "ext-1-extension": "103"}, "user", "already has an extension"),
    ],
)
def test_a_refused_pbx_form_says_why_and_keeps_what_was_typed(
    head_client, world, overrides, field, message
):
    people = {"QUALIFIER": world.qualifier.pk, "OUTSIDER": world.outsider.pk}
    overrides = {k: str(people.get(v, v)) for k, v in overrides.items()}

    answer = head_client.post(reverse("setup:pbx_add"), pbx_post(world, **overrides))

    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert 'value="+74951112233' in answer.content.decode() or "+74951112233" in (
        answer.content.decode()
    )
    assert not PbxConnection.objects.exists() and not Extension.objects.exists()


def test_a_person_of_another_team_the_manager_also_runs_is_refused(head_client, world):
    world.other_team.manager = world.head
    world.other_team.save()
    data = pbx_post(world, **{"ext-1-user": str(world.outsider.pk)})

    answer = head_client.post(reverse("setup:pbx_add"), data)

    assert answer.status_code == 400
    assert "is not a member of Call centre" in answer.content.decode()


def test_another_teams_connection_is_a_404_and_a_qualifier_gets_403(client, world):
    theirs = PbxConnection.objects.create(team=world.other_team, provider="generic", api_secret="s")
    client.force_login(world.head)
    assert client.get(reverse("setup:pbx_edit", args=[theirs.pk])).status_code == 404
    assert "Other call centre" not in client.get(reverse("setup:pbx_connections")).content.decode()
    client.force_login(world.qualifier)
    assert client.get(reverse("setup:pbx_connections")).status_code == 403


def mailbox_post(world, mail_source, **overrides) -> dict:
    data = {
        "team": str(world.team.pk),
        "source": str(mail_source.pk),
        "host": "imap.example.ru",
        "port": "993",
        "security": "ssl",
        "username": "sales@example.ru",
        "password": "imap-pass-1",
        "folder": "INBOX",
        "enabled": "on",
    }
    return {**data, **overrides}


@pytest.fixture
def mail_source(world) -> LeadSource:
    return LeadSource.objects.create(
        name="E-mail", slug="mail-a", channel=LeadSource.Channel.EMAIL, team=world.team
    )


def test_a_manager_adds_the_teams_mailbox_and_the_password_stays_hidden(
    head_client, world, mail_source
):
    answer = head_client.post(reverse("setup:mailbox_add"), mailbox_post(world, mail_source))

    mailbox = Mailbox.objects.get()
    assert answer.status_code == 302 and mailbox.password == "imap-pass-1"
    page = head_client.get(answer.url).content.decode()
    assert "imap-pass-1" not in page and "sales@example.ru" in page


def test_moving_the_mailbox_to_another_folder_reads_it_from_the_start(
    head_client, world, mail_source
):
    mailbox = Mailbox.objects.create(
        team=world.team,
        source=mail_source,
        host="imap.example.ru",
        username="sales@example.ru",
        password="p",
        uidvalidity=7,
        last_uid=500,
    )
    data = mailbox_post(world, mail_source, password="", folder="Sales")

    assert (
        head_client.post(reverse("setup:mailbox_edit", args=[mailbox.pk]), data).status_code == 302
    )

    mailbox.refresh_from_db()
    assert (mailbox.password, mailbox.folder, mailbox.uidvalidity, mailbox.last_uid) == (
        "p",
        "Sales",
        None,
        0,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": ""}, "Enter the mailbox&#x27;s password."),
        ({"port": "70000"}, "A port is a number from 1 to 65535"),
        ({"port": "abc"}, "Enter a whole number."),
        ({"security": "none"}, "Without encryption the password crosses the network"),
        ({"source": "OTHER"}, "Select a valid choice."),
        ({"host": ""}, "This field is required."),
    ],
)
def test_a_refused_mailbox_form_says_why(head_client, world, mail_source, overrides, message):
    theirs = LeadSource.objects.create(name="B mail", slug="mail-b", team=world.other_team)
    overrides = {k: str(theirs.pk) if v == "OTHER" else v for k, v in overrides.items()}
    data = mailbox_post(world, mail_source, **overrides)

    answer = head_client.post(reverse("setup:mailbox_add"), data)

    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert 'value="imap.example.ru"' in answer.content.decode() or not data["host"]
    assert not Mailbox.objects.exists()


def test_a_source_of_another_team_is_refused_on_the_field(head_client, world, mail_source):
    world.other_team.manager = world.head  # they run both teams: both teams' sources offered
    world.other_team.save()
    theirs = LeadSource.objects.create(name="B mail", slug="mail-b", team=world.other_team)

    data = mailbox_post(world, mail_source, source=str(theirs.pk))
    answer = head_client.post(reverse("setup:mailbox_add"), data)

    assert answer.status_code == 400
    assert "Choose a source of this team." in answer.content.decode()


def test_a_local_server_may_go_without_encryption(head_client, world, mail_source):
    data = mailbox_post(world, mail_source, host="127.0.0.1", port="143", security="none")

    assert head_client.post(reverse("setup:mailbox_add"), data).status_code == 302
