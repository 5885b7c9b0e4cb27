from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    name = "telephony"
    verbose_name = _("Telephony")

    def ready(self) -> None:
        # Leads cannot see calls: a qualifier's hand-logged call asks this app whether the PBX
        # already wrote its attempt (one call, one attempt).
        from leads.services import register_pbx_attempt_finder
        from telephony.services import pbx_attempt_of_hand_log

        register_pbx_attempt_finder(pbx_attempt_of_hand_log)
