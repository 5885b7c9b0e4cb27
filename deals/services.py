from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q

from crm.teams.models import Team
from deals.models import Company, Contact, Deal
from leads.models import Lead


def company_for_name(name: str) -> Company | None:
    name = " ".join(name.split())
    if not name:
        return None
    company = Company.objects.filter(name__iexact=name).first()
    if company is None:
        try:
            with transaction.atomic():
                company = Company.objects.create(name=name)
        except IntegrityError:  # created by a concurrent conversion a moment ago
            company = Company.objects.get(name__iexact=name)
    return company


def contact_for_lead(lead: Lead, company: Company | None) -> Contact:
    """The lead's person: found by normalised phone, then e-mail, else created. A person who
    moved to another company stays one contact; their current company is updated."""
    phone, email = lead.phone, lead.email
    contact = _contact_matching(phone, email)
    if contact is None:
        try:
            with transaction.atomic():
                return Contact.objects.create(
                    name=lead.name, phone=phone, email=email, company=company
                )
        except IntegrityError:  # the same person converted concurrently
            contact = _contact_matching(phone, email)
    changed = []
    if company is not None and contact.company_id != company.pk:
        contact.company = company
        changed.append("company")
    if email and not contact.email and not Contact.objects.filter(email=email).exists():
        contact.email = email
        changed.append("email")
    if phone and not contact.phone and not Contact.objects.filter(phone=phone).exists():
        contact.phone = phone
        changed.append("phone")
    if changed:
        contact.save(update_fields=changed)
    return contact


def _contact_matching(phone: str, email: str) -> Contact | None:
    if phone:
        contact = Contact.objects.filter(phone=phone).first()
        if contact:
            return contact
    if email:
        return Contact.objects.filter(Q(email=email)).first()
    return None


def deal_create_from_lead(
    *, lead: Lead, team: Team, closer: AbstractBaseUser | None = None, now: datetime
) -> Deal:
    company = company_for_name(lead.company_name)
    contact = contact_for_lead(lead, company)
    return Deal.objects.create(
        team=team, lead=lead, contact=contact, company=company, closer=closer, created_at=now
    )
