from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, transition

from crm.lib.fsm import ConcurrentTransitionMixin
from crm.teams.models import Team
from leads.models import ContactPointBase, Lead


def _owning_team() -> models.ForeignKey:
    # Null only for rows no deal used before contacts belonged to teams (migration 0005): no
    # team's page reaches them, only the admin. Every contact or company made since has one.
    return models.ForeignKey(
        Team,
        verbose_name=_("sales team"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        limit_choices_to={"kind": Team.Kind.SALES},
    )


class Company(models.Model):
    """A customer's company as one sales team knows it: each team keeps its own, so one team's
    spelling or deals never show on another's pages."""

    team = _owning_team()
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("team", Lower("name"), name="company_team_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person as one sales team knows them: kept once across that team's deals, matched by
    phone or e-mail. Another team converting the same person gets a contact of its own, so no
    team sees the name, e-mail, company or deals another team recorded. `company` is where they
    work now (a company of the same team); each deal keeps the company it was made with."""

    team = _owning_team()
    name = models.CharField(_("full name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20, blank=True)  # E.164
    email = models.EmailField(_("e-mail"), blank=True)
    company = models.ForeignKey(
        Company, verbose_name=_("company"), on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            # Unique within the team, so that two conversions of the same person into one team
            # at once cannot make two contacts; these also serve the conversion's lookups.
            models.UniqueConstraint(
                fields=["team", "phone"], condition=~Q(phone=""), name="contact_team_phone_unique"
            ),
            models.UniqueConstraint(
                fields=["team", "email"], condition=~Q(email=""), name="contact_team_email_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.company is not None and self.company.team_id != self.team_id:
            raise ValidationError({"company": _("Choose a company of the contact's team.")})


class ContactPoint(ContactPointBase):
    """A contact's phone or e-mail: `Contact.phone`/`email` are its primary ones, and the
    conversion matches a lead on any of these (within the contact's team)."""

    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="points",
        db_index=False,  # contact_point_once leads with it
    )

    class Meta(ContactPointBase.Meta):
        verbose_name = _("contact phone or e-mail")
        verbose_name_plural = _("contact phones and e-mails")
        constraints = [
            models.UniqueConstraint(fields=["contact", "kind", "value"], name="contact_point_once"),
        ]
        indexes = [models.Index(fields=["value"], name="contact_point_value")]


class LossReason(models.Model):
    """Why a deal was lost: an admin-edited list, like the junk reasons for leads."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Deal(ConcurrentTransitionMixin, models.Model):
    class Stage(models.TextChoices):
        HANDED_OFF = "handed_off", _("handed off")
        ACCEPTED = "accepted", _("accepted")
        MEETING = "meeting", _("meeting")
        PROPOSAL = "proposal", _("proposal")
        WON = "won", _("won")
        LOST = "lost", _("lost")
        RETURNED = "returned", _("returned")

    OPEN_STAGES = (Stage.HANDED_OFF, Stage.ACCEPTED, Stage.MEETING, Stage.PROPOSAL)
    WORKED_STAGES = (Stage.ACCEPTED, Stage.MEETING, Stage.PROPOSAL)

    # Not columns: set on an instance by deals.views.board (annotations only).
    can_pick_up: bool
    detail_url: str
    accept_url: str
    is_today: bool

    team = models.ForeignKey(Team, verbose_name=_("sales team"), on_delete=models.PROTECT)
    lead = models.OneToOneField(Lead, verbose_name=_("lead"), on_delete=models.PROTECT)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="deals"
    )
    company = models.ForeignKey(
        Company, verbose_name=_("company"), on_delete=models.PROTECT, null=True, blank=True
    )
    stage = FSMField(_("stage"), default=Stage.HANDED_OFF, choices=Stage.choices, protected=True)
    closer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
    )
    meeting_at = models.DateTimeField(_("site visit at"), null=True, blank=True)
    meeting_address = models.CharField(_("site visit address"), max_length=300, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    loss_reason = models.ForeignKey(
        LossReason,
        verbose_name=_("loss reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            # The board's columns (deals.selectors.board_column), each read in its order from
            # the cursor on, and their counts (index-only: the closer is in the index).
            models.Index(
                fields=["team", "stage", "-created_at", "-id"],
                name="deal_board_page",
                include=["closer"],
                condition=Q(stage__in=["handed_off", "accepted", "meeting", "proposal"]),
            ),
            models.Index(
                fields=["team", "meeting_at", "id"],
                name="deal_board_meetings",
                include=["closer"],
                condition=Q(stage="meeting"),
            ),
            # A user's own site visits from today on, soonest first (the board's "My site
            # visits").
            models.Index(
                fields=["closer", "meeting_at"],
                name="deal_visits",
                condition=Q(
                    stage__in=["handed_off", "accepted", "meeting", "proposal"],
                    meeting_at__isnull=False,
                ),
            ),
            # The report's closed deals and closers of a team in a period, index-only.
            models.Index(
                fields=["team", "closed_at", "stage", "closer", "amount", "id"],
                condition=Q(closed_at__isnull=False),
                name="deal_report_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} — {self.team}"

    @property
    def is_open(self) -> bool:
        return self.stage in self.OPEN_STAGES

    @transition(
        field=stage, source=Stage.HANDED_OFF, target=RETURN_VALUE(Stage.ACCEPTED, Stage.MEETING)
    )
    def accept(self, closer) -> str:
        """Picked up; a site visit booked during the call makes it a meeting straight away."""
        self.closer = closer
        return self.Stage.MEETING if self.meeting_at else self.Stage.ACCEPTED

    @transition(field=stage, source=[Stage.ACCEPTED, Stage.MEETING], target=Stage.MEETING)
    def set_meeting(self, at, address: str) -> None:
        self.meeting_at, self.meeting_address = at, address

    @transition(field=stage, source=[Stage.ACCEPTED, Stage.MEETING], target=Stage.PROPOSAL)
    def propose(self) -> None:
        """A price was put to the customer."""

    @transition(field=stage, source=[Stage.MEETING, Stage.PROPOSAL], target=Stage.WON)
    def win(self, amount) -> None:
        self.amount = amount

    @transition(field=stage, source=list(WORKED_STAGES), target=Stage.LOST)
    def lose(self, reason: LossReason) -> None:
        self.loss_reason = reason

    @transition(field=stage, source=list(OPEN_STAGES), target=Stage.RETURNED)
    def return_to_qualification(self) -> None:
        """A dispute was upheld: the lead should not have been handed off."""


class DealEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("handed off")
        STAGE = "stage", _("stage changed")
        ASSIGNED = "assigned", _("assigned")
        NOTE = "note", _("note")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_stage = models.CharField(
        _("from stage"), max_length=20, blank=True, choices=Deal.Stage.choices
    )
    to_stage = models.CharField(
        _("to stage"), max_length=20, blank=True, choices=Deal.Stage.choices
    )
    closer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("deal event")
        verbose_name_plural = _("deal events")
        ordering = ["at", "id"]
        # The deal page's timeline, the latest page first (crm.lib.keyset).
        indexes = [models.Index(fields=["deal", "at", "id"], name="deal_event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M}"


class CloserStatus(models.Model):
    """Whether a closer takes new deals now (away, on leave, fully booked)."""

    closer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="closer_status"
    )
    available = models.BooleanField(_("takes new deals"), default=True)

    class Meta:
        verbose_name = _("closer status")
        verbose_name_plural = _("closer statuses")

    def __str__(self) -> str:
        return f"{self.closer}: {self.available}"


class VisitSlot(models.Model):
    """A closer's free time for a site visit, which a qualifier can book while the customer is
    on the line. A booked slot points to its deal; booking is a conditional update."""

    closer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closer"),
        on_delete=models.CASCADE,
        related_name="visit_slots",
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    deal = models.OneToOneField(
        Deal,
        verbose_name=_("deal"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visit_slot",
    )

    class Meta:
        verbose_name = _("visit slot")
        verbose_name_plural = _("visit slots")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["closer", "starts_at"], name="slot_once_per_closer"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.closer} {self.starts_at:%Y-%m-%d %H:%M}"
