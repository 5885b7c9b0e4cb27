"""The callback SLA: deadlines in working time, raised once by the sweep, told to the right
people, delivered by e-mail and webhook with retries."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.deadlines.models import Deadline
from crm.deadlines.sweep import sweep
from crm.notifications.models import Delivery, Notification
from crm.notifications.services import deliveries_due, delivery_send
from crm.teams.models import WorkingHours
from leads import alerts, services
from leads.models import JunkReason, Lead, LeadEvent
from tests.factories import SourceFactory, UserFactory, make_deal, make_lead
from tests.webhook import WebhookReceiver

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 12:00 in Moscow


def kinds(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_a_lead_at_friday_night_is_due_monday_morning(world):
    for day in range(5):
        WorkingHours.objects.create(team=world.team, weekday=day, opens=time(9), closes=time(20))
    friday_night = datetime(2026, 11, 27, 20, 40, tzinfo=UTC)  # 23:40 in Moscow
    lead = make_lead(world.team, now=friday_night)
    assert lead.warn_at == datetime(2026, 11, 30, 6, 15, tzinfo=UTC)  # Monday 09:15 Moscow
    assert lead.breach_at == datetime(2026, 11, 30, 6, 20, tzinfo=UTC)
    assert set(lead.deadlines.values_list("kind", "due_at")) == {
        ("warn", lead.warn_at),
        ("breach", lead.breach_at),
    }


def test_unclaimed_lead_warns_the_whole_team_then_breach_tells_the_manager(world):
    lead = make_lead(world.team, now=NOON)
    assert sweep(now=NOON + timedelta(minutes=14)) == 0
    assert sweep(now=NOON + timedelta(minutes=15)) == 1
    assert kinds(world.qualifier) == kinds(world.teammate) == ["lead_warn"]
    assert kinds(world.head) == []
    assert sweep(now=NOON + timedelta(minutes=20)) == 1
    assert kinds(world.head) == ["lead_breach"]
    timeline = alerts.raised_on_timeline(lead, None, None)
    assert [(e.kind, e.note) for e in timeline] == [
        ("alert", "callback warning"),
        ("alert", "callback breach"),
    ]
    assert [e.at for e in timeline] == [NOON + timedelta(minutes=15), NOON + timedelta(minutes=20)]


def test_each_alert_is_raised_once(world):
    make_lead(world.team, now=NOON)
    later = NOON + timedelta(hours=1)
    assert sweep(now=later) == 2
    assert sweep(now=later) == 0
    assert Notification.objects.filter(kind="lead_breach").count() == 1


def test_a_claimed_lead_warns_only_its_qualifier(world):
    make_lead(world.team, now=NOON)
    claimed_at = NOON + timedelta(minutes=10)  # the claim holds until 20 minutes
    services.lead_claim_next(user=world.qualifier, teams=[world.team], now=claimed_at)
    sweep(now=NOON + timedelta(minutes=15))
    assert kinds(world.qualifier) == ["lead_warn"]
    assert kinds(world.teammate) == []


def test_a_claim_left_without_a_call_warns_the_whole_team_again(world):
    make_lead(world.team, now=NOON)
    services.lead_claim_next(user=world.qualifier, teams=[world.team], now=NOON)
    sweep(now=NOON + timedelta(minutes=15))  # the 10-minute claim has lapsed
    assert kinds(world.qualifier) == kinds(world.teammate) == ["lead_warn"]


def test_a_first_call_before_the_warning_raises_nothing(world):
    lead = make_lead(world.team, now=NOON)
    services.lead_attempt_log(
        lead=lead, by=world.qualifier, outcome="no_answer", now=NOON + timedelta(minutes=10)
    )
    assert sweep(now=NOON + timedelta(hours=2)) == 0
    assert not Notification.objects.exists()


def test_a_call_after_the_warning_stops_the_breach(world):
    lead = make_lead(world.team, now=NOON)
    sweep(now=NOON + timedelta(minutes=16))
    services.lead_attempt_log(
        lead=lead, by=world.qualifier, outcome="reached", now=NOON + timedelta(minutes=17)
    )
    assert sweep(now=NOON + timedelta(hours=1)) == 0
    assert kinds(world.head) == []


def test_a_requested_callback_has_its_own_warning_and_breach(world):
    lead = make_lead(world.team, now=NOON)
    callback_at = NOON + timedelta(days=1)
    services.lead_attempt_log(
        lead=lead,
        by=world.qualifier,
        outcome="callback",
        callback_at=callback_at,
        now=NOON + timedelta(minutes=5),
    )
    assert sweep(now=callback_at - timedelta(minutes=1)) == 0
    assert sweep(now=callback_at) == 1
    assert kinds(world.qualifier) == ["lead_warn"]
    assert sweep(now=callback_at + timedelta(minutes=5)) == 1
    assert kinds(world.head) == ["lead_breach"]


def test_a_lead_left_in_checked_reminds_then_escalates_once_per_step(world):
    lead = make_lead(world.team, now=NOON)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached", now=NOON)
    services.lead_check(lead=lead, by=world.qualifier, now=NOON)
    assert sweep(now=NOON + timedelta(days=1)) == 0
    assert sweep(now=NOON + timedelta(days=world.team.stalled_remind_days)) == 1
    assert kinds(world.qualifier) == ["lead_stall_remind"]
    assert sweep(now=NOON + timedelta(days=30)) == 1
    assert kinds(world.head) == ["lead_stall_escalate"]
    assert sweep(now=NOON + timedelta(days=60)) == 0


def test_closing_a_lead_cancels_its_pending_alerts(world):
    lead = make_lead(world.team, now=NOON)
    services.lead_junk(lead=lead, by=world.qualifier, reason=JunkReason.objects.get(), now=NOON)
    assert sweep(now=NOON + timedelta(days=9)) == 0
    assert not lead.deadlines.filter(raised_at=None, cancelled_at=None).exists()


def test_the_sweep_writes_no_event_the_raised_deadline_is_the_alert(world):
    # The alert's record is its raised deadline: an event row per alert put an entry at a
    # random lead's place in the events' timeline index, a page read from disk each at 10M.
    lead = make_lead(world.team, now=NOON)
    with CaptureQueriesContext(connection) as queries:
        assert sweep(now=NOON + timedelta(hours=1)) == 2
    assert not [q["sql"] for q in queries if LeadEvent._meta.db_table in q["sql"]]
    assert not lead.events.filter(kind=LeadEvent.Kind.ALERT).exists()
    assert len(alerts.raised_on_timeline(lead, None, None)) == 2
    lead.delete()  # its raised deadlines go with it
    assert not Deadline.objects.filter(lead_id=lead.pk).exists()


def test_deleting_a_deal_takes_its_deadlines(world):
    deal = make_deal(world, now=NOON)
    sweep(now=NOON + timedelta(days=60))
    deadlines = Deadline.objects.filter(deal=deal)
    assert deadlines.exists()
    deal.handoff.delete()  # the handoff protects the deal, the deal its lead
    deal.delete()
    deal.lead.delete()
    connection.check_constraints()
    assert not deadlines.exists() and not Deadline.objects.filter(lead_id=deal.lead_id).exists()
    assert not LeadEvent.objects.filter(lead_id=deal.lead_id).exists()


def test_an_email_reaches_the_outbox_with_the_notification_id(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    world.head.email = "head@example.ru"
    world.head.save()
    make_lead(world.team, name="Иван Петров", now=NOON)
    sweep(now=NOON + timedelta(minutes=20))
    delivery = Delivery.objects.get(target="head@example.ru")
    assert delivery_send(delivery.pk)
    assert mail.outbox[0].to == ["head@example.ru"]
    assert "Иван Петров" in mail.outbox[0].subject
    assert mail.outbox[0].extra_headers["X-Notification-Id"] == str(delivery.notification_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert not delivery_send(delivery.pk)  # sent once
    assert len(mail.outbox) == 1


def test_a_webhook_reaches_a_local_server_and_is_retried_until_it_does(world):
    with WebhookReceiver(fail_first=1) as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        make_lead(world.team, now=NOON)
        sweep(now=NOON + timedelta(minutes=20))
        delivery = Delivery.objects.get(channel="webhook", notification__kind="lead_breach")
        now = NOON + timedelta(minutes=20)
        assert not delivery_send(delivery.pk, now=now)  # the receiver answers 500
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.next_attempt_at == now + timedelta(seconds=30)
        assert delivery.pk not in deliveries_due(now + timedelta(seconds=10))
        assert delivery.pk in deliveries_due(now + timedelta(seconds=30))
        assert delivery_send(delivery.pk, now=now + timedelta(seconds=30))
        breach = Deadline.objects.get(kind="breach")
        assert receiver.keys == [f"deadline-{breach.pk}"] * 2  # a retry carries the same key
        assert receiver.bodies[-1]["key"] == f"deadline-{breach.pk}"
        assert receiver.bodies[-1]["recipients"] == ["head"]
        assert list(delivery.log.values_list("ok", flat=True)) == [False, True]


def test_a_team_without_a_manager_hears_of_its_breaches_itself(world):
    world.team.manager = None
    world.team.save()
    world.teammate.is_active = False
    world.teammate.save()
    lead = make_lead(world.team, name="", now=NOON)
    assert sweep(now=NOON + timedelta(minutes=20)) == 2
    assert kinds(world.qualifier) == ["lead_breach", "lead_warn"]
    assert kinds(world.teammate) == []  # inactive people are not told
    breach = Notification.objects.get(kind="lead_breach")
    assert breach.params == {"lead": f"#{lead.pk}"}  # no name: its number, never its phone
    assert breach.url == f"/leads/{lead.pk}/"


def test_a_team_warning_is_one_webhook_post_with_one_key_and_an_email_each(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team = [world.qualifier, world.teammate, *(UserFactory() for _ in range(8))]
    world.team.members.add(*team)
    for person in team:
        person.email = f"{person.username}@example.ru"
        person.save()
    with WebhookReceiver() as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        make_lead(world.team, now=NOON)
        sweep(now=NOON + timedelta(minutes=15))  # nobody holds it: all ten told
        assert Notification.objects.filter(kind="lead_warn").count() == 10
        assert Delivery.objects.filter(channel="email").count() == 10  # e-mails stay per person
        hook = Delivery.objects.get(channel="webhook")
        assert delivery_send(hook.pk, now=NOON + timedelta(minutes=15))
        for delivery in Delivery.objects.filter(channel="email"):
            delivery_send(delivery.pk, now=NOON + timedelta(minutes=15))
    warn = Deadline.objects.get(kind="warn")
    assert receiver.keys == [f"deadline-{warn.pk}"]
    assert sorted(receiver.bodies[0]["recipients"]) == sorted(p.username for p in team)
    assert len(mail.outbox) == 10


@pytest.fixture(params=["intake", "manual"])
def arrive(request, world):
    """Both ways a lead is stored: intake (one SQL statement on PostgreSQL, the ORM on SQLite)
    and lead_create (manual entry, the ORM everywhere)."""
    source = SourceFactory()
    source.team = world.team
    source.save()

    def store(now: datetime, **fields: str) -> Lead:
        if request.param == "intake":
            return services.lead_receive(source=source, fields=fields, now=now)[0]
        return services.lead_create(team=world.team, source=source, now=now, **fields)

    return store


def test_repeated_posts_of_one_person_raise_one_warning_and_one_breach(world, arrive, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for person in (world.qualifier, world.teammate, world.head):
        person.email = f"{person.username}@example.ru"
        person.save()
    original = arrive(NOON, name="Иван Петров", phone="+79161234567")
    for minute in range(1, 21):
        arrive(NOON + timedelta(seconds=minute), phone="8 (916) 123-45-67", name="Иван")
    arrive(NOON + timedelta(minutes=1), email="ivan@example.ru", phone="+79161234567")
    duplicates = Lead.objects.exclude(pk=original.pk)
    assert duplicates.count() == 21
    assert set(duplicates.values_list("duplicate_of", flat=True)) == {original.pk}
    assert not Deadline.objects.filter(lead__in=duplicates).exists()
    assert sweep(now=NOON + timedelta(hours=1)) == 2
    assert kinds(world.qualifier) == kinds(world.teammate) == ["lead_warn"]
    assert kinds(world.head) == ["lead_breach"]
    assert Delivery.objects.filter(channel="email").count() == 3


def test_a_duplicate_stays_silent_after_its_original_closes_and_waits_in_the_queue(world, arrive):
    original = arrive(NOON, name="Иван Петров", phone="+79161234567")
    duplicate = arrive(NOON + timedelta(minutes=1), phone="+79161234567")
    services.lead_junk(lead=original, by=world.qualifier, reason=JunkReason.objects.get(), now=NOON)
    assert sweep(now=NOON + timedelta(days=3)) == 0
    taken = services.lead_claim_next(
        user=world.qualifier, teams=[world.team], now=NOON + timedelta(hours=1)
    )
    assert taken == duplicate  # not lost: the queue hands it out at its own due time


def test_a_lead_arriving_after_its_match_closed_has_its_own_clock(world, arrive):
    first = arrive(NOON, name="Иван Петров", phone="+79161234567")
    services.lead_junk(lead=first, by=world.qualifier, reason=JunkReason.objects.get(), now=NOON)
    again = arrive(NOON + timedelta(minutes=1), phone="+79161234567")
    assert again.duplicate_of_id is None
    assert sorted(again.deadlines.values_list("kind", flat=True)) == ["breach", "warn"]


def test_a_called_duplicate_asking_for_a_callback_gets_that_callbacks_alerts(world, arrive):
    arrive(NOON, name="Иван Петров", phone="+79161234567")
    duplicate = arrive(NOON + timedelta(minutes=1), phone="+79161234567")
    callback_at = NOON + timedelta(days=1)
    services.lead_attempt_log(
        lead=duplicate, by=world.qualifier, outcome="callback", callback_at=callback_at, now=NOON
    )
    assert sorted(duplicate.deadlines.values_list("kind", flat=True)) == ["breach", "warn"]


def test_a_leads_deadlines_carry_its_team_a_deals_none(world, arrive):
    """Deadline.lead_team: the team report counts a team's breaches by it (reports/rollups.py),
    so every way a lead's clock starts writes it — arrival (intake's one statement on
    PostgreSQL, the ORM elsewhere), a requested callback, a checked lead's reminders."""
    lead = arrive(NOON, name="Иван Петров", phone="+79161234567")
    services.lead_attempt_log(
        lead=lead,
        by=world.qualifier,
        outcome="callback",
        callback_at=NOON + timedelta(days=1),
        now=NOON + timedelta(minutes=5),
    )
    checked = make_lead(world.other_team, now=NOON)
    alerts.schedule_stall(checked, NOON)
    assert set(lead.deadlines.values_list("kind", "lead_team")) == {
        ("warn", world.team.pk),
        ("breach", world.team.pk),
    }
    assert lead.deadlines.count() == 4
    assert set(checked.deadlines.values_list("lead_team", flat=True)) == {world.other_team.pk}
    deal = make_deal(world, now=NOON)
    assert list(deal.deadlines.values_list("lead_team", flat=True)) == [None]
