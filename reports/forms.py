from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.periods import Period

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_DAYS = 400


class PeriodForm(forms.Form):
    """The report's period, in whole days; the last 30 days by default."""

    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"] - timedelta(days=29)
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The period must start before it ends."))
        if (data["date_to"] - data["date_from"]).days >= MAX_DAYS:
            raise forms.ValidationError(
                _("Choose a period of at most %(days)d days.") % {"days": MAX_DAYS}
            )
        return data

    def period(self, zone) -> Period:
        return Period(self.cleaned_data["date_from"], self.cleaned_data["date_to"], zone)

    @classmethod
    def from_query(cls, query) -> "PeriodForm":
        """Accepts ?from=&to= (the API's names) as well as the form's own."""
        data = {
            "date_from": query.get("date_from") or query.get("from", ""),
            "date_to": query.get("date_to") or query.get("to", ""),
        }
        return cls(data)
