import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition

from crm.lib.fsm import ConcurrentTransitionMixin
from crm.lib.phones import is_valid_phone
from crm.lib.transitions import blocks_with
from crm.teams.models import Team
from leads import channels

if TYPE_CHECKING:
    from leads.alerts import SlaState


def new_intake_key() -> str:
    return secrets.token_urlsafe(32)


class LeadSource(models.Model):
    class Channel(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        PHONE = "phone", _("Phone call")
        WALK_IN = "walk_in", _("Walk-in")
        EMAIL = "email", _("E-mail")
        EXHIBITION = "exhibition", _("Exhibition")
        PURCHASED_LIST = "purchased_list", _("Purchased list")
        API = "api", _("API")

    class Preset(models.TextChoices):
        GENERIC = "generic", _("Generic (our field names)")
        TILDA = "tilda", _("Tilda")
        YANDEX_FORMS = "yandex_forms", _("Yandex Forms")
        AMOCRM = "amocrm", _("amoCRM webhook")

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    active = models.BooleanField(_("active"), default=True)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        limit_choices_to={"kind": Team.Kind.QUALIFICATION},
        help_text=_("The qualification team that receives this source's leads from intake."),
    )
    intake_key = models.CharField(
        _("intake key"),
        max_length=64,
        unique=True,
        default=new_intake_key,
        help_text=_("Sent as the X-Intake-Key header or the key URL parameter."),
    )
    preset = models.CharField(
        _("field mapping preset"), max_length=20, choices=Preset.choices, default=Preset.GENERIC
    )
    field_map = models.JSONField(
        _("field mapping"),
        default=dict,
        blank=True,
        help_text=_('Overrides, our field to theirs, e.g. {"message": "Comments"}.'),
    )
    honeypot_field = models.CharField(
        _("honeypot field"),
        max_length=50,
        default="fax",
        blank=True,
        help_text=_("A hidden form field people leave empty; a filled one marks a bot."),
    )
    allowed_origins = models.TextField(
        _("allowed origins"),
        blank=True,
        help_text=_(
            "Sites whose browser forms may post here, one per line, "
            "e.g. https://kitchens.example.ru"
        ),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("rate limit per minute"),
        default=120,
        help_text=_("Posts per minute from one client address; builders post from few servers."),
    )

    class Meta:
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def allows_origin(self, origin: str) -> bool:
        return origin in self.allowed_origins.split()


class JunkReason(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("junk reason")
        verbose_name_plural = _("junk reasons")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Verdict(models.TextChoices):
    """How an answer counts: a good one earns the criterion's weight, a bad one may knock out."""

    GOOD = "good", _("good")
    NEUTRAL = "neutral", _("neutral")
    BAD = "bad", _("bad")


class Criterion(models.Model):
    class Kind(models.TextChoices):
        YES_NO = "yes_no", _("Yes / no")
        CHOICE = "choice", _("Choice")
        NUMBER = "number", _("Number")
        TEXT = "text", _("Text")

    slug = models.SlugField(_("slug"), unique=True)
    question = models.CharField(_("question"), max_length=200)
    help_text = models.CharField(_("hint for the qualifier"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    required = models.BooleanField(
        _("required"), default=False, help_text=_("Must be answered before converting.")
    )
    knock_out = models.BooleanField(
        _("knock-out"),
        default=False,
        help_text=_("A bad answer disqualifies the lead: it cannot be converted."),
    )
    weight = models.PositiveIntegerField(
        _("weight"), default=1, help_text=_("Points a good answer adds to the lead's score.")
    )
    good_answer_yes = models.BooleanField(
        _("yes is the good answer"), default=True, help_text=_("For yes / no questions.")
    )
    min_value = models.DecimalField(
        _("minimum good value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum good value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    # How web forms and imported files name this question besides its own wording and slug
    # ("Тип кухни", "kitchen_type"): their answer pre-fills it (leads/prefill.py).
    form_names = models.TextField(
        _("names in forms and files"),
        blank=True,
        default="",
        db_default="",
        help_text=_(
            "Other names web forms or imported files give this question, one per line "
            "(e.g. Тип кухни). An answer sent under this name, the question or the slug "
            "pre-fills the script; case and spaces do not matter."
        ),
    )

    class Meta:
        verbose_name = _("qualification criterion")
        verbose_name_plural = _("qualification criteria")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.question

    def clean(self) -> None:
        if self.kind == self.Kind.TEXT and self.knock_out:
            raise ValidationError({"knock_out": _("A text answer cannot knock a lead out.")})
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValidationError({"max_value": _("The maximum is below the minimum.")})


class CriterionOption(models.Model):
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="options")
    value = models.SlugField(_("value"))
    label = models.CharField(_("label"), max_length=100)
    verdict = models.CharField(
        _("verdict"), max_length=10, choices=Verdict.choices, default=Verdict.NEUTRAL
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    # An option answers already use is archived, not deleted: the script stops offering it,
    # the answers keep their label and verdict (Settings → Criteria, setup/services.py).
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["criterion", "value"], name="option_value_unique")
        ]

    def __str__(self) -> str:
        return self.label


# Conditions carry their message (crm/lib/transitions.py): a fixed text, or one made from the
# lead (which criteria are missing), so the workspace can say exactly what to do.
LeadCondition = Callable[["Lead"], bool]


@blocks_with(_("Log at least one contact attempt."))
def has_contact_attempt(lead: "Lead") -> bool:
    return lead.first_attempt_at is not None


def _name_missing(lead: "Lead") -> str:
    if not lead.name.split():
        return str(_("Enter the name."))
    return str(_("Enter the surname too: this team asks for the first and last name."))


@blocks_with(_name_missing)
def has_full_name(lead: "Lead") -> bool:
    """A first name is enough to call someone back (web forms often ask only that); a team
    that needs the surname (e.g. for contracts) says so in its settings."""
    words = lead.name.split()
    return len(words) >= (2 if lead.team.surname_required else 1)


@blocks_with(_("Enter a valid phone number."))
def has_valid_phone(lead: "Lead") -> bool:
    return is_valid_phone(lead.phone)


def unanswered_required(lead: "Lead") -> list[str]:
    """The questions of the required active criteria this lead has no answer to."""
    required = Criterion.objects.filter(active=True, required=True)
    return list(required.exclude(answers__lead=lead).values_list("question", flat=True))


@blocks_with(
    lambda lead: _("Answer: %(questions)s") % {"questions": ", ".join(unanswered_required(lead))}
)
def has_required_answers(lead: "Lead") -> bool:
    return not unanswered_required(lead)


def knocked_out_questions(lead: "Lead") -> list[str]:
    return list(lead.answers.filter(knocked_out=True).values_list("question", flat=True))


@blocks_with(
    lambda lead: (
        _("A knock-out answer disqualifies this lead: %(questions)s")
        % {"questions": ", ".join(knocked_out_questions(lead))}
    )
)
def passes_knock_outs(lead: "Lead") -> bool:
    return not knocked_out_questions(lead)


class Lead(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        NEW = "new", _("new")
        CHECKED = "checked", _("checked")
        CONVERTED = "converted", _("converted")
        JUNK = "junk", _("junk")

    class Temperature(models.TextChoices):
        HOT = "hot", _("hot")
        WARM = "warm", _("warm")
        POTENTIAL = "potential", _("potential")

    OPEN_STATES = (State.NEW, State.CHECKED)

    # Not columns: set on an instance by the code that needs them (annotations only).
    arrived_points: "list[channels.Point]"  # leads.services: the phones and e-mails it came with
    sla: "SlaState"  # leads.alerts.attach_sla

    # Indexes are paid by every arriving lead, so each one here earns its place: the team is
    # led by lead_report_cohort; phones and e-mails are matched through LeadContactPoint.
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, db_index=False)
    source = models.ForeignKey(LeadSource, verbose_name=_("source"), on_delete=models.PROTECT)
    name = models.CharField(_("full name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)  # E.164
    email = models.EmailField(_("e-mail"), blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    message = models.TextField(_("message"), blank=True)
    # db_default: rows written by bulk SQL (imports, benchmarks) need not name them.
    external_id = models.CharField(_("external id"), max_length=100, blank=True, db_default="")
    utm_source = models.CharField("utm_source", max_length=200, blank=True, db_default="")
    utm_medium = models.CharField("utm_medium", max_length=200, blank=True, db_default="")
    utm_campaign = models.CharField("utm_campaign", max_length=200, blank=True, db_default="")
    utm_content = models.CharField("utm_content", max_length=200, blank=True, db_default="")
    utm_term = models.CharField("utm_term", max_length=200, blank=True, db_default="")
    # What a web form sent beyond our fields: its own questions ("Kitchen type": "corner"), by
    # the form's name for them, as typed.
    form_answers = models.JSONField(_("form answers"), blank=True, default=dict, db_default={})
    # `phone`, `phone_ext` and `email` are the lead's primary (first) phone and e-mail, kept on
    # the row for the queue, click-to-call and the API; all of them, with their kinds, are the
    # lead's `points` (LeadContactPoint), which duplicates are matched on.
    # The extension typed after the phone ("доб. 123"): `phone` stays a dialable E.164.
    phone_ext = models.CharField(
        _("phone extension"), max_length=20, blank=True, default="", db_default=""
    )
    # A phone or e-mail that came in unusable, beside one that works: kept as typed for the
    # qualifier to fix on the call, {field: {"typed": ..., "problem": code}}.
    contact_problems = models.JSONField(
        _("contact problems"), blank=True, default=dict, db_default={}
    )
    state = FSMField(_("state"), default=State.NEW, choices=State.choices, protected=True)
    # Imported already converted in the CRM it came from (its deal is there): `converted`
    # without a deal here, never in the queue, left out of the reports' figures.
    imported_history = models.BooleanField(
        _("imported as history"), default=False, db_default=False
    )
    # The row's status in the CRM it was imported from, as written ("Качественный лид").
    imported_status = models.CharField(
        _("status in the CRM it was imported from"),
        max_length=200,
        blank=True,
        default="",
        db_default="",
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
    )

    # Who works the lead. A claim not worked (no attempt) by claim_expires_at lapses; a worked
    # claim has claim_expires_at = NULL and stays with its assignee.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_leads",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_expires_at = models.DateTimeField(_("claim expires at"), null=True, blank=True)

    # Deadlines are data: the queue is ordered by due_at, alerts are swept by warn/breach_at.
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warn at"))
    breach_at = models.DateTimeField(_("breach at"))
    first_attempt_at = models.DateTimeField(_("first attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    # The customer phoned and nobody answered: they are waiting for our call since then. Set
    # by lead_missed_call, cleared by the next call we log; the queue calls these first
    # (leads/priority.py, rank MISSED, through the PostgreSQL partial index lead_waiting).
    waiting_since = models.DateTimeField(_("missed call, waiting since"), null=True, blank=True)
    # Working minutes from arrival to the first call, fixed when the call is logged, so that
    # reports aggregate it in the database instead of replaying working hours per lead.
    reaction_minutes = models.FloatField(_("reaction, working minutes"), null=True, blank=True)

    score = models.PositiveSmallIntegerField(_("score"), default=0)
    temperature = models.CharField(
        _("temperature"), max_length=10, choices=Temperature.choices, default=Temperature.POTENTIAL
    )
    junk_reason = models.ForeignKey(
        JunkReason, verbose_name=_("junk reason"), on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(_("arrived at"), db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            # Intake is idempotent by (source, external_id), even for concurrent repeats.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="lead_external_id_once_per_source",
            ),
        ]
        indexes = [
            # The queue and Take next read a team's open leads in due order; the partial index
            # keeps their cost tied to the open leads, not to the whole table.
            models.Index(
                fields=["team", "due_at", "id"],
                name="lead_open_queue",
                condition=Q(state__in=["new", "checked"]),
            ),
            # The same across teams: someone in several teams (a head) reads the merged queue
            # in due order without sorting every team's backlog.
            models.Index(
                fields=["due_at", "id"],
                name="lead_open_due",
                condition=Q(state__in=["new", "checked"]),
            ),
            # Priority (leads/priority.py): never-called leads by due time (the fresh ones
            # from the least time left, the breached ones from the latest breach), and
            # retries by due time, without walking past each other in the queue index. A lead
            # leaves the first two at its first call, so intake pays for two small indexes;
            # only called leads enter the third. The one without the team serves someone who
            # reads several teams (a head), as lead_open_due does.
            models.Index(
                fields=["team", "due_at", "id"],
                name="lead_never_called",
                condition=Q(state="new", first_attempt_at=None),
            ),
            models.Index(
                fields=["due_at", "id"],
                name="lead_never_called_due",
                condition=Q(state="new", first_attempt_at=None),
            ),
            models.Index(
                fields=["team", "due_at", "id"],
                name="lead_retry",
                condition=Q(state="new", first_attempt_at__isnull=False),
            ),
            # Duplicates are matched on LeadContactPoint.value (its index lead_point_value),
            # which holds every phone and e-mail, the primary ones too.
            # The team report reads a team's leads by arrival: every column it aggregates is
            # in the key, so it is an index-only scan instead of a heap page per lead (key
            # columns rather than INCLUDE, which SQLite lacks).
            models.Index(
                fields=[
                    "team",
                    "created_at",
                    "id",
                    "state",
                    "first_attempt_at",
                    "reaction_minutes",
                    "source",
                    "junk_reason",
                    "imported_history",
                ],
                name="lead_report_cohort",
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.phone) or self.email or f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    # "Someone holds this lead", written once: a claim worked by a call (no expiry) or one not
    # yet lapsed (the expiry moment itself still counts as held). Querysets use claim_active_q
    # (`via` is the path from another model, e.g. "lead__" from a Deadline: the sweep's SQL is
    # compiled from it), one row claim_active; tests/leads/test_claim_boundary.py holds every
    # user of it to the same edge.
    @staticmethod
    def claim_active_q(now: datetime, via: str = "") -> Q:
        return Q(**{f"{via}assignee__isnull": False}) & (
            Q(**{f"{via}claim_expires_at__isnull": True})
            | Q(**{f"{via}claim_expires_at__gte": now})
        )

    def claim_active(self, now: datetime) -> bool:
        return self.assignee_id is not None and (
            self.claim_expires_at is None or self.claim_expires_at >= now
        )

    @staticmethod
    def claimable_q(now: datetime) -> Q:
        """Nobody works it: never taken, or taken and left without a call past the claim
        timeout — the complement of claim_active_q, spelled so the queue's indexes serve it."""
        return Q(assignee__isnull=True) | Q(claim_expires_at__lt=now)

    @staticmethod
    def unworked_claim_q(now: datetime) -> Q:
        """A live claim nobody has logged a call on yet: what Take next allows one of per
        person (a worked claim has no expiry)."""
        return Lead.claim_active_q(now) & Q(claim_expires_at__isnull=False)

    @transition(
        field=state,
        source=State.NEW,
        target=State.CHECKED,
        conditions=[has_contact_attempt, has_full_name, has_valid_phone],
    )
    def mark_checked(self) -> None:
        """`check`: the qualifier reached the person and verified the data. (Not named
        `check`: that name is Django's model system-check hook.)"""

    @transition(field=state, source=[State.NEW, State.CHECKED], target=State.JUNK)
    def junk(self, reason: JunkReason, note: str = "") -> None:
        self.junk_reason = reason

    @transition(
        field=state,
        source=State.CHECKED,
        target=State.CONVERTED,
        conditions=[has_required_answers, passes_knock_outs],
    )
    def convert(self) -> None:
        """Handed to a sales team; the handoff app creates the deal in the same transaction."""


class ContactPointBase(models.Model):
    """One phone or e-mail of a person (a lead's, or a sales team's contact's), with its kind;
    normalised by `leads.channels`. `position` orders each kind's points: 0 is the primary."""

    KIND_CHOICES = [(channels.PHONE, _("phone")), (channels.EMAIL, _("e-mail"))]

    kind = models.CharField(_("channel"), max_length=5, choices=KIND_CHOICES)
    label = models.CharField(
        _("kind"), max_length=10, choices=channels.Label.choices, default=channels.Label.OTHER
    )
    # E.164 for a phone, the lower-cased address for an e-mail.
    value = models.CharField(_("value"), max_length=254)
    ext = models.CharField(_("extension"), max_length=20, blank=True, default="")
    raw = models.CharField(_("as typed"), max_length=200, blank=True, default="")
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        abstract = True
        ordering = ["kind", "position", "id"]

    def __str__(self) -> str:
        return self.value

    def as_point(self) -> channels.Point:
        return channels.Point(self.kind, self.value, self.label, self.ext, self.raw)


class LeadContactPoint(ContactPointBase):
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        on_delete=models.CASCADE,
        related_name="points",
        db_index=False,  # lead_point_once_per_lead leads with it
    )

    class Meta(ContactPointBase.Meta):
        verbose_name = _("lead phone or e-mail")
        verbose_name_plural = _("lead phones and e-mails")
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind", "value"], name="lead_point_once_per_lead"
            ),
        ]
        indexes = [
            # Duplicates: the open leads holding any of a new lead's phones or e-mails.
            models.Index(fields=["value"], name="lead_point_value"),
        ]


class ContactAttempt(models.Model):
    class Outcome(models.TextChoices):
        REACHED = "reached", _("reached")
        NO_ANSWER = "no_answer", _("no answer")
        BUSY = "busy", _("busy")
        WRONG_NUMBER = "wrong_number", _("wrong number")
        CALLBACK = "callback", _("callback requested")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attempts")
    # Indexed by attempt_report_by, which leads with it.
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, db_index=False
    )
    # Also indexed alone on PostgreSQL (attempt_at, leads 0033): everybody's calls of a day.
    at = models.DateTimeField(_("at"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    duration_s = models.PositiveIntegerField(_("duration, seconds"), default=0)
    note = models.TextField(_("note"), blank=True)
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        ordering = ["at", "id"]
        indexes = [
            # A person's calls in a period (the person report), index-only.
            models.Index(
                fields=["by", "at", "lead", "outcome", "duration_s", "id"],
                name="attempt_report_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} · {self.at:%Y-%m-%d %H:%M}"


class Answer(models.Model):
    """An answer as it was given: the question, label and verdict are copied so that a later
    edit of the criterion never rewrites what the lead was qualified (or disputed) with."""

    class Origin(models.TextChoices):
        QUALIFIER = "qualifier", _("the qualifier")
        FORM = "form", _("from the form")
        IMPORT = "import", _("from the imported file")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(
        Criterion, on_delete=models.SET_NULL, null=True, related_name="answers"
    )
    question = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Criterion.Kind.choices)
    value = models.CharField(_("value"), max_length=500)
    label = models.CharField(_("answer"), max_length=500)
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    points = models.PositiveIntegerField(_("points"), default=0)
    knocked_out = models.BooleanField(_("knocked out"), default=False)
    # Null for an answer pre-filled from the lead's form or imported file (origin says which),
    # until a qualifier saves one over it.
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"))
    origin = models.CharField(
        _("answered"),
        max_length=10,
        choices=Origin.choices,
        default=Origin.QUALIFIER,
        db_default=Origin.QUALIFIER,
    )

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["lead", "criterion"], name="answer_once_per_criterion")
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.shown}"

    @property
    def shown(self) -> str:
        """The answer in the reader's language: yes/no is translated, choices and text are the
        admin's and the customer's own words."""
        if self.kind == Criterion.Kind.YES_NO:
            return str(_("Yes") if self.value == "yes" else _("No"))
        return self.label


class LeadEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("arrived")
        CLAIMED = "claimed", _("taken")
        ATTEMPT = "attempt", _("call logged")
        TRANSITION = "transition", _("state changed")
        # Not stored: the timeline reads a lead's alerts from its raised deadlines
        # (leads.alerts.raised_on_timeline) and shows them as entries of this kind.
        ALERT = "alert", _("alert raised")
        CONTACT = "contact", _("contact details changed")
        VISIT = "visit", _("site visit booked")
        MAIL = "mail", _("e-mail received")
        MISSED_CALL = "missed_call", _("missed call")

    # No index of its own: lead_event_timeline below starts with the lead and answers every
    # lookup by lead (the timeline, a lead's delete); a second one only cost each new event
    # (the SLA sweep writes 1,000 at a time) a random page of an index as big as the table.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_state = models.CharField(
        _("from state"), max_length=20, choices=Lead.State.choices, blank=True
    )
    to_state = models.CharField(
        _("to state"), max_length=20, choices=Lead.State.choices, blank=True
    )
    reason = models.ForeignKey(
        JunkReason, verbose_name=_("reason"), on_delete=models.PROTECT, null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    attempt = models.OneToOneField(
        ContactAttempt, on_delete=models.CASCADE, null=True, blank=True, related_name="event"
    )

    # Read by the timeline (crm.lib.timeline) with each page, in its one query: an attempt's
    # row plays the recording of its call, which would otherwise cost a query per attempt.
    # "call" is telephony's relation to the attempt, named without importing telephony.
    timeline_related = ("attempt__call",)

    class Meta:
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        ordering = ["at", "id"]
        indexes = [
            # The lead page's timeline, the latest page first (crm.lib.keyset).
            models.Index(fields=["lead", "at", "id"], name="lead_event_timeline"),
            # A person's decisions in a period (the person report), index-only. Everybody's
            # decisions of a day: event_transition_at (PostgreSQL, leads 0033).
            models.Index(
                fields=["actor", "at", "to_state", "id"],
                condition=Q(kind="transition"),
                name="event_report_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"


class LeadImport(models.Model):
    """A CSV import started from the page: the file, its mapping and how far it has got, so
    the browser can drive it in steps and show the progress."""

    class Status(models.TextChoices):
        READY = "ready", _("waiting for the column mapping")
        CHECKING = "checking", _("checking rows")
        IMPORTING = "importing", _("importing")
        DONE = "done", _("done")

    MAX_ERRORS_KEPT = 500

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT)
    source = models.ForeignKey(LeadSource, verbose_name=_("source"), on_delete=models.PROTECT)
    file_name = models.CharField(_("file"), max_length=200)
    text = models.TextField()
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    dry_run = models.BooleanField(_("dry run"), default=False)
    all_or_nothing = models.BooleanField(_("all or nothing"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.READY
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    already_imported = models.PositiveIntegerField(_("already imported"), default=0)
    bad_rows = models.PositiveIntegerField(_("bad rows"), default=0)
    errors = models.JSONField(default=list)
    # Rows imported as converted history (converted in the other CRM): counted, and the
    # first of them listed, [row number, what happens], so a dry run shows them row by row.
    history = models.PositiveIntegerField(_("imported as converted history"), default=0)
    notes = models.JSONField(default=list)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")

    def __str__(self) -> str:
        return self.file_name

    def start(self, *, mapping: dict[str, str], dry_run: bool, all_or_nothing: bool) -> None:
        self.mapping, self.dry_run, self.all_or_nothing = mapping, dry_run, all_or_nothing
        checks_first = dry_run or all_or_nothing
        self.status = self.Status.CHECKING if checks_first else self.Status.IMPORTING

    def record(self, result, *, finished: bool) -> None:
        """Add one step's result; at the end of a pass, move on (all-or-nothing imports after
        a clean check) or finish."""
        self.rows_done += result.total
        self.created += result.created
        self.already_imported += result.already_imported
        self.bad_rows += result.bad_rows
        room = self.MAX_ERRORS_KEPT - len(self.errors)
        self.errors += [[number, errors] for number, errors in result.errors[: max(room, 0)]]
        self.history += len(result.notes)
        room = self.MAX_ERRORS_KEPT - len(self.notes)
        self.notes += [[number, note] for number, note in result.notes[: max(room, 0)]]
        if not finished:
            return
        if self.status == self.Status.CHECKING and not self.dry_run and not self.bad_rows:
            # The import pass counts and lists them again.
            self.status, self.rows_done, self.history, self.notes = (
                self.Status.IMPORTING,
                0,
                0,
                [],
            )
        else:
            self.status, self.finished_at = self.Status.DONE, timezone.now()

    @property
    def percent(self) -> int:
        passes = 2 if self.all_or_nothing and not self.dry_run else 1
        second = self.all_or_nothing and self.status == self.Status.IMPORTING
        done = self.rows_done + (self.total_rows if second else 0)
        return min(100, round(100 * done / max(self.total_rows * passes, 1)))


class ExportJob(models.Model):
    """A CSV export of the queue run by a worker (leads/exports.py): what was asked, by whom, in
    which language and time zone (the file is written as that reader would read it), and how far
    it has got. Its file lives in the default storage, served only to the requester."""

    class State(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("export", "queued")
        RUNNING = "running", pgettext_lazy("export", "running")
        DONE = "done", pgettext_lazy("export", "done")
        FAILED = "failed", pgettext_lazy("export", "failed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    filters = models.JSONField(_("filters"), default=dict)  # the queue's, as QueueFilter reads
    language = models.CharField(_("language"), max_length=10)
    time_zone = models.CharField(_("time zone"), max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="exports/", blank=True)
    error = models.TextField(_("reason it failed"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # A running job's worker says it is alive with each progress step; one silent for
    # exports.EXPORT_STALL died under it (killed, restarted) and the sweep runs it again.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_mine")]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.state})"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(100, round(100 * self.rows_done / max(self.rows_total or 0, 1)))

    @property
    def active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class Mailbox(models.Model):
    """A team's sales mailbox, polled by beat (leads/mail_intake.py): each new letter becomes a
    lead of `source`, or is attached to the lead it answers or its sender's open lead."""

    class Security(models.TextChoices):
        SSL = "ssl", _("SSL/TLS")
        STARTTLS = "starttls", _("STARTTLS")
        NONE = "none", _("none (local servers only)")

    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        limit_choices_to={"kind": Team.Kind.QUALIFICATION},
    )
    source = models.ForeignKey(
        LeadSource,
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        help_text=_("The source its leads are counted under, e.g. E-mail."),
    )
    host = models.CharField(_("IMAP server"), max_length=200)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    username = models.CharField(_("user name"), max_length=200)
    password = models.CharField(_("password"), max_length=200)
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    enabled = models.BooleanField(_("enabled"), default=True)
    # Where the last poll stopped: letters above `last_uid` are new while the folder's
    # UIDVALIDITY stays; when it changes the folder is read again from the start and the
    # letters already taken are known by their Message-ID (MailLetter).
    uidvalidity = models.BigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    last_uid = models.BigIntegerField(_("last UID taken"), default=0)
    # Set while a worker polls it, so two never poll one mailbox together; an old one is a
    # worker that died polling, and is taken over.
    polling_since = models.DateTimeField(_("polling since"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    last_taken = models.PositiveIntegerField(_("letters taken at the last poll"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["team", "username"]

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"

    def clean(self) -> None:
        # Its leads arrive through the source's intake, which files them in the source's team.
        if self.source_id and self.team_id and self.source.team_id != self.team_id:
            raise ValidationError({"source": _("Choose a source of this team.")})


class MailLetter(models.Model):
    """Each letter taken from a mailbox, once (by Message-ID), and what became of it. A letter
    that could not be read keeps its raw bytes for the head to look at."""

    class Outcome(models.TextChoices):
        LEAD = "lead", _("new lead")
        ATTACHED = "attached", _("attached to a lead")
        SKIPPED = "skipped", _("skipped (auto-reply or bounce)")
        FAILED = "failed", _("could not be read")

    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), on_delete=models.CASCADE, related_name="letters"
    )
    message_id = models.CharField(_("Message-ID"), max_length=1000)
    uid = models.BigIntegerField(_("UID"))
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), on_delete=models.SET_NULL, null=True, blank=True
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    problem = models.TextField(_("problem"), blank=True)
    raw = models.BinaryField(_("raw letter"), blank=True, default=bytes)

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"], name="letter_once"),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id
