from django import forms
from django.utils.translation import gettext_lazy as _

from leads.models import Lead


class ConvertForm(forms.Form):
    sales_team = forms.ModelChoiceField(
        label=_("Hand off to"),
        queryset=None,
        error_messages={
            "required": _("Choose a sales team this team hands off to."),
            "invalid_choice": _("Choose a sales team this team hands off to."),
        },
    )

    def __init__(self, *args, lead: Lead, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sales_team"].queryset = lead.team.receiving_sales_teams()
