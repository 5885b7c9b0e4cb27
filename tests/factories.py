from datetime import datetime

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from crm.teams.models import Role, Team
from leads import services
from leads.models import Criterion, CriterionOption, JunkReason, Lead, LeadSource


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Anna"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def role(self, create: bool, role: str | None, **kwargs) -> None:
        if role:
            self.groups.add(Group.objects.get_or_create(name=role)[0])
        self.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    kind = Team.Kind.QUALIFICATION


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadSource
        django_get_or_create = ["slug"]

    name = "Website form"
    slug = "website"
    channel = LeadSource.Channel.WEB_FORM


class JunkReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JunkReason
        django_get_or_create = ["slug"]

    name = "Spam"
    slug = "spam"


def make_lead(team: Team, *, now: datetime | None = None, **fields) -> Lead:
    defaults = {"name": "Иван Петров", "phone": "+79161234567", "source": SourceFactory()}
    defaults.update(fields)
    return services.lead_create(team=team, now=now or timezone.now(), **defaults)


def make_criterion(slug: str = "kitchen-type", **fields) -> Criterion:
    """A choice criterion: custom is good, modular knocks the lead out."""
    defaults = {
        "question": "Custom or modular?",
        "kind": Criterion.Kind.CHOICE,
        "required": True,
        "knock_out": True,
        "weight": 3,
    }
    defaults.update(fields)
    criterion = Criterion.objects.create(slug=slug, **defaults)
    if criterion.kind == Criterion.Kind.CHOICE:
        CriterionOption.objects.create(
            criterion=criterion, value="custom", label="Custom", verdict="good"
        )
        CriterionOption.objects.create(
            criterion=criterion, value="modular", label="Modular", verdict="bad"
        )
        CriterionOption.objects.create(
            criterion=criterion, value="undecided", label="Undecided", verdict="neutral"
        )
    return criterion


__all__ = ["Role"]


def make_deal(
    world, *, closer=None, now: datetime | None = None, answers: dict | None = None, **lead_fields
):
    """A lead taken through a call, the answers given, a check and a conversion: its deal."""
    from handoff.services import lead_convert

    world.sales.assignment = "pool"
    world.sales.save()
    now = now or timezone.now()
    lead = make_lead(world.team, now=now, **lead_fields)
    services.lead_attempt_log(lead=lead, by=world.qualifier, outcome="reached", now=now)
    for criterion, value in (answers or {}).items():
        services.lead_answer(
            lead=lead, by=world.qualifier, criterion=criterion, value=value, now=now
        )
    services.lead_check(lead=lead, by=world.qualifier, now=now)
    return lead_convert(lead=lead, by=world.qualifier, closer=closer, now=now).deal


_board_phones = iter(range(10**6))


def make_board_deal(team: Team, qualification: Team, stage: str = "handed_off", **fields):
    """A deal written straight to the database in any open stage, with its lead and contact:
    for the board's tests, which only read deals (make_deal walks the whole way there)."""
    from deals.models import Contact, Deal

    n = next(_board_phones)
    phone = f"+7915{n:07d}"
    lead = make_lead(qualification, name=f"Клиент {n}", phone=phone)
    contact = Contact.objects.create(team=team, name=f"Клиент {n}", phone=phone)
    fields.setdefault("created_at", timezone.now())
    return Deal.objects.create(team=team, lead=lead, contact=contact, stage=stage, **fields)
