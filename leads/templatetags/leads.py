from datetime import datetime

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.lib.phones import international, tel_uri
from leads.alerts import sla_state
from leads.models import Lead
from leads.search import Query, highlight_spans

register = template.Library()


@register.filter
def due_in(due_at: datetime, now: datetime) -> str:
    """ "in 12 min" / "5 min late": what a qualifier needs at a glance."""
    minutes = int((due_at - now).total_seconds() // 60)
    if minutes >= 0:
        return _("in %(time)s") % {"time": _span(minutes)}
    return _("%(time)s late") % {"time": _span(-minutes)}


def _span(minutes: int) -> str:
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    if minutes < 48 * 60:
        return _("%(h)d h %(m)d min") % {"h": minutes // 60, "m": minutes % 60}
    days = minutes // (24 * 60)
    return ngettext("%(d)d day", "%(d)d days", days) % {"d": days}


@register.filter
def sla_status(lead: Lead, now: datetime) -> str:
    """The row colour, from the lead's SLA state (leads.alerts.sla_state, as "SLA now" reads
    it): sla-ok, sla-warn, sla-breach or sla-stopped."""
    status = sla_state(lead, now).status
    return "sla-warn" if status == "warning" else f"sla-{status}"


@register.filter
def claim_lapsed(lead: Lead, now: datetime) -> bool:
    return lead.assignee_id is not None and not lead.claim_active(now)


@register.filter
def state_label(value: str) -> str:
    """A state as the reader's language names it, for event rows that store the raw value."""
    return str(Lead.State(value).label) if value in Lead.State.values else value


register.filter("phone", international)
register.filter("tel_uri", tel_uri)


@register.filter
def contact_fields(note: str) -> str:
    """A contact-change event's note (field names, never values) as the reader's labels."""
    labels = {field.name: field.verbose_name for field in Lead._meta.fields}
    labels["phone2"] = _("second phone")  # events written before the phones became points
    return ", ".join(str(labels.get(name, name)) for name in note.split(",") if name)


@register.filter
def highlight(value: str, query: Query) -> str:
    """The value with what the search query matched in <mark> (leads.search.highlight_spans),
    every piece escaped."""
    return mark_safe(  # noqa: S308 - every piece is escaped here
        "".join(
            format_html("<mark>{}</mark>", piece) if marked else conditional_escape(piece)
            for piece, marked in highlight_spans(query, str(value or ""))
        )
    )
