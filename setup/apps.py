from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SetupConfig(AppConfig):
    """The product's Settings pages: criteria, reasons, sources, teams. No models of its own:
    it edits the rows of the apps that own them, so it sits above them all."""

    name = "setup"
    verbose_name = _("Settings")
