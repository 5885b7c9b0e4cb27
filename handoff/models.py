from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.teams.models import Team
from deals.models import Deal
from leads.models import Criterion, Lead


class Handoff(models.Model):
    """The moment a qualified lead became a sales team's deal: who passed it, to whom, when."""

    lead = models.OneToOneField(Lead, verbose_name=_("lead"), on_delete=models.PROTECT)
    deal = models.OneToOneField(Deal, verbose_name=_("deal"), on_delete=models.PROTECT)
    qualifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("qualifier"),
        on_delete=models.PROTECT,
        related_name="handoffs",
    )
    from_team = models.ForeignKey(
        Team, verbose_name=_("qualification team"), on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("sales team"), on_delete=models.PROTECT, related_name="handoffs"
    )
    handed_off_at = models.DateTimeField(_("handed off at"), db_index=True)

    class Meta:
        verbose_name = _("handoff")
        verbose_name_plural = _("handoffs")

    def __str__(self) -> str:
        return f"{self.lead} → {self.team}"


class Dispute(models.Model):
    """A closer's claim that a handoff was bad, and the sales head's ruling on it. Upheld: the
    qualification was wrong (it counts against the qualifier and the deal is returned).
    Rejected: the lead was good (it counts against the closer, who keeps the deal)."""

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("upheld")
        REJECTED = "rejected", _("rejected")

    deal = models.OneToOneField(
        Deal, verbose_name=_("deal"), on_delete=models.PROTECT, related_name="dispute"
    )
    handoff = models.OneToOneField(Handoff, on_delete=models.PROTECT, related_name="dispute")
    criterion = models.ForeignKey(
        Criterion, verbose_name=_("criterion"), on_delete=models.SET_NULL, null=True, blank=True
    )
    # Copied when raised, so the ruling reads what was disputed even if the criterion changes.
    criterion_question = models.CharField(_("criterion"), max_length=200)
    claim = models.TextField(_("closer's claim"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("filed at"), db_index=True)
    qualifier_comment = models.TextField(_("qualifier's comment"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    resolution_note = models.TextField(_("ruling"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        indexes = [
            models.Index(fields=["raised_at"], condition=models.Q(outcome=""), name="dispute_open")
        ]

    def __str__(self) -> str:
        return f"{self.deal}: {self.criterion_question}"

    @property
    def is_open(self) -> bool:
        return not self.outcome
