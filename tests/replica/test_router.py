"""The routing rules without a replica server (test_real_replica.py runs them against one)."""

import time

import pytest
from django.db import transaction

from crm import replica
from leads.models import Lead


@pytest.fixture
def replica_up(monkeypatch):
    """As if REPLICA_DATABASE_URL were set and the last probe found the replica current."""
    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica, "_state", replica.State(True, time.monotonic(), 0.0))


def test_without_a_replica_everything_is_the_primarys(client):
    assert replica.read_alias() == "default" and replica.status() is None
    with replica.reading_replica():
        assert replica.Router().db_for_read(Lead) == "default"
    assert "replica" not in client.get("/healthz").json()
    assert replica.reporting(lambda: "answered")() == "answered"


def test_only_reads_in_a_reporting_scope_go_to_a_usable_replica(replica_up):
    router = replica.Router()
    assert router.db_for_read(Lead) is None  # Django's choice: the primary
    with replica.reading_replica():
        assert router.db_for_read(Lead) == "replica"
        assert router.db_for_write(Lead) == "default"
    assert router.db_for_read(Lead) is None
    assert router.db_for_write(Lead) == "default"
    assert router.allow_migrate("default", "leads") and not router.allow_migrate("replica", "leads")
    assert replica.read_alias() == "replica"


def test_a_lagging_replica_is_not_read(replica_up, monkeypatch):
    monkeypatch.setattr(replica, "_state", replica.State(False, time.monotonic(), 40.0, "lag"))
    with replica.reading_replica():
        assert replica.Router().db_for_read(Lead) == "default"
    assert replica.read_alias() == "default"
    assert replica.status() == {"ok": False, "reads": "primary", "lag_s": 40.0, "error": "lag"}


@pytest.mark.django_db
def test_inside_a_transaction_reads_stay_with_its_writes(replica_up):
    with replica.reading_replica(), transaction.atomic():
        assert replica.Router().db_for_read(Lead) is None
