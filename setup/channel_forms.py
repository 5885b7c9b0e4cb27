"""The forms of a team's channels: its PBX connection (with each person's extension) and its
sales mailbox. Secrets are written, never shown back: left empty on an edit, the stored one
stays."""

from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from crm.teams.models import Team
from crm.teams.templatetags.people import person
from leads.models import LeadSource, Mailbox
from telephony.models import Extension, PbxConnection

KEEP_SECRET = _("Written, never shown back. Leave it empty to keep the stored one.")
# Without encryption the password crosses the network in clear: only a server on this machine.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _stored_secret(form: forms.ModelForm, field: str, missing: Any) -> str:
    """The secret typed, or the stored one when left empty; `missing` when there is neither."""
    secret = form.cleaned_data.get(field) or getattr(form.instance, field)
    if not secret:
        raise ValidationError(missing)
    return secret


class PbxConnectionForm(forms.ModelForm):
    api_secret = forms.CharField(
        label=_("API secret"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        max_length=200,
        help_text=_("Mango: the salt. Zadarma: the secret. Generic: the HMAC secret.")
        + " "
        + KEEP_SECRET,
    )
    api_url = forms.URLField(
        label=_("API address"),
        required=False,
        assume_scheme="https",
        help_text=_("Where commands go; empty: the vendor's own."),
    )

    class Meta:
        model = PbxConnection
        fields = ["team", "provider", "api_key", "api_secret", "api_url", "numbers", "active"]
        widgets = {"numbers": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams

    def clean_api_secret(self) -> str:
        return _stored_secret(self, "api_secret", _("Enter the secret the PBX signs with."))

    def clean_numbers(self) -> str:
        lines = (line.strip() for line in self.cleaned_data.get("numbers", "").splitlines())
        return "\n".join(line for line in lines if line)

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # a ModelForm's: its cleaned_data
        signs_with_key = (PbxConnection.Provider.MANGO, PbxConnection.Provider.ZADARMA)
        if data.get("provider") in signs_with_key and not data.get("api_key"):
            self.add_error("api_key", _("Mango and Zadarma need the API key: enter it."))
        return data


class ExtensionForm(forms.ModelForm):
    class Meta:
        model = Extension
        fields = ["user", "extension"]

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = cast(forms.ModelChoiceField, self.fields["user"])
        user.queryset = people
        user.label_from_instance = person  # type: ignore[method-assign,assignment]

    def clean_extension(self) -> str:
        return self.cleaned_data["extension"].strip()


class BaseExtensionFormSet(BaseInlineFormSet):
    """Each person of the connection's team answers on one extension; an extension belongs to
    one person. `team` is the team the connection form chose (set before validating)."""

    team: Team | None = None

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any) -> None:
        self.people = people
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "people": self.people}

    def clean(self) -> None:
        super().clean()
        seen: set[int] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            user = form.cleaned_data.get("user")
            if user is None:
                continue
            if user.pk in seen:
                form.add_error("user", _("This person already has an extension here."))
            seen.add(user.pk)
            if self.team is not None and not self.team.members.filter(pk=user.pk).exists():
                form.add_error(
                    "user",
                    _("%(person)s is not a member of %(team)s.")
                    % {"person": person(user), "team": self.team.name},
                )


ExtensionFormSet = inlineformset_factory(
    PbxConnection,
    Extension,
    form=ExtensionForm,
    formset=BaseExtensionFormSet,
    extra=1,
    can_delete=True,
)


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        required=False,
        max_length=200,
        help_text=KEEP_SECRET,
    )

    class Meta:
        model = Mailbox
        fields = ["team", "source", "host", "port", "security", "username", "password"]
        fields += ["folder", "enabled"]

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        sources = LeadSource.objects.filter(team__in=teams).order_by("name")
        cast(forms.ModelChoiceField, self.fields["source"]).queryset = sources

    def clean_port(self) -> int:
        port = self.cleaned_data["port"]
        if not 1 <= port <= 65535:
            raise ValidationError(_("A port is a number from 1 to 65535 (IMAP: 993, or 143)."))
        return port

    def clean_password(self) -> str:
        return _stored_secret(self, "password", _("Enter the mailbox's password."))

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # a ModelForm's: its cleaned_data
        host = (data.get("host") or "").strip().lower()
        if data.get("security") == Mailbox.Security.NONE and host and host not in LOCAL_HOSTS:
            self.add_error(
                "security",
                _(
                    "Without encryption the password crosses the network in clear: choose "
                    "SSL/TLS or STARTTLS (none is for a server on this machine)."
                ),
            )
        return data
