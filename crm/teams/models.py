import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


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
