"""A team's cloud PBX, who answers on which extension, and the calls the PBX reported."""

import secrets

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.teams.models import Team
from leads.models import ContactAttempt, Lead


def new_url_key() -> str:
    return secrets.token_urlsafe(24)


def recordings_storage() -> Storage:
    """STORAGES["recordings"]: a private folder under MEDIA_ROOT, or an S3 bucket (README)."""
    return storages["recordings"]


class PbxConnection(models.Model):
    class Provider(models.TextChoices):
        MANGO = "mango", _("Mango Office")
        ZADARMA = "zadarma", _("Zadarma")
        GENERIC = "generic", _("Generic JSON (Asterisk, FreeSWITCH)")

    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="pbx_connections"
    )
    provider = models.CharField(_("PBX"), max_length=10, choices=Provider.choices)
    # The secret part of the address the PBX posts its events to.
    url_key = models.CharField(_("address key"), max_length=64, unique=True, default=new_url_key)
    api_key = models.CharField(
        _("API key"), max_length=200, blank=True, help_text=_("Mango: vpbx_api_key. Zadarma: key.")
    )
    api_secret = models.CharField(
        _("API secret"),
        max_length=200,
        help_text=_("Mango: the salt. Zadarma: the secret. Generic: the HMAC secret."),
    )
    api_url = models.URLField(
        _("API address"), blank=True, help_text=_("Where commands go; empty: the vendor's own.")
    )
    numbers = models.TextField(
        _("numbers"),
        blank=True,
        help_text=_("The team's numbers and lines on this PBX, one a line."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("PBX connection")
        verbose_name_plural = _("PBX connections")

    def __str__(self) -> str:
        return f"{self.get_provider_display()} · {self.team}"


class Extension(models.Model):
    connection = models.ForeignKey(
        PbxConnection, on_delete=models.CASCADE, related_name="extensions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE
    )
    extension = models.CharField(_("extension"), max_length=20)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "extension"], name="extension_once_per_pbx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.extension} · {self.user}"


class Call(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "in", _("inbound")
        OUTBOUND = "out", _("outbound")

    class State(models.TextChoices):
        RINGING = "ringing", _("ringing")
        TALKING = "talking", _("talking")
        ENDED = "ended", _("ended")

    connection = models.ForeignKey(PbxConnection, on_delete=models.PROTECT, related_name="calls")
    pbx_call_id = models.CharField(_("PBX call id"), max_length=100)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    # E.164 when it reads as a phone, else as the PBX sent it (an anonymous caller).
    customer_number = models.CharField(_("customer number"), max_length=40, blank=True)
    line = models.CharField(_("line dialled"), max_length=40, blank=True)
    extension = models.CharField(_("extension"), max_length=20, blank=True)
    lead = models.ForeignKey(
        Lead, verbose_name=_("lead"), null=True, blank=True, on_delete=models.SET_NULL
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    started_at = models.DateTimeField(_("started at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    talk_s = models.PositiveIntegerField(_("talk, seconds"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=20, blank=True, choices=ContactAttempt.Outcome.choices
    )
    # An inbound call nobody of ours answered: the customer is waiting for a call back.
    missed = models.BooleanField(_("missed"), default=False)
    recording_id = models.CharField(_("recording id"), max_length=200, blank=True)
    # The generic PBX says where its recording is; Mango and Zadarma are asked by the id.
    recording_url = models.URLField(_("recording address"), max_length=500, blank=True)
    # The file's name in STORAGES["recordings"], looked up each time (not a FileField, whose
    # storage is fixed when the model loads); empty until fetched and after it is deleted.
    recording = models.CharField(_("recording file"), max_length=300, blank=True)
    recording_fetched_at = models.DateTimeField(_("recording fetched at"), null=True, blank=True)
    # Set when the retention sweep deleted the file: the call stays, the file is gone.
    recording_deleted_at = models.DateTimeField(_("recording deleted at"), null=True, blank=True)
    # The qualifier also logged this call by hand (before or after the PBX's end), and that
    # entry and the attempt are one: a later hand entry is another call.
    hand_logged = models.BooleanField(_("also logged by hand"), default=False)
    # The attempt the call wrote, or the one the qualifier logged by hand that it completed.
    attempt = models.OneToOneField(
        ContactAttempt,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call",
    )

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.UniqueConstraint(fields=["connection", "pbx_call_id"], name="call_once_per_pbx"),
        ]

    def __str__(self) -> str:
        return f"{self.pbx_call_id} · {self.get_state_display()}"
