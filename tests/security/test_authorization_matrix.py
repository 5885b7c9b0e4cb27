"""Every route × every role × anonymous, on team A's objects: the answer each one gets.

Generated from the URL conf: a new route without an entry here fails the test, so nobody adds
a page or an API action without deciding who may reach it."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from crm.health.services import beat
from crm.notifications.models import Notification
from crm.teams.models import Role
from deals import services as deals
from deals.models import VisitSlot
from handoff.disputes import dispute_raise
from leads.models import ExportJob, JunkReason, LeadImport, LeadSource, Mailbox
from telephony.models import Call, PbxConnection, recordings_storage
from tests.factories import UserFactory, make_criterion, make_deal, make_lead
from tests.security.routes import named_routes
from tests.telephony.fake_pbx import make_wav

ROLES = ("anonymous", "qualifier", "closer", "head", "head_b", "outsider", "staff", "admin")


@dataclass(frozen=True)
class Rule:
    method: str
    obj: str | None  # which of team A's objects the URL names
    expect: tuple[int, ...]  # in the order of ROLES


def rule(method: str, obj: str | None, *codes: int) -> Rule:
    assert len(codes) == len(ROLES)
    return Rule(method, obj, codes)


# anonymous, qualifier (team A), closer (sales team S), head (manages A and S), head_b (a Sales
# head who manages team B only), outsider (a qualifier of team B), staff (is_staff, no
# superuser, no group, no team: Django's admin and nothing else), admin (superuser).
# The refusals (crm/access.py): 404 for an object the user may not see, 403 for a page that is
# not for their role or an action they may not take on what they see.
EXPECTED = {
    "admin:*": rule("GET", None, 302, 302, 302, 302, 302, 302, 200, 200),
    "home": rule("GET", None, 302, 302, 302, 302, 302, 302, 302, 302),
    "login": rule("GET", None, 200, 302, 302, 302, 302, 302, 302, 302),
    "logout": rule("POST", None, 302, 302, 302, 302, 302, 302, 302, 302),
    "set_language": rule("POST", None, 302, 302, 302, 302, 302, 302, 302, 302),
    # each user's own API token (no object: nobody names another user's)
    "accounts:profile": rule("GET", None, 302, 200, 200, 200, 200, 200, 200, 200),
    # no action chosen
    "accounts:token": rule("POST", None, 302, 400, 400, 400, 400, 400, 400, 400),
    "healthz": rule("GET", None, 200, 200, 200, 200, 200, 200, 200, 200),
    # the header's search: whoever sees leads or deals (what it finds is scoped), and an admin
    "search": rule("GET", None, 302, 200, 200, 200, 200, 200, 403, 200),
    # leads
    "leads:queue": rule("GET", None, 302, 200, 403, 200, 200, 200, 403, 200),
    "leads:take_next": rule("POST", None, 302, 302, 403, 302, 302, 302, 403, 302),
    "leads:create": rule("GET", None, 302, 200, 403, 200, 200, 200, 403, 200),
    "leads:detail": rule("GET", "lead", 302, 200, 404, 200, 404, 404, 404, 200),
    "leads:timeline": rule("GET", "lead", 302, 200, 404, 200, 404, 404, 404, 200),
    "leads:attempt": rule("POST", "lead", 302, 400, 404, 400, 404, 404, 404, 400),
    "leads:answers": rule("POST", "lead", 302, 302, 404, 302, 404, 404, 404, 302),
    "leads:answer": rule("POST", "lead", 302, 400, 404, 400, 404, 404, 404, 400),
    "leads:contact": rule("POST", "lead", 302, 400, 404, 400, 404, 404, 404, 400),
    "leads:check": rule("POST", "lead", 302, 302, 404, 302, 404, 404, 404, 302),
    "leads:junk": rule("POST", "lead", 302, 400, 404, 400, 404, 404, 404, 400),
    "leads:export": rule("GET", None, 302, 200, 403, 200, 200, 200, 403, 200),
    "leads:export_start": rule("POST", None, 302, 302, 403, 302, 302, 302, 403, 302),
    "leads:exports": rule("GET", None, 302, 200, 403, 200, 200, 200, 403, 200),
    # the qualifier's export: theirs and an administrator's to see and download
    "leads:export_panel": rule("GET", "export", 302, 200, 403, 404, 404, 404, 403, 200),
    "leads:export_download": rule("GET", "export", 302, 200, 403, 404, 404, 404, 403, 200),
    "leads:sla": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "leads:import": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "leads:import_job": rule("GET", "import", 302, 404, 404, 200, 404, 404, 404, 200),
    "leads:import_step": rule("POST", "import", 302, 404, 404, 200, 404, 404, 404, 200),
    "handoff:convert": rule("GET", "lead", 302, 200, 404, 200, 404, 404, 404, 200),
    # deals
    "deals:board": rule("GET", None, 302, 403, 200, 200, 403, 403, 403, 200),
    "deals:board_more": rule("GET", "stage", 302, 403, 200, 200, 403, 403, 403, 200),
    "deals:board_count": rule("GET", "stage", 302, 403, 200, 200, 403, 403, 403, 200),
    "deals:detail": rule("GET", "deal", 302, 404, 200, 200, 404, 404, 404, 200),
    "deals:timeline": rule("GET", "deal", 302, 404, 200, 200, 404, 404, 404, 200),
    "deals:accept": rule("POST", "deal", 302, 404, 302, 403, 404, 404, 404, 403),
    "deals:meeting": rule("POST", "deal", 302, 404, 400, 400, 404, 404, 404, 400),
    "deals:propose": rule("POST", "deal", 302, 404, 302, 302, 404, 404, 404, 302),
    "deals:win": rule("POST", "deal", 302, 404, 400, 400, 404, 404, 404, 400),
    "deals:lose": rule("POST", "deal", 302, 404, 400, 400, 404, 404, 404, 400),
    "deals:note": rule("POST", "deal", 302, 404, 400, 400, 404, 404, 404, 400),
    "deals:assign": rule("POST", "deal", 302, 404, 403, 302, 404, 404, 404, 302),
    "deals:slots": rule("GET", None, 302, 403, 200, 403, 403, 403, 403, 403),
    "deals:slot_remove": rule("POST", "slot", 302, 302, 302, 302, 302, 302, 302, 302),
    "deals:availability": rule("POST", None, 302, 302, 302, 302, 302, 302, 302, 302),
    "deals:contact": rule("GET", "contact", 302, 404, 200, 200, 404, 404, 404, 200),
    "handoff:dispute_raise": rule("POST", "deal", 302, 404, 403, 403, 404, 404, 404, 403),
    "handoff:disputes": rule("GET", None, 302, 200, 200, 200, 200, 200, 200, 200),
    "handoff:dispute": rule("GET", "dispute", 302, 200, 200, 200, 404, 404, 404, 200),
    "handoff:dispute_comment": rule("POST", "dispute", 302, 400, 400, 400, 404, 404, 404, 400),
    "handoff:dispute_resolve": rule("POST", "dispute", 302, 400, 400, 400, 404, 404, 404, 400),
    # notifications and reports
    "notifications:inbox": rule("GET", None, 302, 200, 200, 200, 200, 200, 200, 200),
    "notifications:badge": rule("GET", None, 302, 200, 200, 200, 200, 200, 200, 200),
    "notifications:open": rule("GET", "notification", 302, 404, 404, 302, 404, 404, 404, 404),
    "notifications:mark_all_read": rule("POST", None, 302, 302, 302, 302, 302, 302, 302, 302),
    "reports:teams": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "reports:person": rule("GET", "person", 302, 404, 404, 200, 404, 404, 404, 200),
    "reports:leaderboard": rule("GET", None, 302, 200, 200, 200, 200, 200, 200, 200),
    "reports:insights": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "reports:calls": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    # a qualifier's days on the call report, no team or qualifier named: 400 (test_calls.py)
    "reports:calls_days": rule("GET", None, 302, 403, 403, 400, 400, 403, 403, 400),
    # API: 401 without credentials (token auth answers first), 404 for another team's object
    "api:api-root": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    # The schema and its docs need a login or a token; the docs send a browser to log in.
    "api:schema": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:docs": rule("GET", None, 302, 200, 200, 200, 200, 200, 200, 200),
    # the source key decides
    "api:intake": rule("POST", None, 401, 401, 401, 401, 401, 401, 401, 401),
    "api:lead-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:lead-detail": rule("GET", "lead", 401, 200, 404, 200, 404, 404, 404, 200),
    "api:lead-claim-next": rule("POST", None, 401, 200, 204, 200, 204, 204, 204, 200),
    "api:lead-attempts": rule("POST", "lead", 401, 400, 404, 400, 404, 404, 404, 400),
    "api:lead-answers": rule("POST", "lead", 401, 400, 404, 400, 404, 404, 404, 400),
    "api:lead-check": rule("POST", "lead", 401, 409, 404, 409, 404, 404, 404, 409),
    "api:lead-junk": rule("POST", "lead", 401, 400, 404, 400, 404, 404, 404, 400),
    "api:lead-convert": rule("POST", "lead", 401, 409, 404, 409, 404, 404, 404, 409),
    "api:criterion-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:junk-reason-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:loss-reason-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:source-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:deal-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:deal-detail": rule("GET", "deal", 401, 404, 200, 200, 404, 404, 404, 200),
    "api:deal-accept": rule("POST", "deal", 401, 404, 200, 403, 404, 404, 404, 403),
    "api:deal-stage": rule("POST", "deal", 401, 404, 400, 400, 404, 404, 404, 400),
    "api:deal-win": rule("POST", "deal", 401, 404, 400, 400, 404, 404, 404, 400),
    "api:deal-lose": rule("POST", "deal", 401, 404, 400, 400, 404, 404, 404, 400),
    "api:deal-dispute": rule("POST", "deal", 401, 404, 400, 400, 404, 404, 404, 400),
    "api:dispute-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:dispute-detail": rule("GET", "dispute", 401, 200, 200, 200, 404, 404, 404, 200),
    "api:dispute-resolve": rule("POST", "dispute", 401, 400, 400, 400, 404, 404, 404, 400),
    "api:export-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:export-detail": rule("GET", "export", 401, 200, 404, 404, 404, 404, 404, 200),
    "api:export-download": rule("GET", "export", 401, 200, 404, 404, 404, 404, 404, 200),
    "api:notification-list": rule("GET", None, 401, 200, 200, 200, 200, 200, 200, 200),
    "api:team-report": rule("GET", None, 401, 403, 403, 200, 200, 403, 403, 200),
    "api:call-report": rule("GET", None, 401, 403, 403, 200, 200, 403, 403, 200),
    # Settings: admins everything; a manager their teams and their teams' sources
    "setup:index": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:criteria": rule("GET", None, 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:criterion_add": rule("GET", None, 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:criterion_edit": rule("GET", "criterion", 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:criterion_move": rule("POST", "criterion", 302, 403, 403, 403, 403, 403, 403, 400),
    "setup:criteria_order": rule("POST", None, 302, 403, 403, 403, 403, 403, 403, 400),
    "setup:criterion_preview": rule("POST", None, 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:reasons": rule("GET", None, 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:reason_add": rule("GET", "reason_kind", 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:reason_edit": rule("GET", "reason", 302, 403, 403, 403, 403, 403, 403, 200),
    "setup:sources": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:source_add": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:source_edit": rule("GET", "source", 302, 403, 403, 200, 404, 403, 403, 200),
    "setup:source_rotate": rule("POST", "source", 302, 403, 403, 302, 404, 403, 403, 302),
    "setup:teams": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:team_edit": rule("GET", "team", 302, 403, 403, 200, 404, 403, 403, 200),
    # a qualification team's PBX and mailbox: whoever manages it (head_b manages team B)
    "setup:pbx_connections": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:pbx_add": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:pbx_edit": rule("GET", "pbx", 302, 403, 403, 200, 404, 403, 403, 200),
    "setup:mailboxes": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:mailbox_add": rule("GET", None, 302, 403, 403, 200, 200, 403, 403, 200),
    "setup:mailbox_edit": rule("GET", "mailbox", 302, 403, 403, 200, 404, 403, 403, 200),
    # Telephony: the workspace's call panel as the lead (a user without an extension is told)
    "telephony:panel": rule("GET", "lead", 302, 200, 404, 200, 404, 404, 404, 200),
    "telephony:call": rule("POST", "lead", 302, 200, 404, 200, 404, 404, 404, 200),
    # The PBXs' addresses: the signature decides, not a login (unsigned: 403; Zadarma's
    # unsigned body names no event, a 400 before any signature can be checked).
    "telephony:mango": rule("POST", "mango", 403, 403, 403, 403, 403, 403, 403, 403),
    "telephony:zadarma": rule("POST", "zadarma", 400, 400, 400, 400, 400, 400, 400, 400),
    "telephony:generic": rule("POST", "generic", 403, 403, 403, 403, 403, 403, 403, 403),
    # A call's recording: as the lead, and also for the sales team its deal went to
    "telephony:recording": rule("GET", "recording", 302, 200, 200, 200, 404, 404, 404, 200),
}


def test_every_route_has_an_entry():
    missing = sorted(set(named_routes()) - set(EXPECTED))
    assert not missing, f"routes without an authorization rule: {missing}"
    assert not set(EXPECTED) - set(named_routes()), "rules for routes that no longer exist"


@pytest.fixture
def objects(world, settings, tmp_path) -> dict:
    for heartbeat in ("beat", "worker", "sla_sweep"):  # /healthz answers 200
        beat(heartbeat)
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    criterion = make_criterion(required=False)
    lead = make_lead(world.team)
    deal = make_deal(world, phone="+79160000111")
    disputed = make_deal(world, phone="+79160000222", answers={criterion: "custom"})
    deals.deal_accept(deal=disputed, by=world.closer)
    dispute = dispute_raise(deal=disputed, by=world.closer, criterion=criterion, claim="wrong")
    job = LeadImport.objects.create(
        created_by=world.head,
        team=world.team,
        source=LeadSource.objects.get(slug="website"),
        file_name="x.csv",
        text="phone\n+79161234567\n",
        encoding="utf-8",
        delimiter=",",
        header=["phone"],
    )
    slot = VisitSlot.objects.create(
        closer=world.closer, starts_at=deal.created_at, ends_at=deal.created_at.replace(year=2099)
    )
    Group.objects.get_or_create(name="Sales head")
    # A head of one team only (team B): a Sales head who manages nothing of team A's.
    head_b = UserFactory(username="head_b", role=Role.SALES_HEAD)
    world.other_team.manager = head_b
    world.other_team.save()
    # Staff but no superuser, no group, no team: Django's admin lets them in, nothing else.
    staff = UserFactory(username="staff", is_staff=True)
    team_source = LeadSource.objects.create(name="A's form", slug="a-form", team=world.team)
    settings.MEDIA_ROOT = tmp_path
    export = ExportJob.objects.create(
        requested_by=world.qualifier, language="en", time_zone="UTC", state=ExportJob.State.DONE
    )
    export.file.save("leads.csv", ContentFile(b"\xef\xbb\xbfId\r\n"))
    pbx = {
        provider: PbxConnection.objects.create(team=world.team, provider=provider, api_secret="s")
        for provider in ("mango", "zadarma", "generic")
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "recordings"},
        },
    }
    call = Call.objects.create(
        connection=pbx["mango"],
        pbx_call_id="E1",
        direction="out",
        state="ended",
        started_at=disputed.created_at,
        lead=disputed.lead,
        recording=recordings_storage().save("call.wav", ContentFile(make_wav(0.1))),
    )
    mailbox = Mailbox.objects.create(
        team=world.team, source=team_source, host="imap.example.ru", username="sales", password="p"
    )
    return {
        "users": {
            "qualifier": world.qualifier,
            "closer": world.closer,
            "head": world.head,
            "head_b": head_b,
            "outsider": world.outsider,
            "staff": staff,
            "admin": admin,
        },
        "lead": {"pk": lead.pk},
        "deal": {"pk": deal.pk},
        "stage": {"stage": "accepted"},
        "dispute": {"pk": dispute.pk},
        "contact": {"pk": deal.contact_id},
        "import": {"pk": job.pk},
        "export": {"pk": export.pk},
        "slot": {"slot_id": slot.pk},
        "person": {"pk": world.qualifier.pk},
        "notification": {"pk": Notification.objects.filter(recipient=world.head).first().pk},
        "criterion": {"pk": criterion.pk},
        "source": {"pk": team_source.pk},
        "team": {"pk": world.team.pk},
        "reason_kind": {"kind": "junk"},
        "reason": {"kind": "junk", "pk": JunkReason.objects.get().pk},
        "mango": {"key": pbx["mango"].url_key, "kind": "call"},
        "zadarma": {"key": pbx["zadarma"].url_key},
        "generic": {"key": pbx["generic"].url_key},
        "recording": {"pk": call.pk},
        "pbx": {"pk": pbx["mango"].pk},
        "mailbox": {"pk": mailbox.pk},
    }


def url_for(name: str, rule: Rule, objects: dict) -> str:
    if name == "admin:*":
        return "/admin/"
    return reverse(name, kwargs=objects[rule.obj] if rule.obj else None)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_authorization_matrix(name, objects):
    rule = EXPECTED[name]
    url = url_for(name, rule, objects)
    got = []
    for role in ROLES:
        client = APIClient() if name.startswith("api:") else Client()
        user = objects["users"].get(role)
        if user is not None:
            client.force_login(user)
        with transaction.atomic():  # each request starts from the same data
            response = getattr(client, rule.method.lower())(url)
            transaction.set_rollback(True)
        got.append(response.status_code)
    assert tuple(got) == rule.expect, dict(zip(ROLES, got, strict=True))
