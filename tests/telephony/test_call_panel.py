"""The workspace's call panel redraws the lead's timeline when the call it followed ends: the
same latest page as the lead page (with "Earlier" and the raised alerts), not every event."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from crm.deadlines.models import Deadline
from crm.lib.timeline import TIMELINE_PAGE
from leads.models import LeadEvent
from telephony.models import Call, PbxConnection
from tests.factories import make_lead


def test_the_timeline_redrawn_after_a_call_is_its_latest_page(client, world):
    lead = make_lead(world.team, phone="+79161234567")
    now = timezone.now()
    LeadEvent.objects.bulk_create(
        LeadEvent(lead=lead, kind="claimed", at=now - timedelta(hours=2, minutes=n))
        for n in range(80)
    )
    Deadline.objects.create(lead=lead, kind="breach", due_at=now, raised_at=now)
    connection = PbxConnection.objects.create(
        team=world.team, provider=PbxConnection.Provider.GENERIC, api_secret="s-1"
    )
    Call.objects.create(
        connection=connection,
        pbx_call_id="C1",
        direction="out",
        lead=lead,
        state=Call.State.ENDED,
        started_at=now - timedelta(minutes=1),
        ended_at=now,
    )
    client.force_login(world.qualifier)

    still = client.get(reverse("telephony:panel", args=[lead.pk]))
    assert 'id="lead-timeline"' not in still.content.decode()  # nothing was live
    ended = client.get(reverse("telephony:panel", args=[lead.pk]), {"live": "1"})
    html = ended.content.decode()
    assert 'id="lead-timeline" hx-swap-oob="true"' in html
    assert 'class="earlier-button"' in html
    assert len(ended.context["timeline"]["events"]) == TIMELINE_PAGE + 1  # + the alert
    assert "callback breach" in html
