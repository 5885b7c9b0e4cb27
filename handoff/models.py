from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.teams.models import Team
from deals.models import Deal
from leads.models import Lead


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
