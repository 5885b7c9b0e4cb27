"""Writes to leads. Each service checks the rule, changes the lead in one transaction and
leaves an event; views and the API call these, never a transition directly."""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from crm import access
from crm.deadlines.models import Deadline
from crm.lib.errors import Blocked, Conflict
from crm.lib.transitions import blocker_message
from crm.lib.transitions import transition_blockers as blockers_of
from crm.teams.models import Team
from crm.teams.selectors import working_week
from crm.teams.templatetags.people import person
from leads import alerts, channels, prefill, priority, scoring, sla
from leads.intake import lead_contacts
from leads.models import (
    Answer,
    ContactAttempt,
    Criterion,
    JunkReason,
    Lead,
    LeadContactPoint,
    LeadEvent,
    LeadSource,
)
from leads.selectors import open_duplicate_of

T = TypeVar("T")


class LeadConflict(Conflict):
    """Someone else changed the lead first; the user should reload and look again."""


class TransitionBlocked(Blocked):
    """A lead's transition whose conditions do not hold."""


def lead_create(
    *,
    team: Team,
    source: LeadSource,
    by: User | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Lead:
    """Store an arrived lead with its phones and e-mails, linked to an open duplicate if any;
    only a lead that is not a duplicate gets callback deadlines (a duplicate waits on its
    original's clock)."""
    lead = _arrived(team, source, now, **fields)
    keys = channels.duplicate_keys(lead.arrived_points)
    with transaction.atomic():
        _lock_duplicate_keys(team.pk, keys)
        lead.duplicate_of = open_duplicate_of(team, keys)
        lead.save()
        LeadContactPoint.objects.bulk_create(
            channels.point_rows(LeadContactPoint, lead.arrived_points, lead=lead)
        )
        LeadEvent.objects.create(
            lead=lead, actor=by, at=lead.created_at, kind=LeadEvent.Kind.CREATED
        )
        if lead.duplicate_of is None:
            alerts.schedule_callback(lead, lead.warn_at, lead.breach_at)
    return lead


# Concurrent first posts of one person must make one original: without a lock, each insert
# looks for an open lead with the phone, sees none (the other is not committed yet), and both
# become originals with their own alerts. The lock is taken on the duplicate keys themselves —
# (team, each phone and e-mail), always in sorted order, so two posts sharing one of them
# queue up and none deadlocks — and held until the insert commits. PostgreSQL only: on SQLite
# every write transaction starts IMMEDIATE, which already lets one writer in at a time.
# Separate statements: a statement's snapshot is taken when it starts, so the lookup must be a
# later statement than the lock to see what the lock's previous holder committed.
DUPLICATE_LOCK_SQL = """
SELECT pg_advisory_xact_lock(hashtextextended(
    'lead-duplicate:' || %(team_id)s::text || ':' || key, 0))
FROM (SELECT unnest(%(keys)s::text[]) AS key ORDER BY 1) AS duplicate_keys;
"""


def _lock_duplicate_keys(team_id: int, keys: list[str]) -> None:
    """Wait for (and hold to the end of the transaction) the lead's duplicate keys."""
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(DUPLICATE_LOCK_SQL, {"team_id": team_id, "keys": keys})


def _arrived(
    team: Team,
    source: LeadSource,
    now: datetime | None,
    name: str = "",
    phone: str = "",
    email: str = "",
    company_name: str = "",
    message: str = "",
    external_id: str = "",
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    utm_content: str = "",
    utm_term: str = "",
    phone_ext: str = "",
    form_answers: dict[str, str] | None = None,
    contact_problems: dict[str, dict[str, str]] | None = None,
    points: list[channels.Point] | None = None,
) -> Lead:
    """A new lead, not yet stored: its fields normalised (`leads.channels`), its phones and
    e-mails as `arrived_points` (those intake.clean_fields parsed, or the phone and e-mail
    given) and its callback due times set."""
    now = now or timezone.now()
    warn_at, breach_at = sla.deadlines(now, team, working_week(team))
    if points is None:
        points = _points_of(phone, phone_ext, email)
    contacts = lead_contacts(points)
    lead = Lead(
        team=team,
        source=source,
        name=channels.normalise_name(name),
        phone=contacts["phone"],
        email=contacts["email"],
        company_name=company_name.strip(),
        message=message.strip(),
        external_id=external_id,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        utm_content=utm_content,
        utm_term=utm_term,
        phone_ext=contacts["phone_ext"],
        form_answers=form_answers or {},
        contact_problems=contact_problems or {},
        created_at=now,
        warn_at=warn_at,
        breach_at=breach_at,
        due_at=breach_at,
    )
    lead.arrived_points = points
    return lead


def _points_of(phone: str, phone_ext: str, email: str) -> list[channels.Point]:
    """The points of a lead given one phone and one e-mail (manual entry, the ORM's callers)."""
    points = []
    if phone:
        try:
            points.append(channels.phone_point(phone, ext=phone_ext)[0])
        except ValueError:
            raise ValidationError({"phone": _("Enter a valid phone number.")}) from None
    if email:
        try:
            points.append(channels.email_point(email))
        except ValidationError:
            raise ValidationError({"email": _("Enter a valid e-mail address.")}) from None
    return channels.unique(points)


def lead_receive(
    *, source: LeadSource, fields: dict[str, Any], now: datetime | None = None
) -> tuple[Lead, bool]:
    """Store an intake post once. A repeat of (source, external_id) returns the stored lead
    and False; when identical posts race, the unique constraint lets one insert win."""
    external_id = fields.get("external_id", "")
    team = source.team
    if team is None:  # the intake view refuses such a source before it gets here
        raise ValueError("an intake source needs a team")
    if connection.vendor == "postgresql":
        stored = _insert_once(_arrived(team, source, now, **fields))
        if stored is not None:
            return stored, True
        return Lead.objects.get(source=source, external_id=external_id), False
    if external_id:
        stored = Lead.objects.filter(source=source, external_id=external_id).first()
        if stored is not None:
            return stored, False
    try:
        return lead_create(team=team, source=source, now=now, **fields), True
    except IntegrityError:
        if not external_id:
            raise
        return Lead.objects.get(source=source, external_id=external_id), False


# On PostgreSQL an arriving lead is one statement: its open duplicate, the lead itself (ON
# CONFLICT: a repeat of its source's external id inserts nothing), its "arrived" event and,
# unless it is a duplicate, its two callback deadlines. It is sent after DUPLICATE_LOCK_SQL in
# one round trip, which PostgreSQL runs as one transaction, so the lock lasts until the lead is
# committed. Intake is the busiest write (every web form of every client); one round trip
# instead of seven is what lets one server take hundreds of leads a second. The same rules as
# lead_create; tests run both (SQLite takes lead_create's path).
INSERT_ONCE_SQL = """
WITH duplicate AS ({duplicate}), lead AS (
    INSERT INTO {lead} (team_id, source_id, name, phone, email, company_name, message,
                        external_id, utm_source, utm_medium, utm_campaign, utm_content,
                        utm_term, phone_ext, form_answers, contact_problems, state,
                        duplicate_of_id, due_at, warn_at, breach_at, score, temperature,
                        created_at)
    VALUES (%(team_id)s, %(source_id)s, %(name)s, %(phone)s, %(email)s, %(company_name)s,
            %(message)s, %(external_id)s, %(utm_source)s, %(utm_medium)s, %(utm_campaign)s,
            %(utm_content)s, %(utm_term)s, %(phone_ext)s, %(form_answers)s,
            %(contact_problems)s, %(state)s, (SELECT id FROM duplicate), %(due_at)s,
            %(warn_at)s, %(breach_at)s, %(score)s, %(temperature)s, %(created_at)s)
    ON CONFLICT (source_id, external_id) WHERE NOT (external_id = '') DO NOTHING
    RETURNING id, duplicate_of_id
), points AS (
    INSERT INTO {point} (lead_id, kind, label, value, ext, raw, position)
    SELECT lead.id, p.kind, p.label, p.value, p.ext, p.raw, p.position
    FROM lead, unnest(%(point_kind)s::text[], %(point_label)s::text[], %(point_value)s::text[],
                      %(point_ext)s::text[], %(point_raw)s::text[], %(point_position)s::int[])
         AS p(kind, label, value, ext, raw, position)
), event AS (
    INSERT INTO {event} (lead_id, at, kind, from_state, to_state, note)
    SELECT id, %(created_at)s, %(created)s, '', '', '' FROM lead
), deadlines AS (
    INSERT INTO {deadline} (lead_id, lead_team_id, kind, due_at)
    SELECT id, %(team_id)s, %(warn)s, %(warn_at)s FROM lead WHERE duplicate_of_id IS NULL
    UNION ALL
    SELECT id, %(team_id)s, %(breach)s, %(breach_at)s FROM lead WHERE duplicate_of_id IS NULL
)
SELECT id, duplicate_of_id FROM lead
"""


_JSON_COLUMNS = ("form_answers", "contact_problems")
_TABLES = {
    "lead": Lead._meta.db_table,
    "point": LeadContactPoint._meta.db_table,
    "event": LeadEvent._meta.db_table,
    "deadline": Deadline._meta.db_table,
}
_INSERT_ONCE = DUPLICATE_LOCK_SQL + INSERT_ONCE_SQL.format(
    duplicate=channels.DUPLICATE_SQL.format(**_TABLES), **_TABLES
)


def _insert_once(lead: Lead) -> Lead | None:
    """Store the new lead as INSERT_ONCE_SQL; None when its external id is already stored."""
    params = {
        field.attname: getattr(lead, field.attname)
        for field in Lead._meta.concrete_fields
        if not field.primary_key
    }
    for name in _JSON_COLUMNS:  # a dict is no SQL value: the field adapts it (jsonb)
        params[name] = Lead._meta.get_field(name).get_db_prep_save(params[name], connection)
    rows = channels.point_rows(LeadContactPoint, lead.arrived_points)
    for column in ("kind", "label", "value", "ext", "raw", "position"):
        params[f"point_{column}"] = [getattr(row, column) for row in rows]
    params |= {
        "keys": channels.duplicate_keys(lead.arrived_points),
        "open_states": list(Lead.OPEN_STATES),
        "created": LeadEvent.Kind.CREATED,
        "warn": alerts.WARN.code,
        "breach": alerts.BREACH.code,
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ONCE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    lead.pk, lead.duplicate_of_id = row
    lead._state.adding = False
    return lead


# The namespace of the per-person Take next lock (pg_advisory_xact_lock(namespace, user id));
# any constant works as long as nothing else uses it: "lead" in ASCII.
CLAIM_LOCK_NAMESPACE = 0x6C656164


def lead_claim_next(*, user: User, teams: list[Team], now: datetime | None = None) -> Lead | None:
    """Hand the qualifier the lead to call now (leads/priority.py), atomically, and never a
    second unworked claim.

    First their own lead in progress, then the first lead nobody is working, rank by rank. One
    person's presses run one at a time (a double click, two tabs, the page and the API at
    once): the second sees the first's claim and gets the same lead.
    """
    now = now or timezone.now()
    team_leads = Lead.objects.filter(team__in=[team.id for team in teams])
    timeouts = {team.id: team.claim_timeout_minutes for team in teams}
    with transaction.atomic():
        _lock_claims_of(user)
        own = priority.ranked(team_leads, priority.Rank.MINE, user, now).first()
        if own is not None:
            return own
        # A few rounds: another qualifier may win a candidate between our pick and our claim.
        for _round in range(5):
            lead = _claim_one(user, team_leads, timeouts, now)
            if lead is not False:
                return lead
    return None


def _lock_claims_of(user: User) -> None:
    """Serialise one person's Take next until the transaction ends. Without it, two presses
    at once each find no claim of theirs and each claim a lead: one person hoarding two or
    three leads, hidden from the others until the claims lapse. On PostgreSQL an advisory lock
    keyed by the person (their row stays free for logins); SQLite's IMMEDIATE transaction
    already admits one writer at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CLAIM_LOCK_NAMESPACE, user.pk])


def _claim_one(
    user: User, team_leads: QuerySet[Lead], timeouts: dict[int, int], now: datetime
) -> Lead | Literal[False] | None:
    """Claim the first free lead, rank by rank; None when there is none, False when another
    claimer won the candidate first. Runs inside lead_claim_next's transaction."""
    candidate = None
    for leads in priority.nobodys(team_leads, user, now):
        # skip_locked lets concurrent claimers pass over each other's candidate on PostgreSQL;
        # SQLite ignores it, and there the conditional UPDATE below is what keeps claims single.
        candidate = (
            leads.select_for_update(skip_locked=True, of=("self",)).values("id", "team_id").first()
        )
        if candidate is not None:
            break
    if candidate is None:
        return None
    expires = now + timedelta(minutes=timeouts[candidate["team_id"]])
    won = team_leads.filter(Lead.claimable_q(now), pk=candidate["id"], state=Lead.State.NEW).update(
        assignee=user, claimed_at=now, claim_expires_at=expires
    )
    if not won:
        return False
    LeadEvent.objects.create(
        lead_id=candidate["id"], actor=user, at=now, kind=LeadEvent.Kind.CLAIMED
    )
    return Lead.objects.select_related("team", "source").get(pk=candidate["id"])


def _raise_if_held_by_other(lead: Lead, user: User, now: datetime) -> None:
    if lead.assignee_id in (None, user.pk):
        return
    if lead.claim_active(now):
        raise LeadConflict(_("%(name)s is working this lead.") % {"name": person(lead.assignee)})


def _raise_if_closed(lead: Lead) -> None:
    if not lead.is_open:
        raise LeadConflict(
            _("This lead is already %(state)s.") % {"state": lead.get_state_display()}
        )


def lead_attempt_log(
    *,
    lead: Lead,
    by: User,
    outcome: str,
    duration_s: int = 0,
    note: str = "",
    callback_at: datetime | None = None,
    now: datetime | None = None,
) -> ContactAttempt:
    """Record a call. The first one stops the SLA clock; the outcome decides who holds the
    lead next: no answer / busy put it back in the queue for a retry, anything else keeps it
    with the caller (a callback becomes its new due time)."""
    now = now or timezone.now()
    _raise_unless_attempt_allowed(lead, by, outcome, callback_at, now)
    if lead.first_attempt_at is None:
        lead.first_attempt_at = now
        week = working_week(lead.team)
        lead.reaction_minutes = week.working_minutes_between(lead.created_at, now)
    lead.last_attempt_at = now
    _follow_outcome(lead, by, outcome, callback_at, now)
    with transaction.atomic():
        attempt = ContactAttempt.objects.create(
            lead=lead,
            by=by,
            at=now,
            outcome=outcome,
            duration_s=duration_s,
            note=note,
            callback_at=callback_at,
        )
        _save(lead, ["first_attempt_at", "reaction_minutes", "last_attempt_at", *_OUTCOME_FIELDS])
        LeadEvent.objects.create(
            lead=lead, actor=by, at=now, kind=LeadEvent.Kind.ATTEMPT, note=note, attempt=attempt
        )
        _restart_callback_clock(lead, callback_at, now)
    return attempt


# The PBX may already have written the attempt of the call a qualifier is logging by hand. Only
# the telephony app knows calls, and leads never import it: it registers a finder here from its
# AppConfig.ready(). A finder returns that attempt — claiming it, so it is completed once — or
# None.
PbxAttemptFinder = Callable[[Lead, User, datetime], ContactAttempt | None]
_pbx_attempt_finders: list[PbxAttemptFinder] = []


def register_pbx_attempt_finder(finder: PbxAttemptFinder) -> None:
    if finder not in _pbx_attempt_finders:
        _pbx_attempt_finders.append(finder)


def lead_attempt_log_by_hand(
    *,
    lead: Lead,
    by: User,
    outcome: str,
    duration_s: int = 0,
    note: str = "",
    callback_at: datetime | None = None,
    now: datetime | None = None,
) -> ContactAttempt:
    """A call the qualifier logs by hand (the workspace's form, the API). When the PBX already
    wrote this call's attempt, that one is completed instead of a second written: one call, one
    attempt, whichever of the two came first."""
    now = now or timezone.now()
    with transaction.atomic():
        for finder in _pbx_attempt_finders:
            logged = finder(lead, by, now)
            if logged is not None:
                return lead_attempt_complete(
                    lead=lead,
                    attempt=logged,
                    by=by,
                    outcome=outcome,
                    note=note,
                    callback_at=callback_at,
                    now=now,
                )
        return lead_attempt_log(
            lead=lead,
            by=by,
            outcome=outcome,
            duration_s=duration_s,
            note=note,
            callback_at=callback_at,
            now=now,
        )


def lead_attempt_complete(
    *,
    lead: Lead,
    attempt: ContactAttempt,
    by: User,
    outcome: str,
    note: str = "",
    callback_at: datetime | None = None,
    now: datetime | None = None,
) -> ContactAttempt:
    """The qualifier's word on a call the PBX logged: their outcome, note and callback replace
    the PBX's reading, the time and duration stay the PBX's (the clock already stopped at the
    call's real start), and the lead follows their outcome as lead_attempt_log would."""
    now = now or timezone.now()
    _raise_unless_attempt_allowed(lead, by, outcome, callback_at, now)
    _follow_outcome(lead, by, outcome, callback_at, now)
    attempt.outcome, attempt.note, attempt.callback_at = outcome, note, callback_at
    with transaction.atomic():
        attempt.save(update_fields=["outcome", "note", "callback_at"])
        _save(lead, list(_OUTCOME_FIELDS))
        LeadEvent.objects.filter(attempt=attempt).update(note=note)
        _restart_callback_clock(lead, callback_at, now)
    return attempt


def _raise_unless_attempt_allowed(
    lead: Lead, by: User, outcome: str, callback_at: datetime | None, now: datetime
) -> None:
    _raise_if_closed(lead)
    _raise_if_held_by_other(lead, by, now)
    if outcome == ContactAttempt.Outcome.CALLBACK:
        if callback_at is None:
            raise ValidationError({"callback_at": _("Say when to call back.")})
        if callback_at <= now:
            raise ValidationError({"callback_at": _("The callback time must be in the future.")})
        if callback_at > now + timedelta(days=366):
            raise ValidationError({"callback_at": _("Schedule a callback within a year.")})
    elif callback_at is not None:
        raise ValidationError({"callback_at": _("A callback time goes with a callback request.")})


_OUTCOME_FIELDS = ("waiting_since", "assignee", "claimed_at", "claim_expires_at", "due_at")


def _follow_outcome(
    lead: Lead, by: User, outcome: str, callback_at: datetime | None, now: datetime
) -> None:
    """Who holds the lead after a call, and when it is due (the _OUTCOME_FIELDS)."""
    lead.waiting_since = None  # we called back: the missed caller no longer jumps the queue
    if outcome in (ContactAttempt.Outcome.NO_ANSWER, ContactAttempt.Outcome.BUSY):
        lead.assignee, lead.claimed_at = None, None
        lead.due_at = now + timedelta(minutes=lead.team.retry_after_minutes)
    else:
        lead.assignee, lead.claimed_at = by, lead.claimed_at or now
        if callback_at is not None:
            lead.due_at = callback_at
    lead.claim_expires_at = None


def _restart_callback_clock(lead: Lead, callback_at: datetime | None, now: datetime) -> None:
    """A call stops the callback clock; a requested callback starts a new one."""
    alerts.cancel(lead, now, alerts.CALLBACK_KINDS)
    if callback_at is not None:
        alerts.schedule_requested_callback(lead, callback_at)


def lead_missed_call(*, lead: Lead, at: datetime, note: str = "") -> bool:
    """The lead's customer phoned at `at` and nobody answered: the call goes on the timeline,
    and an open lead not called since is lifted to the top of the queue (rank MISSED) until
    the next call we log. A lead its qualifier holds becomes due now, in their own rank.
    True when the lead was lifted. Conditional UPDATEs: a replayed or late event, or a call
    logged meanwhile, lifts nothing."""
    not_called_since = Q(last_attempt_at=None) | Q(last_attempt_at__lt=at)
    with transaction.atomic():
        LeadEvent.objects.create(lead=lead, at=at, kind=LeadEvent.Kind.MISSED_CALL, note=note)
        mine = Lead.objects.filter(not_called_since, pk=lead.pk, state__in=Lead.OPEN_STATES)
        lifted = mine.filter(waiting_since=None).update(waiting_since=at)
        # The earliest unanswered call counts: out-of-order events may bring an earlier one.
        mine.filter(waiting_since__gt=at).update(waiting_since=at)
        held = mine.filter(state=Lead.State.NEW, claim_expires_at=None, assignee__isnull=False)
        held.filter(due_at__gt=at).update(due_at=at)
    return bool(lifted)


def lead_answer(
    *,
    lead: Lead,
    by: User,
    criterion: Criterion,
    value: str,
    now: datetime | None = None,
) -> Answer:
    """Record (or correct) an answer as given, and re-score the lead."""
    now = now or timezone.now()
    _raise_if_closed(lead)
    judgement = scoring.judge(criterion, value)
    with transaction.atomic():
        # The lead first: answers saved at once for one lead (the script's fields as they are
        # picked, and the whole script from "Save answers") then queue here, instead of each
        # holding one answer while waiting for the other's score update — a deadlock.
        list(Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk"))
        answer, _created = Answer.objects.update_or_create(
            lead=lead,
            criterion=criterion,
            defaults={
                "question": criterion.question,
                "kind": criterion.kind,
                "value": judgement.value,
                "label": judgement.label,
                "verdict": judgement.verdict,
                "points": judgement.points,
                "knocked_out": judgement.knocked_out,
                "answered_by": by,
                "answered_at": now,
                "origin": Answer.Origin.QUALIFIER,
            },
        )
        total = Criterion.objects.filter(active=True).aggregate(w=Sum("weight"))["w"] or 0
        lead.score = scoring.score(lead.answers.values_list("points", flat=True), total)
        lead.temperature = scoring.temperature(lead.score)
        _save(lead, ["score", "temperature"])
    return answer


def lead_prefill(
    *,
    lead: Lead,
    answers: dict[str, str],
    origin: str = Answer.Origin.FORM,
    now: datetime | None = None,
) -> list[Answer]:
    """Pre-fill the lead's script from its form answers (`leads/prefill.py` says which answer
    which criterion, and how): each as an Answer marked with its origin, and the lead
    re-scored. An answer a qualifier already gave is never replaced; the form answers stay
    on the lead as sent, whatever was pre-filled."""
    if not answers:
        return []
    index = prefill.CriteriaIndex.active()
    found = index.match(answers)
    if not found:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        # The lead first, as lead_answer does: a qualifier's answer saved at this moment
        # waits, then finds the pre-filled one and replaces it.
        list(Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk"))
        given = set(lead.answers.values_list("criterion_id", flat=True))
        new = [f.answer(lead.pk, origin, now) for f in found]
        new = [a for a in new if a.criterion_id not in given]
        Answer.objects.bulk_create(new)
        lead.score = scoring.score(
            lead.answers.values_list("points", flat=True), index.total_weight
        )
        lead.temperature = scoring.temperature(lead.score)
        # Not _save: only the score moves, and it must land whatever state the lead is in now.
        Lead.objects.filter(pk=lead.pk).update(score=lead.score, temperature=lead.temperature)
    return new


def transition_blockers(lead: Lead, name: str) -> list[str]:
    """Why the named transition cannot run now; empty when it can."""
    not_possible = _("Not possible for a lead that is %(state)s.")
    return blockers_of(lead, name, not_possible=not_possible % {"state": lead.get_state_display()})


def convert_condition_blockers(lead: Lead) -> list[str]:
    """What would stop the conversion once the lead is checked: shown while it is still new."""
    transition = Lead.convert._django_fsm.get_transition(Lead.State.CHECKED)
    return [blocker_message(c, lead) for c in transition.conditions if not c(lead)]


def lead_transition(
    *,
    lead: Lead,
    by: User,
    name: str,
    reason: JunkReason | None = None,
    note: str = "",
    then: Callable[[], T] | None = None,
    now: datetime | None = None,
) -> T | None:
    """Run a transition with its event in one transaction; `then` runs inside it too, so a
    conversion's deal exists exactly when the lead is converted."""
    now = now or timezone.now()
    if not access.manages(by, lead.team):
        _raise_if_held_by_other(lead, by, now)  # a manager may step in; a teammate may not
    blockers = transition_blockers(lead, name)
    if blockers:
        raise TransitionBlocked(blockers)
    from_state = lead.state
    with transaction.atomic():
        try:
            getattr(lead, name)(**({"reason": reason, "note": note} if name == "junk" else {}))
        except TransitionNotAllowed:  # a condition changed since transition_blockers looked
            raise LeadConflict(
                _("This lead changed a moment ago. Reload it and try again.")
            ) from None
        if not lead.is_open:
            lead.closed_at = now
        _save(lead, ["state", "junk_reason", "closed_at"])
        LeadEvent.objects.create(
            lead=lead,
            actor=by,
            at=now,
            kind=LeadEvent.Kind.TRANSITION,
            from_state=from_state,
            to_state=lead.state,
            reason=reason,
            note=note,
        )
        alerts.cancel(lead, now)
        if lead.state == Lead.State.CHECKED:
            alerts.schedule_stall(lead, now)
        return then() if then else None


def lead_check(*, lead: Lead, by: User, now: datetime | None = None) -> None:
    lead_transition(lead=lead, by=by, name="mark_checked", now=now)


def lead_junk(
    *,
    lead: Lead,
    by: User,
    reason: JunkReason | None,
    note: str = "",
    now: datetime | None = None,
) -> None:
    if reason is None:
        raise ValidationError({"reason": _("Choose why this lead is junk.")})
    lead_transition(lead=lead, by=by, name="junk", reason=reason, note=note, now=now)


def _save(lead: Lead, fields: list[str]) -> None:
    """Save under optimistic locking: the UPDATE only matches if the state is still the one
    this lead was read in, so a concurrent transition makes this one fail, not both land."""
    try:
        lead.save(update_fields=fields)
    except ConcurrentTransition:
        raise LeadConflict(
            _("Someone else changed this lead a moment ago. Reload it and try again.")
        ) from None


CONTACT_FIELDS = ("name", "phone", "email", "company_name", "phones", "emails")


def lead_contact_update(
    *, lead: Lead, by: User, now: datetime | None = None, **fields: str
) -> list[str]:
    """Correct the person's name, phones, e-mails or company while working the lead.

    `phones` ([(typed, kind, ext)]) and `emails` ([(typed, kind)]) replace the lead's phones or
    e-mails, the first being the primary one; `phone` / `email` (text) replace only the
    primary one. The event names the fields that changed, never their values (phones and
    e-mails stay out of the timeline and the logs); a changed phone or e-mail re-links the lead
    to its team's oldest open lead holding any of them, as intake would have. Returns the
    changed field names."""
    now = now or timezone.now()
    _raise_if_closed(lead)
    if not access.manages(by, lead.team):
        _raise_if_held_by_other(lead, by, now)
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"not contact fields: {sorted(unknown)}")
    changed = []
    for name in ("name", "company_name"):
        if name in fields:
            value = channels.normalise_name(fields[name])
            if getattr(lead, name) != value:
                setattr(lead, name, value)
                changed.append(name)
    current = [p.as_point() for p in lead.points.all()]
    points = _contact_points(current, fields)
    # A number retyped the way the box shows it is the same point: it keeps what was typed
    # when it arrived, and only a changed number, kind, extension or order is a change.
    typed = {(p.kind, p.value): p.raw for p in current}
    points = [replace(p, raw=typed.get((p.kind, p.value), p.raw)) for p in points]
    changed.extend(
        kind
        for kind in (channels.PHONE, channels.EMAIL)
        if [p for p in points if p.kind == kind] != [p for p in current if p.kind == kind]
    )
    if not changed:
        return []
    saved = [n for n in changed if n in ("name", "company_name")]
    with transaction.atomic():
        if {"phone", "email"} & set(changed):
            lead.phone, lead.phone_ext, lead.email = (
                lead_contacts(points)[k] for k in ("phone", "phone_ext", "email")
            )
            saved += ["phone", "phone_ext", "email", "duplicate_of"]
            lead.points.all().delete()
            LeadContactPoint.objects.bulk_create(
                channels.point_rows(LeadContactPoint, points, lead=lead)
            )
            # Only an older lead is the original this one duplicates (a newer one holding the
            # same phone is its duplicate, not the other way round).
            match = open_duplicate_of(lead.team, channels.duplicate_keys(points), exclude=lead.pk)
            older = match is not None and (match.created_at, match.pk) < (lead.created_at, lead.pk)
            was_duplicate = lead.duplicate_of_id is not None
            lead.duplicate_of = match if older else None
            _rewind_first_call_clock(lead, was_duplicate, now)
        _save(lead, saved)
        LeadEvent.objects.create(
            lead=lead, actor=by, at=now, kind=LeadEvent.Kind.CONTACT, note=",".join(changed)
        )
    return changed


def _rewind_first_call_clock(lead: Lead, was_duplicate: bool, now: datetime) -> None:
    """A lead never called waits on one first-call clock, as at arrival: a corrected phone that
    makes it another lead's duplicate stops its own clock (the original's counts), one that
    makes it nobody's starts the clock it would have had from arrival (possibly already
    breached: nobody called it in time)."""
    if lead.first_attempt_at is not None or was_duplicate == (lead.duplicate_of_id is not None):
        return
    if lead.duplicate_of_id is not None:
        alerts.cancel(lead, now, alerts.CALLBACK_KINDS)
    else:
        alerts.schedule_callback(lead, lead.warn_at, lead.breach_at)


def _contact_points(current: list[channels.Point], fields: dict) -> list[channels.Point]:
    """The lead's points after the edit, parsed by the intake's rules; a ValidationError names
    the field of a phone or e-mail that is no valid one, or says when none is left."""
    phones = [p for p in current if p.kind == channels.PHONE]
    emails = [p for p in current if p.kind == channels.EMAIL]
    phone_input = [(p.raw or p.value, p.label, p.ext) for p in phones]
    email_input = [(p.raw or p.value, p.label) for p in emails]
    if "phones" in fields:
        phone_input = [tuple(item) for item in fields["phones"]]
    if "emails" in fields:
        email_input = [tuple(item) for item in fields["emails"]]
    if "phone" in fields:  # the primary one only
        rest = phone_input[1:]
        first_label = phone_input[0][1] if phone_input else channels.Label.OTHER
        phone_input = ([(fields["phone"], first_label, "")] if fields["phone"] else []) + rest
    if "email" in fields:
        other_emails = email_input[1:]
        first_label = email_input[0][1] if email_input else channels.Label.OTHER
        email_input = ([(fields["email"], first_label)] if fields["email"] else []) + other_emails
    points, _notes, errors, _problems = channels.clean_points(
        [("phone", str(typed), label, ext) for typed, label, ext in phone_input if str(typed)],
        [("email", str(typed), label) for typed, label in email_input if str(typed).strip()],
    )
    if errors:
        raise ValidationError(errors)
    if not points:
        raise ValidationError(_("Enter a phone or an e-mail, so the lead can be reached."))
    return points
