"""Splitting contacts and companies that several sales teams shared into one per team.

Before migration 0005 a Contact (and a Company) was matched across all teams, so one row could
carry deals of several sales teams and fields that different teams' leads filled in. The
migration calls `split_by_team` with its historical models; tests call it with the real ones.

The rules, for a contact whose deals belong to several teams:
- the team of its earliest deal keeps the row (that team's lead created it); every other team
  gets a copy, and its deals are moved to that copy — no deal loses its contact;
- each team's row keeps a value (name, phone, e-mail, current company) unless it is *foreign*
  to the team: found on another team's leads and on none of this team's. A foreign name is
  replaced by the team's earliest lead's name, a foreign phone or e-mail by the team's own
  (when no other contact of the team holds it) or left blank, a foreign company by the company
  of the team's latest deal that had one. A value no lead carries (typed in the admin) stays.
Companies are then split the same way: the team of the earliest deal (else contact) using one
keeps it, every other team gets a copy spelled as its own lead spelled it, and that team's deals
and contacts point to the copy."""

from dataclasses import dataclass

from django.db.models import F, Model, OuterRef, Subquery


@dataclass
class SplitReport:
    """What a run did: rows found shared, copies made, deals moved to a copy."""

    contacts_split: int = 0
    contacts_made: int = 0
    companies_split: int = 0
    companies_made: int = 0
    deals_moved: int = 0


def split_by_team(Contact: type[Model], Company: type[Model], Deal: type[Model]) -> SplitReport:
    """Give every contact and company the one team that may see it. `Contact`, `Company` and
    `Deal` are model classes: the migration's historical ones, or the real ones in tests."""
    report = SplitReport()
    _give_rows_their_first_team(Contact, Company, Deal)
    for contact_id in _shared_ids(Deal, "contact"):
        _split_contact(Contact, Deal, Contact._default_manager.get(pk=contact_id), report)
    for company_id in _shared_company_ids(Company, Contact, Deal):
        _split_company(Company, Contact, Deal, Company._default_manager.get(pk=company_id), report)
    return report


def _give_rows_their_first_team(Contact, Company, Deal) -> None:
    """Set-based, so that the usual case — a row only one team used — costs one UPDATE."""
    deals = Deal.objects.order_by("id").values("team")
    Contact.objects.filter(team=None).update(
        team=Subquery(deals.filter(contact=OuterRef("pk"))[:1])
    )
    Company.objects.filter(team=None).update(
        team=Subquery(deals.filter(company=OuterRef("pk"))[:1])
    )
    contacts = Contact.objects.exclude(team=None).order_by("id").values("team")
    Company.objects.filter(team=None).update(
        team=Subquery(contacts.filter(company=OuterRef("pk"))[:1])
    )


def _shared_ids(Deal, link: str) -> list[int]:
    """Contacts (or companies) used by a deal of another team than the row's own."""
    return sorted(
        set(
            Deal.objects.exclude(**{f"{link}__team": None})
            .exclude(**{f"{link}__team": F("team")})
            .values_list(link, flat=True)
        )
    )


def _shared_company_ids(Company, Contact, Deal) -> list[int]:
    ids = set(_shared_ids(Deal, "company"))
    ids |= set(
        Contact.objects.exclude(company=None)
        .exclude(team=None)
        .exclude(company__team=F("team"))
        .values_list("company", flat=True)
    )
    return sorted(ids)


def _split_contact(Contact, Deal, contact, report: SplitReport) -> None:
    rows = list(
        Deal.objects.filter(contact=contact)
        .order_by("id")
        .values("id", "team_id", "company_id", "lead__name", "lead__phone", "lead__email")
    )
    teams = list(dict.fromkeys(row["team_id"] for row in rows))
    if contact.team_id not in teams:  # only a row out of step: give it its first deal's team
        contact.team_id = teams[0]
        contact.save(update_fields=["team"])
    report.contacts_split += 1
    original = {f: getattr(contact, f) for f in ("name", "phone", "email", "company_id")}
    for team_id in teams:
        own = [row for row in rows if row["team_id"] == team_id]
        other = [row for row in rows if row["team_id"] != team_id]
        target = contact if team_id == contact.team_id else Contact(team_id=team_id)
        _rebuild(Contact, target, original, own, other)
        if target.pk is None:
            target.save()
            Contact.objects.filter(pk=target.pk).update(created_at=contact.created_at)
            moved = Deal.objects.filter(contact=contact, team_id=team_id).update(contact=target)
            report.contacts_made += 1
            report.deals_moved += moved
        else:
            target.save(update_fields=["name", "phone", "email", "company_id"])


def _rebuild(Contact, target, original: dict, own: list[dict], other: list[dict]) -> None:
    def foreign(value, key: str) -> bool:
        return (
            bool(value) and value not in {r[key] for r in own} and value in {r[key] for r in other}
        )

    name = original["name"]
    target.name = own[0]["lead__name"] if foreign(name, "lead__name") else name
    for attr in ("phone", "email"):
        value = original[attr]
        if foreign(value, f"lead__{attr}"):
            value = ""
        if not value:
            value = _free_value(Contact, target, attr, [r[f"lead__{attr}"] for r in own])
        setattr(target, attr, value)
    company = original["company_id"]
    if foreign(company, "company_id"):
        with_company = [r["company_id"] for r in own if r["company_id"]]
        company = with_company[-1] if with_company else None
    target.company_id = company


def _free_value(Contact, target, attr: str, candidates: list[str]) -> str:
    """The team's own first phone (or e-mail) that no other contact of the team holds."""
    for value in candidates:
        if value and not (
            Contact.objects.filter(team_id=target.team_id, **{attr: value})
            .exclude(pk=target.pk)
            .exists()
        ):
            return value
    return ""


def _split_company(Company, Contact, Deal, company, report: SplitReport) -> None:
    deals = list(
        Deal.objects.filter(company=company).order_by("id").values("team_id", "lead__company_name")
    )
    teams = dict.fromkeys(row["team_id"] for row in deals)
    teams.update(
        dict.fromkeys(
            Contact.objects.filter(company=company)
            .exclude(team=None)
            .values_list("team_id", flat=True)
        )
    )
    if company.team_id not in teams:
        company.team_id = next(iter(teams))
        company.save(update_fields=["team"])
    report.companies_split += 1
    for team_id in teams:
        if team_id == company.team_id:
            continue
        spelled = [
            " ".join(row["lead__company_name"].split())
            for row in deals
            if row["team_id"] == team_id
        ]
        own = [name for name in spelled if name.lower() == company.name.lower()]
        copy = Company.objects.create(team_id=team_id, name=own[0] if own else company.name)
        Company.objects.filter(pk=copy.pk).update(created_at=company.created_at)
        Deal.objects.filter(company=company, team_id=team_id).update(company=copy)
        Contact.objects.filter(company=company, team_id=team_id).update(company=copy)
        report.companies_made += 1
