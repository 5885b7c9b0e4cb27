"""Demo data for the kitchen-furniture case: teams, users per role, criteria and ~200 leads in
every state, made through the same services as real work so timelines and scores are real.
Safe to run twice: what exists is kept, leads are only added to an empty team.

`--language ru` (default: the language of settings.LANGUAGE_CODE) writes the data people read —
team names, sources, junk and loss reasons, questions and options — in Russian. Usernames and
every slug (teams are found by either language's name) stay the same in both languages."""

import random
import secrets
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from crm.deadlines.sweep import sweep as sla_sweep
from crm.notifications.models import Notification
from crm.teams.models import Role, Team
from deals import services as deals
from deals.models import LossReason
from handoff import disputes
from handoff.services import lead_convert
from leads import services
from leads.models import ContactAttempt, Criterion, CriterionOption, JunkReason, Lead, LeadSource
from telephony.models import Call, Extension, PbxConnection

PASSWORD = "demo12345"  # noqa: S105 - the demo users' documented password (SPEC)
USERS = [
    # username, first, last, role
    ("qualifier", "Анна", "Смирнова", Role.QUALIFIER),
    ("qualifier2", "Игорь", "Павлов", Role.QUALIFIER),
    ("closer", "Олег", "Кузнецов", Role.CLOSER),
    ("closer2", "Елена", "Морозова", Role.CLOSER),
    ("head", "Дмитрий", "Волков", Role.SALES_HEAD),
]
SOURCES = [
    ("Website form", "website", LeadSource.Channel.WEB_FORM),
    ("Phone call", "phone", LeadSource.Channel.PHONE),
    ("Walk-in", "walk-in", LeadSource.Channel.WALK_IN),
    ("E-mail", "email", LeadSource.Channel.EMAIL),
    ("Exhibition", "exhibition", LeadSource.Channel.EXHIBITION),
    ("Purchased list", "purchased-list", LeadSource.Channel.PURCHASED_LIST),
]
JUNK_REASONS = [
    ("Spam", "spam"),
    ("Wrong number", "wrong-number"),
    ("Not our product (wants a modular kitchen)", "not-our-product"),
    ("No budget", "no-budget"),
    ("Duplicate", "duplicate"),
    ("Unreachable after 3 attempts", "unreachable"),
]


LOSS_REASONS = [
    ("Too expensive", "price"),
    ("Chose a competitor", "competitor"),
    ("Postponed the renovation", "postponed"),
    ("Stopped answering", "no-contact"),
]


# The Russian demo: what a person reads, by the English text. Slugs and values never change.
RUSSIAN = {
    "Call centre": "Колл-центр",
    "Showroom sales": "Продажи в салоне",
    "Website form": "Форма на сайте",
    "Phone call": "Звонок",
    "Walk-in": "Пришёл в салон",
    "E-mail": "Электронная почта",
    "Exhibition": "Выставка",
    "Purchased list": "Купленная база",
    "Spam": "Спам",
    "Wrong number": "Неверный номер",
    "Not our product (wants a modular kitchen)": "Не наш продукт (хочет модульную кухню)",
    "No budget": "Нет бюджета",
    "Duplicate": "Дубль",
    "Unreachable after 3 attempts": "Не дозвонились за 3 попытки",
    "Too expensive": "Слишком дорого",
    "Chose a competitor": "Выбрал конкурента",
    "Postponed the renovation": "Отложил ремонт",
    "Stopped answering": "Перестал отвечать",
    "Custom-made or modular kitchen?": "Кухня на заказ или модульная?",
    "We make custom kitchens only; modular is a knock-out.": (
        "Мы делаем только кухни на заказ; модульная — стоп-фактор."
    ),
    "Custom-made": "На заказ",
    "Modular": "Модульная",
    "Not decided yet": "Ещё не решили",
    "What is the kitchen for?": "Для чего кухня?",
    "New flat": "Новая квартира",
    "Renovation": "Ремонт",
    "Just looking": "Просто присматриваются",
    "Budget, roubles": "Бюджет, рублей",
    "Below 250 000 roubles we cannot make a custom kitchen.": (
        "Дешевле 250 000 рублей кухню на заказ не сделать."
    ),
    "When do they want it installed?": "Когда нужна установка?",
    "Within a month": "В течение месяца",
    "In 1–3 months": "Через 1–3 месяца",
    "In 3–6 months": "Через 3–6 месяцев",
    "Later": "Позже",
    "Are they the one who decides?": "Решение принимает сам клиент?",
}


def person_name(fake: Faker) -> str:
    """Family and given name of one gender ("Бирюкова Мирон" never happens)."""
    if fake.random.random() < 0.5:
        return f"{fake.last_name_female()} {fake.first_name_female()}"
    return f"{fake.last_name_male()} {fake.first_name_male()}"


class Command(BaseCommand):
    help = "Load demo teams, users, criteria and about 200 leads (safe to run twice)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--language",
            choices=["en", "ru"],
            default=None,
            help="Language of the demo's names, reasons and questions "
            "(default: that of settings.LANGUAGE_CODE).",
        )

    def text(self, english: str) -> str:
        return RUSSIAN.get(english, english) if self.language == "ru" else english

    def handle(self, *args, **options) -> None:
        language = options.get("language") or settings.LANGUAGE_CODE.split("-")[0]
        self.language = language if language in ("en", "ru") else "en"
        rng = random.Random(42)  # noqa: S311 - repeatable demo data, not a secret
        with transaction.atomic():
            users = self._users()
            qualification, sales = self._teams(users)
            self._reference_data(qualification)
        self._visit_slots(users)
        if not Lead.objects.filter(team=qualification).exists():
            made = self._leads(rng, qualification, sales, users)
            self.stdout.write(f"Created {made} demo leads.")
        else:
            self.stdout.write("Demo leads already present; left as they are.")
        if not Call.objects.filter(connection__team=qualification).exists():
            made = self._calls(random.Random(17), qualification, users)  # noqa: S311 - demo
            self.stdout.write(f"Created {made} demo calls.")
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}):")
        for username in ("qualifier", "closer", "head", "admin"):
            self.stdout.write(f"  {username} / {PASSWORD}")

    def _visit_slots(self, users: dict[str, User]) -> None:
        """The closers' free time for site visits over the next working week."""
        zone = timezone.get_current_timezone()
        today = timezone.localdate()
        for closer in (users["closer"], users["closer2"]):
            for offset in range(1, 8):
                day = today + timedelta(days=offset)
                if day.weekday() < 5:
                    deals.slots_add(
                        closer=closer, day=day, start=time(10), end=time(18), minutes=120, zone=zone
                    )

    def _users(self) -> dict[str, User]:
        users = {}
        for username, first, last, role in USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            users[username] = user
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(PASSWORD)
            admin.save()
        users["admin"] = admin
        return users

    def _teams(self, users: dict[str, User]) -> tuple[Team, Team]:
        qualification = self._team("Call centre", Team.Kind.QUALIFICATION, users["head"])
        sales = self._team("Showroom sales", Team.Kind.SALES, users["head"])
        qualification.members.add(users["qualifier"], users["qualifier2"])
        sales.members.add(users["closer"], users["closer2"])
        qualification.hands_off_to.add(sales)
        if not qualification.working_hours.exists():
            for weekday in range(5):
                qualification.working_hours.create(weekday=weekday, opens=time(9), closes=time(21))
            qualification.working_hours.create(weekday=5, opens=time(10), closes=time(18))
        return qualification, sales

    def _team(self, english: str, kind: str, manager: User) -> Team:
        """The demo team under its name in either language: a second run in the other language
        finds it instead of making another."""
        team = Team.objects.filter(name__in={english, RUSSIAN[english]}).first()
        return team or Team.objects.create(name=self.text(english), kind=kind, manager=manager)

    def _reference_data(self, team: Team) -> None:
        for name, slug, channel in SOURCES:
            LeadSource.objects.get_or_create(
                slug=slug, defaults={"name": self.text(name), "channel": channel, "team": team}
            )
        for order, (name, slug) in enumerate(JUNK_REASONS):
            JunkReason.objects.get_or_create(
                slug=slug, defaults={"name": self.text(name), "order": order}
            )
        for order, (name, slug) in enumerate(LOSS_REASONS):
            LossReason.objects.get_or_create(
                slug=slug, defaults={"name": self.text(name), "order": order}
            )
        self._criterion(
            "kitchen-type",
            "Custom-made or modular kitchen?",
            Criterion.Kind.CHOICE,
            order=1,
            required=True,
            knock_out=True,
            weight=3,
            help_text="We make custom kitchens only; modular is a knock-out.",
            options=[
                ("custom", "Custom-made", "good"),
                ("modular", "Modular", "bad"),
                ("undecided", "Not decided yet", "neutral"),
            ],
        )
        self._criterion(
            "need",
            "What is the kitchen for?",
            Criterion.Kind.CHOICE,
            order=2,
            weight=2,
            options=[
                ("new-flat", "New flat", "good"),
                ("renovation", "Renovation", "good"),
                ("just-looking", "Just looking", "neutral"),
            ],
        )
        self._criterion(
            "budget",
            "Budget, roubles",
            Criterion.Kind.NUMBER,
            order=3,
            required=True,
            knock_out=True,
            weight=3,
            min_value=250_000,
            help_text="Below 250 000 roubles we cannot make a custom kitchen.",
        )
        self._criterion(
            "timeline",
            "When do they want it installed?",
            Criterion.Kind.CHOICE,
            order=4,
            required=True,
            weight=2,
            options=[
                ("month", "Within a month", "good"),
                ("quarter", "In 1–3 months", "good"),
                ("half-year", "In 3–6 months", "neutral"),
                ("later", "Later", "bad"),
            ],
        )
        self._criterion(
            "decision-maker",
            "Are they the one who decides?",
            Criterion.Kind.YES_NO,
            order=5,
            weight=1,
        )

    def _criterion(self, slug: str, question: str, kind: str, *, options=(), **fields) -> None:
        if "help_text" in fields:
            fields["help_text"] = self.text(fields["help_text"])
        criterion, created = Criterion.objects.get_or_create(
            slug=slug, defaults={"question": self.text(question), "kind": kind, **fields}
        )
        if created:
            for order, (value, label, verdict) in enumerate(options):
                CriterionOption.objects.create(
                    criterion=criterion,
                    value=value,
                    label=self.text(label),
                    verdict=verdict,
                    order=order,
                )

    def _plan(self, rng: random.Random, team: Team, now) -> list[tuple]:
        """(arrival, outcome, quality) of every demo lead, oldest first, over two whole report
        periods (the last 60 days) and today: the earlier 30 days slower and weaker, the last
        30 better, so the report's comparison shows real movement. Most leads arrive in
        working hours, some at night (a web form never closes)."""
        zone = team.zone
        today = timezone.localdate(now, zone)
        plan = []
        for days_ago, count, quality in ((range(31, 61), 80, "before"), (range(1, 31), 90, "now")):
            weights = (
                {"junk": 40, "converted": 22, "checked": 3}
                if quality == "before"
                else {"junk": 30, "converted": 35, "checked": 12}
            )
            for _ in range(count):
                day = today - timedelta(days=rng.choice(days_ago))
                if rng.random() < 0.85:
                    at = time(rng.randint(9, 19), rng.randint(0, 59))
                else:
                    at = time(rng.choice([0, 6, 7, 21, 22, 23]), rng.randint(0, 59))
                arrived = timezone.make_aware(datetime.combine(day, at), zone)
                outcome = rng.choices(list(weights), list(weights.values()))[0]
                plan.append((arrived, outcome, quality))
        # Today's newest leads: waiting for their first call, or called without an answer.
        plan += [(now - timedelta(minutes=rng.randint(0, 600)), "new", "now") for _ in range(30)]
        return sorted(plan, key=lambda item: item[0])

    def _leads(self, rng: random.Random, team: Team, sales: Team, users: dict[str, User]) -> int:
        fake = Faker("ru_RU")
        fake.seed_instance(42)
        sources = list(LeadSource.objects.all())
        reasons = {r.slug: r for r in JunkReason.objects.all()}
        criteria = {c.slug: c for c in Criterion.objects.all()}
        qualifiers = [users["qualifier"], users["qualifier2"]]
        now = timezone.now()
        week = team.working_week()
        plan = self._plan(rng, team, now)
        for arrived, outcome, quality in plan:
            lead = services.lead_create(
                team=team,
                source=rng.choice(sources),
                name=person_name(fake),
                phone=f"+7 9{rng.randint(10, 99)} {rng.randint(1_000_000, 9_999_999)}",
                email=fake.email() if rng.random() < 0.4 else "",
                company_name=fake.company() if rng.random() < 0.2 else "",
                message=rng.choice(
                    [
                        "Нужна кухня на заказ",
                        "Перезвоните, пожалуйста",
                        "Хочу рассчитать стоимость кухни",
                        "",
                    ]
                ),
                now=arrived,
            )
            if outcome == "new" and rng.random() < 0.6:
                continue  # still waiting for the first call
            by = rng.choice(qualifiers)
            # The first call comes in working time: the earlier period slower than the last.
            slowest = 50 if quality == "before" else 22
            called = week.add(arrived, rng.triangular(2, slowest, 6))
            if called > now:
                continue  # its call is still to come
            # Alerts due before the call are raised as they were at the time: a late call
            # leaves a breach in the report, as in real work.
            sla_sweep(now=called)
            if outcome == "new":
                services.lead_attempt_log(
                    lead=lead, by=by, outcome=rng.choice(["no_answer", "busy"]), now=called
                )
                continue
            if outcome == "junk":
                reason = rng.choice(list(reasons.values()))
                kind = "wrong_number" if reason.slug == "wrong-number" else "reached"
                services.lead_attempt_log(
                    lead=lead, by=by, outcome=kind, duration_s=rng.randint(10, 120), now=called
                )
                if reason.slug == "not-our-product":
                    services.lead_answer(
                        lead=lead,
                        by=by,
                        criterion=criteria["kitchen-type"],
                        value="modular",
                        now=called,
                    )
                services.lead_junk(
                    lead=lead, by=by, reason=reason, note="", now=called + timedelta(minutes=3)
                )
                continue
            services.lead_attempt_log(
                lead=lead,
                by=by,
                outcome=ContactAttempt.Outcome.REACHED,
                duration_s=rng.randint(60, 600),
                note="Обсудили размеры и сроки",
                now=called,
            )
            answers = {
                "kitchen-type": "custom",
                "need": rng.choice(["new-flat", "renovation", "just-looking"]),
                "budget": str(rng.choice([300_000, 450_000, 600_000, 900_000])),
                "timeline": rng.choice(["month", "quarter", "half-year"]),
                "decision-maker": rng.choice(["yes", "no"]),
            }
            for slug, value in answers.items():
                services.lead_answer(
                    lead=lead, by=by, criterion=criteria[slug], value=value, now=called
                )
            services.lead_check(lead=lead, by=by, now=called + timedelta(minutes=5))
            if outcome == "converted":
                handed = called + timedelta(minutes=8)
                handoff = lead_convert(lead=lead, by=by, sales_team=sales, now=handed)
                self._work_deal(rng, handoff, users, criteria["kitchen-type"], handed, now)
        # What the head and the team were told before today has been read by now.
        Notification.objects.filter(created_at__lt=now - timedelta(days=1), read_at=None).update(
            read_at=now
        )
        return len(plan)

    def _calls(self, rng: random.Random, team: Team, users: dict[str, User]) -> int:
        """The call centre's PBX and its calls over the two report periods, so the call metrics
        have something to show against the norm (45 reached calls a day of 30 s or more): each
        logged attempt as the PBX's call of it, and each qualifier's other calls of the day —
        customers not among the demo leads, some calling in, some missed. Anna mostly meets
        the norm, Igor often falls short; Saturdays are short days."""
        connection, _ = PbxConnection.objects.get_or_create(
            team=team,
            provider=PbxConnection.Provider.GENERIC,
            defaults={"api_secret": secrets.token_hex(16)},
        )
        qualifiers = {users["qualifier"].pk: 50, users["qualifier2"].pk: 40}
        for number, pk in enumerate(qualifiers, start=101):
            Extension.objects.get_or_create(
                connection=connection, user_id=pk, defaults={"extension": str(number)}
            )
        made = [
            Call(
                connection=connection,
                direction=Call.Direction.OUTBOUND,
                state=Call.State.ENDED,
                started_at=attempt.at,
                ended_at=attempt.at + timedelta(seconds=attempt.duration_s + 15),
                talk_s=attempt.duration_s,
                outcome=attempt.outcome,
                user_id=attempt.by_id,
                lead_id=attempt.lead_id,
                attempt=attempt,
            )
            for attempt in ContactAttempt.objects.filter(lead__team=team)
        ]
        now = timezone.now()
        today = timezone.localdate(now, team.zone)
        for days_ago in range(60, -1, -1):
            day = today - timedelta(days=days_ago)
            if day.weekday() == 6:
                continue  # the call centre is closed on Sundays
            for pk, usual in qualifiers.items():
                target = usual // 2 if day.weekday() == 5 else usual
                target = max(0, round(rng.gauss(target - (3 if days_ago > 30 else 0), 5)))
                made += self._day_of_calls(rng, connection, pk, day, target, now)
        for i, call in enumerate(made):
            call.pbx_call_id = f"demo-{i}"
        Call.objects.bulk_create(made, batch_size=500)
        return len(made)

    def _day_of_calls(self, rng, connection, user_id: int, day, target: int, now) -> list[Call]:
        """One qualifier's day: about `target` reached calls of 30 s or more, with the short
        ones, the unanswered ones and a few calls in (one in four of those missed)."""
        calls = []
        for _ in range(int(target * 1.9) + 6):
            kind = rng.random()
            if kind < 0.53:
                outcome, talk = ContactAttempt.Outcome.REACHED, rng.randint(30, 420)
            elif kind < 0.63:
                outcome, talk = ContactAttempt.Outcome.REACHED, rng.randint(3, 29)
            else:
                outcome, talk = rng.choice(["no_answer", "no_answer", "busy"]), 0
            inbound = rng.random() < 0.08
            missed = inbound and outcome != ContactAttempt.Outcome.REACHED
            start = timezone.make_aware(
                datetime.combine(day, time(9)) + timedelta(seconds=rng.randint(0, 11 * 3600)),
                connection.team.zone,
            )
            if start + timedelta(seconds=talk + 20) > now:
                continue  # the rest of today's calls are still to come
            calls.append(
                Call(
                    connection=connection,
                    direction=Call.Direction.INBOUND if inbound else Call.Direction.OUTBOUND,
                    customer_number=f"+79{rng.randint(100_000_000, 999_999_999)}",
                    state=Call.State.ENDED,
                    started_at=start,
                    answered_at=start + timedelta(seconds=10) if talk else None,
                    ended_at=start + timedelta(seconds=talk + 20),
                    talk_s=talk,
                    outcome=outcome,
                    missed=missed,
                    user_id=user_id,
                )
            )
        return calls

    def _work_deal(self, rng, handoff, users, disputed_criterion, handed, now) -> None:
        """Move a demo deal along the pipeline the way closers would, stopping anywhere — and
        never past today: a deal handed off yesterday is not won tomorrow."""
        deal, closers = handoff.deal, [users["closer"], users["closer2"]]
        step = rng.random()
        if handed + timedelta(days=3) > now:
            step = min(step, 0.44)  # picked up, at most disputed
        if step < 0.2:
            deals.deal_assign(deal=deal, by=users["head"], closer=None, now=handed)
            return
        closer = rng.choice(closers)
        if deal.closer_id not in (None, closer.pk):
            closer = deal.closer
        at = handed + timedelta(hours=1)
        deals.deal_accept(deal=deal, by=closer, now=at)
        if step < 0.3:
            dispute = disputes.dispute_raise(
                deal=deal,
                by=closer,
                criterion=disputed_criterion,
                claim="Клиент хотел модульную кухню",
                now=at,
            )
            if step < 0.25:
                disputes.dispute_resolve(
                    dispute=dispute,
                    by=users["head"],
                    outcome=rng.choice(["upheld", "rejected"]),
                    now=at,
                )
            return
        if step < 0.45:
            return
        deals.deal_set_meeting(
            deal=deal,
            by=closer,
            at=at + timedelta(days=2),
            address="Москва, ул. Ленина, 10",
            now=at,
        )
        if step < 0.6:
            return
        deals.deal_transition(deal=deal, by=closer, name="propose", now=at + timedelta(days=2))
        if step < 0.8:
            deals.deal_win(
                deal=deal,
                by=closer,
                amount=rng.choice([320_000, 480_000, 750_000]),
                now=at + timedelta(days=3),
            )
        else:
            deals.deal_lose(
                deal=deal,
                by=closer,
                reason=rng.choice(list(LossReason.objects.all())),
                now=at + timedelta(days=3),
            )
