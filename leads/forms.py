from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.lib.phones import international, normalise_phone
from crm.teams.models import Team
from leads import channels
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
    phone = forms.CharField(label=_("Phone"), max_length=60, required=False)
    phone_kind = forms.ChoiceField(
        label=_("Kind"),
        choices=channels.Label.choices,
        required=False,
        initial=channels.Label.MOBILE,
    )
    phone2 = forms.CharField(label=_("Another phone"), max_length=60, required=False)
    phone2_kind = forms.ChoiceField(
        label=_("Kind"), choices=channels.Label.choices, required=False, initial=channels.Label.WORK
    )
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    email2 = forms.CharField(label=_("Another e-mail"), max_length=254, required=False)
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
        phones = [
            (name, data.get(name, ""), data.get(f"{name}_kind", ""), "")
            for name in ("phone", "phone2")
            if data.get(name)
        ]
        emails = [(name, data.get(name, ""), "") for name in ("email", "email2") if data.get(name)]
        return _with_points(self, data, phones, emails)


def _with_points(form: forms.Form, data: dict, phones: list, emails: list) -> dict:
    """The form's phones and e-mails parsed by the intake's rules (`leads.channels`) into
    `points`; a bad one is an error on its own field, and none at all a form error."""
    points, notes, errors, _problems = channels.clean_points(phones, emails)
    for name, messages in errors.items():
        form.add_error(name, messages)
    if not points and not errors:
        raise ValidationError(_("Enter a phone or an e-mail, so the lead can be reached."))
    data["points"], data["notes"] = points, notes
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
    """The person's details as corrected on the call: every phone (with its kind and
    extension) and every e-mail (with its kind), one row each and an empty row to add one."""

    name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)

    def __init__(self, data=None, *, points=(), **kwargs) -> None:
        # Its own ids: the page has other forms.
        super().__init__(data, auto_id="contact_%s", **kwargs)
        points = list(points)
        phones = [p for p in points if p.kind == channels.PHONE]
        emails = [p for p in points if p.kind == channels.EMAIL]
        if data is not None:  # as many rows as were posted
            phone_rows = _rows_posted(data, "phone")
            email_rows = _rows_posted(data, "email")
        else:
            phone_rows, email_rows = len(phones) + 1, len(emails) + 1
        for i in range(phone_rows):
            point = phones[i] if i < len(phones) else None
            self.fields[f"phone_{i}"] = forms.CharField(
                label=_("Phone %(number)d") % {"number": i + 1},
                max_length=60,
                required=False,
                initial=point and channels_typed(point),
            )
            self.fields[f"phone_{i}_kind"] = forms.ChoiceField(
                label=_("Kind"),
                choices=channels.Label.choices,
                required=False,
                initial=point.label if point else channels.Label.MOBILE,
            )
            self.fields[f"phone_{i}_ext"] = forms.CharField(
                label=_("Ext."), max_length=20, required=False, initial=point and point.ext
            )
        for i in range(email_rows):
            point = emails[i] if i < len(emails) else None
            self.fields[f"email_{i}"] = forms.CharField(
                label=_("E-mail %(number)d") % {"number": i + 1},
                max_length=254,
                required=False,
                initial=point and point.value,
            )
            self.fields[f"email_{i}_kind"] = forms.ChoiceField(
                label=_("Kind"),
                choices=channels.Label.choices,
                required=False,
                initial=point.label if point else channels.Label.WORK,
            )

    def clean(self) -> dict:
        data = cast(dict[str, Any], super().clean())  # Form.clean answers its cleaned_data
        phones = [
            (name, data[name], data.get(f"{name}_kind", ""), data.get(f"{name}_ext", ""))
            for name in self.fields
            if _is_row(name, "phone") and data.get(name)
        ]
        emails = [
            (name, data[name], data.get(f"{name}_kind", ""))
            for name in self.fields
            if _is_row(name, "email") and data.get(name)
        ]
        data = _with_points(self, data, phones, emails)
        data["phones"] = [(typed, kind, ext) for _name, typed, kind, ext in phones]
        data["emails"] = [(typed, kind) for _name, typed, kind in emails]
        return data

    def changes(self) -> dict:
        """The service's arguments: name, company, phones and e-mails."""
        data = self.cleaned_data
        return {k: data[k] for k in ("name", "company_name", "phones", "emails")}


def channels_typed(point: channels.Point) -> str:
    """A phone as the edit box shows it: as a person reads it (+7 916 123-45-67)."""
    return international(point.value)


def _is_row(name: str, kind: str) -> bool:
    prefix, _sep, number = name.partition("_")
    return prefix == kind and number.isdigit()


# A posted form may hold at most this many phones (and as many e-mails).
MAX_ROWS = 20


def _rows_posted(data, kind: str) -> int:
    numbers = [int(k.split("_")[1]) for k in data if _is_row(k, kind)]
    return min(max(numbers, default=-1) + 1, MAX_ROWS)
