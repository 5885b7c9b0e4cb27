from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from deals.models import LossReason

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MeetingForm(forms.Form):
    at = forms.DateTimeField(label=_("Site visit at"), widget=DATETIME)
    address = forms.CharField(label=_("Address"), max_length=300)


class WinForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Contract amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )


class LoseForm(forms.Form):
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=LossReason.objects.filter(active=True),
        error_messages={"required": _("Choose why the deal was lost.")},
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs["auto_id"] = "lose_%s"
        super().__init__(*args, **kwargs)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs) -> None:
        kwargs["auto_id"] = "note_%s"
        super().__init__(*args, **kwargs)


class SlotsForm(forms.Form):
    """A closer's free time: one day split into visits of a given length."""

    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    visit_minutes = forms.IntegerField(
        label=_("Visit length, minutes"), min_value=30, max_value=480, initial=120
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end comes after the start."))
        return data
