"""Personas per role — a member, a teammate and an outsider — on two qualification teams and
a sales team, the way the spec describes the users."""

import os
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from crm.teams.models import Role, Team
from tests.factories import JunkReasonFactory, SourceFactory, TeamFactory, UserFactory

# Playwright drives the browser from this thread while the test also uses the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_test_settings(settings) -> None:
    # A deliberately slow password hash costs seconds per test's worth of personas.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest storage needs collectstatic; tests serve static files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class World:
    team: Team  # the qualification team the personas work in
    other_team: Team  # another qualification team, whose data they must never reach
    sales: Team
    qualifier: User
    teammate: User
    outsider: User  # a qualifier of other_team
    closer: User
    head: User


@pytest.fixture
def world(db) -> World:
    head = UserFactory(username="head", role=Role.SALES_HEAD)
    team = TeamFactory(name="Call centre", manager=head)
    other_team = TeamFactory(name="Other call centre")
    sales = TeamFactory(name="Showroom", kind=Team.Kind.SALES, manager=head)
    team.hands_off_to.add(sales)
    qualifier = UserFactory(username="qualifier", role=Role.QUALIFIER)
    teammate = UserFactory(username="teammate", role=Role.QUALIFIER)
    outsider = UserFactory(username="outsider", role=Role.QUALIFIER)
    closer = UserFactory(username="closer", role=Role.CLOSER)
    team.members.add(qualifier, teammate)
    other_team.members.add(outsider)
    sales.members.add(closer)
    SourceFactory()
    JunkReasonFactory()
    return World(team, other_team, sales, qualifier, teammate, outsider, closer, head)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    # Working weeks and intake sources are kept per process; each test sets up its own.
    from crm.teams.selectors import forget_working_weeks
    from leads.selectors import forget_intake_sources

    forget_working_weeks()
    forget_intake_sources()
