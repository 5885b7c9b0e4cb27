"""bin/serve under kill -9: supervisord restarts the one process that died and leaves the others
running, the intake keeps answering (the web is back within seconds when it is the one
killed), and the alerts falling due across the kills are each raised and delivered once."""

import json
import time

from django.utils import timezone

from crm.deadlines.models import Deadline
from crm.notifications.models import Delivery, DeliveryAttempt, Notification
from leads.models import Lead, LeadSource
from tests.faults.conftest import wait_for
from tests.webhook import WebhookReceiver

BACK_WITHIN_S = 20  # a restart takes a few seconds; generous for a loaded CI machine


def test_each_process_killed_in_turn_comes_back_alone_and_no_alert_is_lost_or_doubled(
    world, served
):
    source = LeadSource.objects.get()
    source.team = world.team
    source.save()
    with WebhookReceiver() as receiver:
        world.team.alert_webhook_url = receiver.url
        world.team.save()
        served.start()
        intake = f"/api/v1/intake/?key={source.intake_key}"  # as Tilda sends it

        def post(n: int) -> int:
            # external_id: a post repeated because its answer was lost is the same lead (200)
            body = {"phone": f"+791655510{n:02d}", "external_id": f"kill-{n}"}
            return served.post_json(intake, json.dumps(body).encode(), {})

        def settled() -> bool:  # nothing due, nothing being sent: a kill interrupts no send
            due = Deadline.objects.filter(
                lead__source=source, raised_at=None, cancelled_at=None, due_at__lte=timezone.now()
            )
            return not due.exists() and not Delivery.objects.filter(status="pending").exists()

        for n, name in enumerate(served.PROGRAMS):
            wait_for(settled, 30)
            before = served.running()
            assert set(before) == set(served.PROGRAMS)
            killed = served.kill(name)
            killed_at = time.monotonic()
            if name == "web":
                wait_for(lambda n=n: post(n) in (200, 201), BACK_WITHIN_S)
            else:
                assert post(n) == 201  # the web never noticed
            # The lead's warning and breach fall due now, while `name` is down or coming back.
            Lead.objects.get(source=source, external_id=f"kill-{n}").deadlines.update(
                due_at=timezone.now()
            )
            wait_for(
                lambda name=name, killed=killed: served.running().get(name) not in (None, killed),
                BACK_WITHIN_S,
            )
            print(f"{name} back in {time.monotonic() - killed_at:.1f} s")
            after = served.running()
            others = [other for other in served.PROGRAMS if other != name]
            assert [after[o] for o in others] == [before[o] for o in others]  # not restarted

        wait_for(settled, 60)
        leads = Lead.objects.filter(source=source)
        assert leads.count() == 3
        assert not Deadline.objects.filter(lead__in=leads, raised_at=None).exists()
        # Each lead: a warning to both qualifiers and a breach to the manager, once each.
        notifications = Notification.objects.all()
        assert notifications.count() == 3 * 3
        assert len(set(notifications.values_list("recipient", "kind", "url"))) == 3 * 3
        # Each alert sent once: one team webhook post per alert (a warning and a breach per
        # lead), one successful attempt, one POST, keyed by the alert's deadline.
        deliveries = Delivery.objects.all()
        assert set(deliveries.values_list("status", "attempts")) == {("sent", 1)}
        assert deliveries.count() == 3 * 2
        assert DeliveryAttempt.objects.filter(ok=True).count() == 3 * 2
        raised = Deadline.objects.filter(lead__in=leads, raised_at__isnull=False)
        expected = {f"deadline-{pk}" for pk in raised.values_list("pk", flat=True)}
        wait_for(lambda: len(receiver.keys) >= len(expected), 10)
        assert sorted(receiver.keys) == sorted(expected)
        wait_for(lambda: served.get("/healthz") == 200, BACK_WITHIN_S)


def test_healthz_names_a_stopped_worker_or_beat_and_not_the_other(served):
    served.start()
    for name, other in (("worker", "beat"), ("beat", "worker")):
        served.ctl("stop", name)
        wait_for(lambda name=name: not served.get_json("/healthz")[name]["ok"], BACK_WITHIN_S)
        health = served.get_json("/healthz")
        assert (health["ok"], health[other]["ok"]) == (False, True)
        served.ctl("start", name)
        wait_for(lambda: served.get("/healthz") == 200, BACK_WITHIN_S)
