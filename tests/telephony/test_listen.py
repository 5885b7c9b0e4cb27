"""A call's recording is served by the app to whoever may see the lead or its deal, in byte
ranges so the browser's player seeks, and shown as a player where the lead's calls are."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.teams.models import Role, Team
from deals import services as deals
from handoff import disputes
from leads.models import ContactAttempt, LeadEvent
from telephony.models import Call, PbxConnection, recordings_storage
from tests.factories import TeamFactory, UserFactory, make_criterion, make_deal
from tests.telephony.fake_pbx import make_wav

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_in_tmp")]
WAV = make_wav(1.0)


@pytest.fixture
def deal(world):
    return make_deal(world, answers={make_criterion(required=False): "custom"})


@pytest.fixture
def call(world, deal) -> Call:
    connection = PbxConnection.objects.create(team=world.team, provider="mango", api_secret="s")
    name = recordings_storage().save("team/call.wav", ContentFile(WAV))
    return Call.objects.create(
        connection=connection,
        pbx_call_id="E1",
        direction=Call.Direction.OUTBOUND,
        state=Call.State.ENDED,
        started_at=timezone.now(),
        lead=deal.lead,
        user=world.qualifier,
        attempt=deal.lead.attempts.get(),
        recording_id="r-1",
        recording=name,
        recording_fetched_at=timezone.now(),
    )


def _get(client, user, call: Call, **headers):
    client.force_login(user)
    return client.get(reverse("telephony:recording", args=[call.pk]), headers=headers)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_whole_recording_says_it_can_be_asked_in_ranges_and_is_not_cached(client, world, call):
    response = _get(client, world.qualifier, call)

    assert response.status_code == 200
    assert _body(response) == WAV
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Length"] == str(len(WAV))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == f'inline; filename="call-{call.pk}.wav"'


@pytest.mark.parametrize(
    ("asked", "first", "last"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes: the player reads the WAV header
        ("bytes=1000-1999", 1000, 1999),  # the middle: a seek
        ("bytes=1000-", 1000, len(WAV) - 1),  # from a point to the end
        ("bytes=-500", len(WAV) - 500, len(WAV) - 1),  # the last bytes
        ("bytes=100-99999999", 100, len(WAV) - 1),  # past the end: up to the end
    ],
)
def test_a_range_is_answered_with_206_and_just_those_bytes(client, world, call, asked, first, last):
    response = _get(client, world.qualifier, call, Range=asked)

    assert response.status_code == 206
    assert _body(response) == WAV[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(WAV)}"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize(
    "asked",
    [f"bytes={len(WAV)}-", "bytes=500-100", "bytes=-0", "bytes=-", "items=0-10", "bytes=0-1,5-9"],
)
def test_a_range_that_cannot_be_answered_is_416(client, world, call, asked):
    response = _get(client, world.qualifier, call, Range=asked)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(WAV)}"


@pytest.mark.parametrize("who", ["qualifier", "teammate", "head", "closer"])
def test_those_who_see_the_lead_or_its_deal_hear_it(client, world, call, who):
    assert _get(client, getattr(world, who), call).status_code == 200


def test_another_team_hears_nothing(client, world, call):
    other_sales = TeamFactory(name="Other showroom", kind=Team.Kind.SALES)
    stranger = UserFactory(username="stranger", role=Role.CLOSER)
    other_sales.members.add(stranger)

    assert _get(client, world.outsider, call).status_code == 404
    assert _get(client, stranger, call).status_code == 404


def test_a_closer_hears_no_call_of_a_lead_that_is_no_deal_of_theirs(client, world, call, deal):
    Call.objects.filter(pk=call.pk).update(lead=None)
    assert _get(client, world.closer, call).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, call):
    response = client.get(reverse("telephony:recording", args=[call.pk]))
    assert response.status_code == 302


def test_a_deleted_recording_is_404_and_the_lead_says_why(client, world, call):
    Call.objects.filter(pk=call.pk).update(
        recording="", recording_deleted_at=call.recording_fetched_at + timedelta(days=30)
    )
    assert _get(client, world.qualifier, call).status_code == 404

    page = client.get(reverse("leads:detail", args=[call.lead_id]))
    assert b"recording deleted after 30 days" in page.content
    assert b"<audio" not in page.content


def test_the_player_is_on_the_lead_the_deal_and_the_dispute(client, world, call, deal):
    src = reverse("telephony:recording", args=[call.pk])
    client.force_login(world.qualifier)
    assert f'src="{src}"' in client.get(reverse("leads:detail", args=[deal.lead_id])).text

    client.force_login(world.closer)
    assert f'src="{src}"' in client.get(reverse("deals:detail", args=[deal.pk])).text

    dispute = _dispute(world, deal)
    client.force_login(world.head)
    assert f'src="{src}"' in client.get(reverse("handoff:dispute", args=[dispute.pk])).text


@pytest.mark.parametrize(
    ("who", "view_name"),
    [("qualifier", "leads:detail"), ("closer", "deals:detail"), ("head", "handoff:dispute")],
)
def test_a_page_of_calls_asks_as_many_queries_however_many_are_recorded(
    client, world, call, deal, who, view_name
):
    # Not "page": a parameter named like pytest-playwright's fixture makes pytest regroup the
    # browser tests beside this one, before the suite's database tests (their flush then
    # empties the database under them).
    url = _url(world, deal, view_name)
    client.force_login(getattr(world, who))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    queries()  # the process's caches (working weeks, sources) filled
    one = queries()
    _more_attempts(call, recorded=5, unrecorded=2)

    assert queries() == one
    assert client.get(url).text.count("<audio") == 6


def _url(world, deal, page: str) -> str:
    if page == "handoff:dispute":
        return reverse(page, args=[_dispute(world, deal).pk])
    return reverse(page, args=[deal.lead_id if page == "leads:detail" else deal.pk])


def _more_attempts(call: Call, *, recorded: int, unrecorded: int) -> None:
    """More attempts on the lead of `call`, each on its timeline: the first `recorded` of them
    calls with the same file, the others logged by hand with no call."""
    for n in range(recorded + unrecorded):
        at = call.started_at + timedelta(minutes=n + 1)
        attempt = ContactAttempt.objects.create(lead=call.lead, by=call.user, at=at, outcome="busy")
        LeadEvent.objects.create(
            lead=call.lead, actor=call.user, at=at, kind=LeadEvent.Kind.ATTEMPT, attempt=attempt
        )
        if n < recorded:
            Call.objects.create(
                connection=call.connection,
                pbx_call_id=f"more-{n}",
                direction=Call.Direction.OUTBOUND,
                state=Call.State.ENDED,
                started_at=at,
                lead=call.lead,
                user=call.user,
                attempt=attempt,
                recording=call.recording,
                recording_fetched_at=at,
            )


def _dispute(world, deal):
    deals.deal_accept(deal=deal, by=world.closer)
    criterion = deal.lead.answers.get().criterion
    return disputes.dispute_raise(deal=deal, by=world.closer, criterion=criterion, claim="No")
