"""Calls log themselves: each PBX event updates its call once, and the call's end writes the
contact attempt through the same service a qualifier's hand-logged call goes through."""

from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When

from crm.lib.errors import Conflict
from crm.teams.selectors import working_week
from leads import channels, services
from leads.models import ContactAttempt, Lead, LeadContactPoint, LeadSource
from telephony import tasks
from telephony.events import CallEvent, Kind
from telephony.models import Call, Extension, PbxConnection

# A call the qualifier also logged by hand is one call when the hand entry lies this close to
# the PBX's call: typed while dialling, or just after hanging up.
HAND_LOG_WINDOW = timedelta(minutes=10)


def record_event(connection: PbxConnection, event: CallEvent) -> Call:
    """Apply one PBX event to its call. Idempotent: a replayed or duplicated event, or one
    arriving after the call ended, changes nothing.

    Cheap per event (bench/telephony_bench.py): the call is read with its lead, the lead's team
    and the user in one locked SELECT (locking the call's row only), the view's connection is
    reused, and the call is written once at the end, the attempt's id included."""
    with transaction.atomic():
        call, _ = (
            Call.objects.select_for_update(of=("self",))
            .select_related("lead__team", "user")
            .get_or_create(
                connection=connection,
                pbx_call_id=event.call_id,
                defaults={
                    "direction": event.direction or Call.Direction.INBOUND,
                    "state": Call.State.RINGING,
                    "started_at": event.call_started,
                },
            )
        )
        had_recording = bool(call.recording_id or call.recording_url)
        call.connection = connection  # its team and extensions without a query of their own
        ended_now = _apply(call, event)
        _match(call, event)
        if ended_now:
            _conclude(call)
        call.save()
        if not had_recording and (call.recording_id or call.recording_url):
            # Fetched by a worker once this is committed: the PBX's answer can take seconds.
            transaction.on_commit(partial(tasks.fetch_recording.delay, call.pk))
    return call


def _apply(call: Call, event: CallEvent) -> bool:
    """Move the call on by the event; True when this event is the one that ended it."""
    if event.direction:
        call.direction = event.direction
    call.started_at = min(call.started_at, event.call_started)
    if event.recording_id and not call.recording_id:
        call.recording_id = event.recording_id
    if event.recording_url and not call.recording_url:
        call.recording_url = event.recording_url
    if call.state == Call.State.ENDED:
        return False
    if event.kind == Kind.ANSWERED:
        call.state = Call.State.TALKING
        call.answered_at = call.answered_at or event.at
    elif event.kind == Kind.HUNG_UP:
        call.ended_at = call.ended_at or event.at
    elif event.kind == Kind.ENDED:
        call.state = Call.State.ENDED
        call.ended_at = max(call.ended_at or event.at, call.started_at)
        call.talk_s = event.talk_s
        call.outcome = event.outcome
        if call.outcome == ContactAttempt.Outcome.REACHED and call.answered_at is None:
            call.answered_at = call.ended_at - timedelta(seconds=event.talk_s)
        call.missed = (
            call.direction == Call.Direction.INBOUND
            and call.outcome != ContactAttempt.Outcome.REACHED
        )
        return True
    return False


def _match(call: Call, event: CallEvent) -> None:
    """Fill in what the event tells about the customer, our line and the qualifier."""
    if event.customer and not call.customer_number:
        call.customer_number = normalised_number(event.customer)
    if event.line and not call.line:
        call.line = event.line[:40]
    if event.extension and not call.extension:
        call.extension = event.extension[:20]
    if call.user_id is None and call.extension:
        call.user_id = _user_id_of(call.connection, call.extension)
    if call.lead_id is None and call.customer_number:
        call.lead = lead_of(call.connection.team_id, call.customer_number)


def normalised_number(number: str) -> str:
    """E.164 the way leads store phones; a PBX sends Russian numbers without "+"."""
    for typed in (number, "+" + number.lstrip("+")):
        try:
            return channels.phone_point(typed)[0].value
        except ValueError:
            continue
    return number.strip()[:40]


def _user_id_of(connection: PbxConnection, extension: str) -> int | None:
    extensions = Extension.objects.filter(connection=connection, extension=extension)
    return extensions.values_list("user_id", flat=True).first()


def lead_of(team_id: int, number: str) -> Lead | None:
    """The team's lead holding the number among any of its phones: an open one first, then the
    newest."""
    points = LeadContactPoint.objects.filter(
        kind=channels.PHONE, value=number, lead__team_id=team_id
    ).select_related("lead")
    ranked = points.annotate(
        open_first=Case(
            When(lead__state__in=Lead.OPEN_STATES, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("open_first", "-lead__created_at")
    point = ranked.first()
    return point.lead if point else None


def _conclude(call: Call) -> None:
    """The call is over: an unknown caller (or one whose leads are all closed: they are back)
    becomes a lead, a missed caller's lead goes to the top of the queue, and a call one of ours
    took part in becomes (or completes) the lead's contact attempt. The caller saves the call."""
    if call.direction == Call.Direction.INBOUND and (call.lead is None or not call.lead.is_open):
        call.lead = _lead_from_call(call) or call.lead
    if call.lead is None:
        return
    if call.missed:  # the customer's attempt, not ours: they wait for our call back
        services.lead_missed_call(lead=call.lead, at=call.started_at, note=call.customer_number)
        return
    if call.user is None or call.attempt_id is not None:
        return
    hand_logged = _hand_logged(call)
    call.attempt = hand_logged or _log_attempt(call, call.lead, call.user)
    call.hand_logged = hand_logged is not None


def pbx_attempt_of_hand_log(lead: Lead, by: User, now: datetime) -> ContactAttempt | None:
    """The attempt a PBX call of this lead by this person wrote, when it ended within the window
    and nobody logged it by hand yet: the hand entry being typed now completes it. Claimed with
    a conditional UPDATE, so two quick entries complete it once (the second is another call)."""
    calls = Call.objects.filter(
        lead=lead,
        user=by,
        hand_logged=False,
        attempt__isnull=False,
        ended_at__gte=now - HAND_LOG_WINDOW,
        ended_at__lte=now,
    )
    for call in calls.order_by("-ended_at")[:1]:
        if Call.objects.filter(pk=call.pk, hand_logged=False).update(hand_logged=True):
            return call.attempt
    return None


def _lead_from_call(call: Call) -> Lead | None:
    """A new lead in the connection's team for a caller we do not know."""
    if not call.customer_number.startswith("+"):
        return None  # an anonymous or unreadable number: nobody to call back
    team = call.connection.team
    source, _ = LeadSource.objects.get_or_create(
        slug=f"phone-call-team-{team.pk}",
        defaults={"name": "Phone call", "channel": LeadSource.Channel.PHONE, "team": team},
    )
    lead, _ = services.lead_receive(
        source=source,
        fields={
            "phone": call.customer_number,
            "external_id": f"call:{call.connection_id}:{call.pbx_call_id}"[:100],
        },
        now=call.started_at,
    )
    return lead


def _hand_logged(call: Call) -> ContactAttempt | None:
    """The attempt the qualifier typed for this call, completed with the PBX's facts: their
    outcome and note stay, the duration and time are the PBX's."""
    ended = call.ended_at or call.started_at
    attempt = (
        ContactAttempt.objects.filter(
            lead=call.lead,
            by=call.user,
            call__isnull=True,
            at__gte=call.started_at - HAND_LOG_WINDOW,
            at__lte=ended + HAND_LOG_WINDOW,
        )
        .order_by("at")
        .first()
    )
    if attempt is None:
        return None
    lead = attempt.lead
    if lead.first_attempt_at == attempt.at:
        # The SLA clock stopped when the call really started, not when it was typed.
        lead.first_attempt_at = call.started_at
        lead.reaction_minutes = working_week(lead.team).working_minutes_between(
            lead.created_at, call.started_at
        )
        lead.save(update_fields=["first_attempt_at", "reaction_minutes"])
    attempt.at, attempt.duration_s = call.started_at, call.talk_s
    attempt.save(update_fields=["at", "duration_s"])
    return attempt


def _log_attempt(call: Call, lead: Lead, user: User) -> ContactAttempt | None:
    """The attempt as the qualifier would log it; none when the lead takes no attempt now (it
    is closed, or another qualifier holds it) — the call stays on record either way."""
    try:
        return services.lead_attempt_log(
            lead=lead,
            by=user,
            outcome=call.outcome or ContactAttempt.Outcome.NO_ANSWER,
            duration_s=call.talk_s,
            now=max(call.started_at, lead.created_at),
        )
    except Conflict:
        return None
