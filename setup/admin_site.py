"""Django's admin, for superusers: the product's own tables first, the technical ones (login
throttling, API tokens, deliveries, health beats) after them under "Technical", out of the way.
Everyday settings are the product's Settings pages (`setup/`)."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# Apps whose tables only an operator needs: shown last, each named "Technical: …".
TECHNICAL_APPS = ("axes", "authtoken", "notifications", "health")


class CrmAdminSite(admin.AdminSite):
    site_header = _("CRM — technical administration")
    site_title = _("CRM administration")
    index_title = _("Tables")

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        product = [a for a in apps if a["app_label"] not in TECHNICAL_APPS]
        technical = [a for a in apps if a["app_label"] in TECHNICAL_APPS]
        for app in technical:
            app["name"] = _("Technical: %(name)s") % {"name": app["name"]}
        return product + technical


class CrmAdminConfig(AdminConfig):
    default_site = "setup.admin_site.CrmAdminSite"
