from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField

from crm.teams.models import Team
from leads.models import Lead


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="company_name_unique")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person, kept once across all their leads and deals, matched by phone or e-mail.
    `company` is where they work now; each deal keeps the company it was made with."""

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
            # Unique so that two conversions of the same person at once cannot make two contacts.
            models.UniqueConstraint(
                fields=["phone"], condition=~Q(phone=""), name="contact_phone_unique"
            ),
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="contact_email_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


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
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")

    def __str__(self) -> str:
        return f"{self.contact} — {self.team}"
