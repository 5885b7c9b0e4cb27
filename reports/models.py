from django.db import models
from django.utils.translation import gettext_lazy as _


class LeaderboardWeights(models.Model):
    """Points per successful action on the leaderboard, set by the admin (one row)."""

    reached_call = models.PositiveIntegerField(_("a reached call of 30 s or more"), default=1)
    checked_lead = models.PositiveIntegerField(_("a lead checked"), default=2)
    conversion = models.PositiveIntegerField(_("a conversion not disputed away"), default=5)
    won_deal = models.PositiveIntegerField(_("a won deal"), default=10)

    class Meta:
        verbose_name = _("leaderboard points")
        verbose_name_plural = _("leaderboard points")

    def __str__(self) -> str:
        return str(_("Leaderboard points"))

    @classmethod
    def current(cls) -> "LeaderboardWeights":
        return cls.objects.order_by("pk").first() or cls()
