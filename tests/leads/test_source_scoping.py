"""A lead typed in or imported gets a source of its own team (or a source of no team, such as
a phone call) — never another team's source, whose reports it would then count in."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from leads.models import Lead, LeadImport, LeadSource
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CSV = "ФИО;Телефон\nИванов Иван;+79161234567\n".encode()


@pytest.fixture
def sources(world) -> dict[str, LeadSource]:
    """Each team's own website source, and a shared phone source of no team."""
    ours = LeadSource.objects.create(name="Our site", slug="our-site", channel="web_form")
    ours.team = world.team
    ours.save()
    theirs = LeadSource.objects.create(
        name="Their site", slug="their-site", channel="web_form", team=world.other_team
    )
    shared = LeadSource.objects.create(name="Phone", slug="phone", channel="phone")
    return {"ours": ours, "theirs": theirs, "shared": shared}


def enter(client, world, source: LeadSource, phone: str = "+79161234567"):
    data = {"team": world.team.pk, "source": source.pk, "phone": phone}
    return client.post(reverse("leads:create"), data)


def test_manual_entry_offers_and_takes_only_the_users_teams_sources(client, world, sources):
    client.force_login(world.qualifier)
    offered = client.get(reverse("leads:create")).context["form"].fields["source"].queryset
    assert sources["theirs"] not in offered
    assert {sources["ours"], sources["shared"]} <= set(offered)
    response = enter(client, world, sources["theirs"])
    assert response.status_code == 400
    assert "source" in response.context["form"].errors
    assert not Lead.objects.exists()
    for phone, name in enumerate(("ours", "shared")):
        assert enter(client, world, sources[name], f"+7916123456{phone}").status_code == 302
    assert Lead.objects.filter(team=world.team).count() == 2


def test_manual_entry_refuses_a_source_of_the_users_other_team(client, world, sources):
    # A member of both teams may use both teams' sources, each for its own team's leads.
    world.other_team.members.add(world.qualifier)
    client.force_login(world.qualifier)
    response = enter(client, world, sources["theirs"])
    assert response.status_code == 400
    assert "source" in response.context["form"].errors
    data = {"team": world.other_team.pk, "source": sources["theirs"].pk, "phone": "+79161234567"}
    assert client.post(reverse("leads:create"), data).status_code == 302
    assert Lead.objects.get().team == world.other_team


def upload(client, team, source):
    file = SimpleUploadedFile("leads.csv", CSV, content_type="text/csv")
    return client.post(
        reverse("leads:import"), {"file": file, "team": team.pk, "source": source.pk}
    )


def test_the_import_page_takes_only_the_chosen_teams_sources(client, world, sources):
    client.force_login(world.head)
    response = upload(client, world.team, sources["theirs"])
    assert response.status_code == 400
    assert "source" in response.context["form"].errors
    assert not LeadImport.objects.exists()
    assert upload(client, world.team, sources["ours"]).status_code == 302
    assert upload(client, world.team, sources["shared"]).status_code == 302


def test_an_admin_imports_into_any_team_with_that_teams_source(client, world, sources):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert upload(client, world.other_team, sources["theirs"]).status_code == 302
    response = upload(client, world.team, sources["theirs"])
    assert response.status_code == 400
    assert "source" in response.context["form"].errors


def test_the_command_refuses_a_source_of_another_team(world, sources, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(CSV)
    options = {"team": world.team.name, "stdout": io.StringIO(), "stderr": io.StringIO()}
    with pytest.raises(CommandError, match="belongs to the team"):
        call_command("import_leads", str(path), source="their-site", **options)
    assert not Lead.objects.exists()
    call_command("import_leads", str(path), source="our-site", **options)
    call_command("import_leads", str(path), source="phone", **options)
    assert Lead.objects.filter(team=world.team).count() == 2
