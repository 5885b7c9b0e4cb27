import zoneinfo
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.lib.business_time import WorkingWeek


class Role:
    """Group names: a contract with integrations and the demo data; do not rename."""

    QUALIFIER = "Qualifier"
    CLOSER = "Closer"
    SALES_HEAD = "Sales head"
    ALL = (QUALIFIER, CLOSER, SALES_HEAD)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value})


class Team(models.Model):
    class Kind(models.TextChoices):
        QUALIFICATION = "qualification", _("Qualification")
        SALES = "sales", _("Sales")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="teams"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    hands_off_to = models.ManyToManyField(
        "self",
        verbose_name=_("hands off to"),
        symmetrical=False,
        blank=True,
        limit_choices_to={"kind": Kind.SALES},
        help_text=_("Sales teams that receive this qualification team's converted leads."),
    )
    sla_warn_minutes = models.PositiveIntegerField(
        _("warn after (minutes)"),
        default=15,
        help_text=_("A new lead not called by then warns its qualifier."),
    )
    sla_breach_minutes = models.PositiveIntegerField(
        _("breach after (minutes)"),
        default=20,
        help_text=_("A new lead not called by then is a breach reported to the manager."),
    )
    claim_timeout_minutes = models.PositiveIntegerField(
        _("claim timeout (minutes)"),
        default=10,
        help_text=_("A taken lead with no call logged by then goes back to the queue."),
    )
    stalled_remind_days = models.PositiveIntegerField(
        _("remind about a checked lead after (working days)"),
        default=2,
        help_text=_("A lead left in checked this long reminds its qualifier."),
    )
    stalled_escalate_days = models.PositiveIntegerField(
        _("escalate a checked lead after (working days)"),
        default=4,
        help_text=_("Left this long, it is reported to the manager."),
    )
    alert_webhook_url = models.URLField(
        _("alert webhook"),
        blank=True,
        help_text=_("Optional: SLA alerts are also posted here as JSON (e.g. a messenger bot)."),
    )
    surname_required = models.BooleanField(
        _("surname required"),
        default=False,
        help_text=_(
            "A lead is checked only with a first and last name; off: a first name is enough."
        ),
    )
    # The call-centre norm the reports measure each qualifier against (reports/calls.py): so
    # many reached calls a day, each of at least so many seconds of talk.
    call_norm_seconds = models.PositiveIntegerField(
        _("a counted call lasts at least (seconds)"),
        default=30,
        help_text=_("A reached call counts towards the daily norm from this much talk time."),
    )
    call_norm_per_day = models.PositiveIntegerField(
        _("daily norm (reached calls)"),
        default=45,
        help_text=_("Reached calls of at least that length each qualifier makes a working day."),
    )
    # Sales teams
    assignment = models.CharField(
        _("new deals go to"),
        max_length=10,
        choices=[("auto", _("a closer, by load and win rate")), ("pool", _("the team's pool"))],
        default="auto",
    )
    acceptance_hours = models.PositiveIntegerField(
        _("accept within (working hours)"),
        default=2,
        help_text=_("A deal nobody accepts by then alerts the manager."),
    )
    dispute_window_days = models.PositiveIntegerField(
        _("dispute window (days)"),
        default=3,
        help_text=_("How long after a handoff a closer may dispute it."),
    )
    retry_after_minutes = models.PositiveIntegerField(
        _("retry after (minutes)"),
        default=30,
        help_text=_("After no answer or busy, the lead returns to the queue due this much later."),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.sla_warn_minutes > self.sla_breach_minutes:
            raise ValidationError(
                {"sla_warn_minutes": _("The warning must come before the breach.")}
            )

    def receiving_sales_teams(self) -> models.QuerySet["Team"]:
        """The sales teams this qualification team hands converted leads to."""
        return self.hands_off_to.filter(kind=Team.Kind.SALES)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def working_week(self) -> WorkingWeek:
        """The team's opening hours and holidays (shared ones included), in its zone."""
        hours: dict[int, list[tuple[time, time]]] = {}
        for row in self.working_hours.all():
            hours.setdefault(row.weekday, []).append((row.opens, row.closes))
        holidays = Holiday.objects.filter(Q(team=self) | Q(team=None)).values_list(
            "date", flat=True
        )
        return WorkingWeek(self.zone, hours, frozenset(holidays))


class WorkingHours(models.Model):
    """One opening interval of a team's weekday; two on one day make a lunch break. A team
    with none is open round the clock."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"), help_text=_("00:00 means midnight."))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["team", "weekday", "opens"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.closes != time(0) and self.closes <= self.opens:
            raise ValidationError({"closes": _("Closing comes after opening.")})


class Holiday(models.Model):
    """A closed day: for one team, or for every team when no team is set."""

    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holidays",
        help_text=_("Empty: a holiday for every team."),
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()
