from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.lib.phones import normalise_phone
from crm.teams.models import Team
from leads.imports import check_source, sources_for
from leads.models import ContactAttempt, Criterion, JunkReason, LeadSource
from leads.scoring import judge


class PhoneField(forms.CharField):
    """A phone as typed, normalised to E.164."""

    def clean(self, value: str) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            return normalise_phone(value)
        except ValueError:
            raise ValidationError(_("Enter a valid phone number.")) from None


class LeadEntryForm(forms.Form):
    """A lead typed in by hand: a phone call or a walk-in."""

    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    source = forms.ModelChoiceField(label=_("Source"), queryset=LeadSource.objects.none())
    name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    phone = PhoneField(label=_("Phone"), required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    message = forms.CharField(
        label=_("What they asked for"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    save_duplicate = forms.BooleanField(
        label=_("Save anyway, linked to the open lead"), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, teams: list[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = Team.objects.filter(
            pk__in=[t.pk for t in teams]
        )
        if len(teams) == 1:
            self.fields["team"].initial = teams[0]
            self.fields["team"].widget = forms.HiddenInput()
        cast(forms.ModelChoiceField, self.fields["source"]).queryset = sources_for(teams)
        manual = sources_for(teams).filter(channel=LeadSource.Channel.PHONE).first()
        self.fields["source"].initial = manual

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("source") and data.get("team"):
            try:
                check_source(data["source"], data["team"])
            except ValidationError as error:
                self.add_error(None, error)
        if (
            not data.get("phone")
            and not data.get("email")
            and not self.has_error("phone")
            and not self.has_error("email")
        ):
            raise ValidationError(_("Enter a phone or an e-mail, so the lead can be reached."))
        return data


class AttemptForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactAttempt.Outcome.choices)
    duration_s = forms.IntegerField(
        label=_("Duration, seconds"), min_value=0, max_value=6 * 3600, initial=0, required=False
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    callback_at = forms.DateTimeField(
        label=_("Call back at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    check = forms.BooleanField(
        label=_("Check the lead too, if the call reached them and the data are complete"),
        required=False,
    )


class JunkForm(forms.Form):
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=JunkReason.objects.filter(active=True),
        error_messages={"required": _("Choose why this lead is junk.")},
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        # Its own ids: the call form on the same page has a "note" too.
        kwargs["auto_id"] = "junk_%s"
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs["data-shortcut"] = "j"  # j focuses the reason


class AnswersForm(forms.Form):
    """The call script: one field per active criterion, in the admin's order."""

    def __init__(
        self, *args, criteria: list[Criterion], answers: dict[int | None, str], **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = {f"c{c.pk}": c for c in criteria}
        for key, criterion in self.criteria.items():
            self.fields[key] = _field_for(criterion, answers.get(criterion.pk, ""))

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        for key, criterion in self.criteria.items():
            if data.get(key):
                try:
                    judge(criterion, str(data[key]))
                except ValidationError as error:
                    self.add_error(key, error)
        return data

    def given(self) -> list[tuple[Criterion, str]]:
        return [
            (c, str(self.cleaned_data[k]))
            for k, c in self.criteria.items()
            if self.cleaned_data.get(k)
        ]


def _field_for(criterion: Criterion, current: str) -> forms.Field:
    common: dict[str, Any] = {
        "label": criterion.question,
        "required": False,
        "initial": current,
        "help_text": criterion.help_text,
    }
    if criterion.kind == Criterion.Kind.YES_NO:
        return forms.ChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect, **common
        )
    if criterion.kind == Criterion.Kind.CHOICE:
        options = [("", "—")] + [
            (o.value, o.label) for o in criterion.options.all() if not o.archived
        ]
        return forms.ChoiceField(choices=options, **common)
    if criterion.kind == Criterion.Kind.NUMBER:
        return forms.CharField(
            max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common
        )
    return forms.CharField(max_length=500, **common)


class ContactForm(forms.Form):
    """The person's details as corrected on the call; every field may be left empty."""

    name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    phone = PhoneField(label=_("Phone"), max_length=40, required=False)
    phone2 = PhoneField(label=_("Second phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)

    def __init__(self, *args, **kwargs) -> None:
        # Its own ids: the page has other forms.
        kwargs["auto_id"] = "contact_%s"
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if not (data.get("phone") or data.get("email") or self.errors):
            raise ValidationError(_("Enter a phone or an e-mail, so the lead can be reached."))
        return data
