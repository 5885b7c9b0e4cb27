from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_delete, post_save

        from crm.teams.models import Team
        from leads import alerts  # noqa: F401 - registers the lead's deadline kinds
        from leads.models import LeadSource
        from leads.selectors import forget_intake_sources

        for model in (LeadSource, Team):
            post_save.connect(forget_intake_sources, sender=model)
            post_delete.connect(forget_intake_sources, sender=model)
        connection_created.connect(register_sqlite_functions)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """The search's fold (leads.search.Folded) on SQLite, whose LOWER knows ASCII only."""
    if connection.vendor == "sqlite":
        from leads.search import fold

        connection.connection.create_function("crm_fold", 1, fold, deterministic=True)
