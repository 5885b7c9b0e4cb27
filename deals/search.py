"""Search across leads, deals and contacts (issue 16.1): the query read once by
`leads.search.parse_query`, each kind matched by its own expressions, each scoped by the
selector every page of it uses — a qualifier finds their teams' leads in every state, a closer
their sales teams' deals and contacts, a head their teams', an admin all.

A contact matches by any of its phones and e-mails (`ContactPoint`), or when every word is in
its name and primary e-mail, or every word in its company's name (words as a lead's:
`leads.search.words_match`, a word-prefix match). A deal matches through its contact, or its
company's name. On PostgreSQL the points are a trigram index (migration `deals 0011`), the
contact's and the company's words full-text indexes (`deals 0012`)."""

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from crm import access
from crm.lib.phones import international
from deals.models import Company, Contact, ContactPoint, Deal
from deals.selectors import contacts_visible_to, deals_visible_to
from leads import search
from leads.models import Lead, LeadContactPoint
from leads.search import Hit, Query
from leads.selectors import lead_team_ids, leads_visible_to

CONTACT_TEXT_FIELDS = ("name", "email")
COMPANY_TEXT_FIELDS = ("name",)


def company_match(companies: QuerySet[Company], query: Query) -> QuerySet[Company]:
    return search.words_match(companies, COMPANY_TEXT_FIELDS, query)


def contact_parts(contacts: QuerySet[Contact], query: Query) -> list[QuerySet[Contact]]:
    """The contacts the query matches, as one queryset per index it reads (their union is the
    match): an OR across two indexes would scan the table instead."""
    if query.kind != search.WORDS:
        points = ContactPoint.objects.filter(search.points_q(query)).values("contact_id")
        return [contacts.filter(id__in=points)]
    companies = company_match(Company.objects.all(), query).values("id")
    return [
        search.words_match(contacts, CONTACT_TEXT_FIELDS, query),
        contacts.filter(company__in=companies),
    ]


def deal_parts(deals: QuerySet[Deal], query: Query) -> list[QuerySet[Deal]]:
    """The deals the query matches through their contact, or (words) their company."""
    parts = [
        deals.filter(contact__in=contact.values("id"))
        for contact in contact_parts(Contact.objects.all(), query)[:1]
    ]
    if query.kind == search.WORDS:
        parts.append(deals.filter(company__in=company_match(Company.objects.all(), query)))
    return parts


# Up to this many matching contacts (or companies), a deal search names them, and their deals
# are read by the deals' contact and company indexes and sorted; more (a common surname), and
# they stay a subquery (a hashed set), so that the newest deals are walked in arrival order
# (`deal_arrival`, deals 0015), each checked against the matches, until a page is found:
# sorting them all read every match's deal.
FEW_MATCHES = 1000


def deal_q(query: Query) -> Q:
    """The deals the query matches (`deal_parts`' union) as a condition on the deal's own
    columns: its contact among the contacts matched by phone, e-mail or words, or (words) its
    company among the companies matched by name."""
    contacts = contact_parts(Contact.objects.all(), query)[0].values_list("id", flat=True)
    match = Q(contact__in=_few_listed(contacts))
    if query.kind == search.WORDS:
        companies = company_match(Company.objects.all(), query).values_list("id", flat=True)
        match |= Q(company__in=_few_listed(companies))
    return match


def _few_listed(ids: QuerySet) -> QuerySet | list[int]:
    """The ids as a list when there are at most `FEW_MATCHES`, else the subquery itself."""
    found = list(ids[: FEW_MATCHES + 1])
    return found if len(found) <= FEW_MATCHES else ids


@dataclass
class Group:
    hits: list[Hit] = field(default_factory=list)
    more: bool = False  # more matched than are shown


@dataclass
class Results:
    query: Query
    leads: Group | None  # None: the user sees no leads (their role has none)
    deals: Group | None
    contacts: Group | None

    @property
    def empty(self) -> bool:
        return not any(g.hits for g in (self.leads, self.deals, self.contacts) if g)


def search_all(
    user: User, query: Query, limit: int = search.LIMIT, menu: dict[str, bool] | None = None
) -> Results:
    """The newest `limit` leads, deals and contacts of each kind the user may see (`menu`:
    `crm.access.menu(user)` when the caller has it already)."""
    menu = menu if menu is not None else access.menu(user)
    leads = deals = contacts = None
    if menu["queue"]:  # works_leads
        leads = _leads(user, query, limit)
    if menu["deals"]:  # works_deals
        deals = _deals(user, query, limit)
        contacts = _contacts(user, query, limit)
    return Results(query, leads, deals, contacts)


def _leads(user: User, query: Query, limit: int) -> Group:
    leads = leads_visible_to(user)
    if query.kind == search.WORDS:  # may match thousands (a common surname): latest first
        # An admin sees every team: no team to narrow the words' read to.
        teams = None if access.is_admin(user) else lead_team_ids(user)
        found, more = search.newest_recent(leads, query, limit, teams)
    else:  # a phone or an e-mail matches a few
        found, more = search.newest(search.lead_match(leads, query).select_related("team"), limit)
    points: dict[int, list] = {}
    if query.kind != search.WORDS and found:
        for point in LeadContactPoint.objects.filter(lead__in=found):
            points.setdefault(point.lead_id, []).append(point)
    return Group([_lead_hit(lead, query, points.get(lead.pk, [])) for lead in found], more)


def _lead_hit(lead: Lead, query: Query, points: list) -> Hit:
    if query.kind == search.WORDS:
        fields = [("name", lead.name), ("company", lead.company_name), ("email", lead.email)]
        return search.text_hit(lead, query, fields)
    return _point_hit(lead, query, points)


def _point_hit(obj: object, query: Query, points: list) -> Hit:
    point = search.matched_point(query, points)
    key = "phone" if query.kind == search.PHONE else "email"
    shown = point.value if point is not None else ""
    if shown and key == "phone":
        shown = international(shown)
    return Hit(obj, key, str(search.FIELD_NAMES[key]), shown, query)


def _contacts(user: User, query: Query, limit: int) -> Group:
    parts = contact_parts(contacts_visible_to(user), query)
    found, more = search.newest_of(parts, limit, ("company", "team"))
    return Group(_person_hits(found, query, "pk"), more)


def _deals(user: User, query: Query, limit: int) -> Group:
    parts = deal_parts(deals_visible_to(user), query)
    found, more = search.newest_of(parts, limit, ("contact", "company", "team", "closer"))
    return Group(_person_hits(found, query, "contact_id"), more)


def _person_hits(rows: list, query: Query, contact_attr: str) -> list[Hit]:
    """Hits for contacts (contact_attr "pk") or deals ("contact_id"): what matched in the
    contact, or in the company."""
    points: dict[int, list] = {}
    ids = [getattr(row, contact_attr) for row in rows]
    if query.kind != search.WORDS and ids:
        for point in ContactPoint.objects.filter(contact_id__in=ids):
            points.setdefault(point.contact_id, []).append(point)
    hits = []
    for row in rows:
        contact = row if contact_attr == "pk" else row.contact
        if query.kind != search.WORDS:
            hits.append(_point_hit(row, query, points.get(contact.pk, [])))
            continue
        company = row.company.name if row.company else ""
        fields = [("name", contact.name), ("email", contact.email), ("company", company)]
        hits.append(search.text_hit(row, query, fields))
    return hits
