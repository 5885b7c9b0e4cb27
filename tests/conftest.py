"""Personas per role — a member, a teammate and an outsider — on two qualification teams and
a sales team, the way the spec describes the users."""

import os
import uuid
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


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Before a test restores the database serialized at its creation (serialized_rollback:
    browser, gunicorn and fault tests), empty it without post_migrate when a transactional
    test without that flag ran before it: that test's flush ran post_migrate, which made the
    content types again under new ids, and restoring the old ones would then fail on their
    unique names (Django's #23727/#25251: an IntegrityError at setup, in some test orders)."""
    if fixturedef.argname == "_django_db_helper" and _restores_serialized(request.node):
        request.getfixturevalue("django_db_setup")  # the test database, never another
        with request.getfixturevalue("django_db_blocker").unblock():
            _flush_if_remade()
    yield


def _restores_serialized(item: pytest.Item) -> bool:
    return any(m.kwargs.get("serialized_rollback") for m in item.iter_markers("django_db"))


def _flush_if_remade() -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command

    # After a serialized test's own flush (post_migrate inhibited) the table is empty; rows
    # here are either the migrated ones (restoring them is harmless) or a post_migrate's.
    if ContentType.objects.exists():
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    ContentType.objects.clear_cache()


@pytest.fixture
def recordings_in_tmp(settings, tmp_path) -> None:
    """Recordings kept in the test's own folder, not in the checkout's media."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "recordings"},
        },
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
def _fresh_process_caches(settings):
    # Working weeks and intake sources are kept per process; each test sets up its own.
    from crm.teams.selectors import forget_working_weeks
    from leads.selectors import forget_intake_sources

    forget_working_weeks()
    forget_intake_sources()
    # The team report's cached sums are keyed by their rows' build times, which a frozen
    # clock repeats from one test to the next (and SQLite reuses the teams' ids): each test
    # gets keys of its own. Not a flush: on Redis the cache shares its database with Celery's
    # queue bindings, which a running worker needs.
    settings.CACHES = {
        name: {**cache, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, cache in settings.CACHES.items()
    }
