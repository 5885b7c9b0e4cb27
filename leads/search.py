"""Search: finding a person by what someone typed — a phone in any written form, a name, an
e-mail, a company (issue 16.1). One reading of the query (`parse_query`), one folding of text
(`fold`: lower case, ё as е) and the lead's part of the match (`lead_match`); the deals app
matches its deals and contacts with the same pieces (`deals.search`), and the page shows all
three.

What a query is:
- **a phone**: only digits and what people write between them (`+`, spaces, brackets,
  dashes, dots), at least `MIN_DIGITS` digits. A whole number (it parses as a phone by the
  intake's rules, `channels.phone_point`) is matched exactly on the stored E.164 values — every
  phone of the lead, not just the primary one (`LeadContactPoint`, its index
  `lead_point_value`); fewer digits are the last digits of a stored number ("4567"), and from
  `MIDDLE_DIGITS` on also anywhere in one ("912 345"), a leading 8 also as +7 ("891234"
  finds +791234…).
- **an e-mail**: anything with an `@`: a whole address exactly, a part of one anywhere in every
  e-mail of the lead.
- **words** otherwise (at least one of `MIN_WORD` letters). A lead matches when every word
  begins a word of its name, company or primary e-mail ("семен" finds "Семёнова"; an e-mail
  is words split at `@ . _ -`, so "mail.ru" finds ivan@mail.ru), in any case, ё and е alike.

On PostgreSQL a lead's words are a full-text index (`lead_words`, migration `leads 0023`: a
`simple` tsvector of the folded text, GIN; a query is `word:* & word:*`): one posting list per
word, where trigrams read one per three letters, "ов " and "ин " among them. A common surname
still matches thousands of leads; `newest_recent` asks for the newest ones in widening windows
of arrival (the last 7 days, 30, 90, a year, all: `RECENT_DAYS`), so that it reads the recent
ones only — for a qualifier from their team's buckets of those months (`TeamMonthWords`, the
index `lead_team_month_words` of `leads 0027`, which replaced `lead_words`). The last
digits of a phone are a prefix of its reversed number, a btree range
(`leads 0024`); digits anywhere and e-mails are `pg_trgm` GIN indexes (`leads 0021`). On
SQLite the same conditions are plain scans: words anywhere in the folded text (`fold` is a
Python function registered on each SQLite connection, `leads.apps`).
"""

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Concat, Reverse
from django.db.models.lookups import StartsWith
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from crm.lib.phones import PhoneError
from crm.teams.models import Team
from leads import channels
from leads.models import Lead, LeadContactPoint

MIN_DIGITS = 4
# Digits anywhere in a number (its middle, its start as 8…) from this many on: fewer are its
# last digits only — four digits are found in the middle of a tenth of all numbers, a read
# that grows with the data; six are rare enough for the trigram index.
MIDDLE_DIGITS = 6
MIN_WORD = 3  # a trigram index needs three letters to narrow anything down
MAX_LENGTH = 100
LIMIT = 20  # rows per group on the page
MAX_POINT_IDS = 5000  # more matching phones or e-mails (a few common digits): one statement

PHONE = "phone"
EMAIL = "email"
WORDS = "words"

_PHONE_TYPED = re.compile(r"^[\d\s()+\-.]+$")


def fold(text: str) -> str:
    """What the search compares: lower case, ё as е (the SQL spelling is `Folded`)."""
    return str(text or "").lower().replace("ё", "е")


class Folded(Func):
    """fold() in SQL. PostgreSQL: TRANSLATE(LOWER(x), 'ё', 'е') — the expression the trigram
    index `lead_search_trgm` holds, so a query with it reads the index (LOWER folds Cyrillic
    under the database's UTF-8 ctype). SQLite: the Python `fold` registered on the connection,
    as SQLite's own LOWER knows ASCII only."""

    output_field = TextField()
    template = "TRANSLATE(LOWER(%(expressions)s), 'ё', 'е')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="crm_fold(%(expressions)s)", **extra_context
        )


def search_text(*fields: str) -> Folded:
    """The folded text of these columns, one space between them (a word never spans two)."""
    parts: list = []
    for field in fields:
        if parts:
            parts.append(Value(" "))
        parts.append(field)
    if len(parts) == 1:
        return Folded(F(parts[0]))
    return Folded(Concat(*parts, output_field=CharField()))


# The lead's searchable text, spelt once: its trigram index (migration 0021, the expression
# `lead_text`) served the words until the word index of migration 0023 (`lead_words`).
LEAD_TEXT_FIELDS = ("name", "company_name", "email")


def lead_text() -> Folded:
    return search_text(*LEAD_TEXT_FIELDS)


# What splits words besides what PostgreSQL's parser splits at: an e-mail's parts become words
# ("ivan@mail.ru": ivan, mail, ru) and a double surname two. The same characters, in the same
# order, in the index (`WORD_SEPARATORS` in SQL) and in `word_prefixes`.
WORD_SEPARATORS = "@._-"
_NOT_A_WORD = re.compile(r"[\W_]+")


class Words(Func):
    """The words of a text, as PostgreSQL's full-text search keeps them: a `simple` tsvector
    (no stemming, no stop words) of the text folded as `fold` folds it, the separators as
    spaces. The expression of the index `lead_words`, to the letter: a query must spell it
    the same for the planner to use the index."""

    output_field = TextField()
    template = (
        "to_tsvector('simple'::regconfig, TRANSLATE(LOWER(%(expressions)s), "
        f"'ё{WORD_SEPARATORS}', 'е{' ' * len(WORD_SEPARATORS)}'))"
    )


def words_of(*fields: str) -> Words:
    """The words of these columns, one space between them (`lead_words`, and the contact's and
    company's indexes of `deals 0012`)."""
    if len(fields) == 1:
        return Words(F(fields[0]))
    parts: list = []
    for field in fields:
        if parts:
            parts.append(Value(" "))
        parts.append(F(field))
    return Words(Concat(*parts, output_field=CharField()))


# A lead's words hold its day and month of arrival too, as words no query can type ("#9830":
# days since 2000-01-01, "#m322": months, UTC; typed words reach the index through the
# parser, which never keeps a "#"), so that "this surname in the last 7 days" is one read of
# the one index: the surname's posting list checked against a few days' or months' (GIN's
# fast scan skips through theirs), where a separate created_at condition read every arrival
# of the window from another index (58,000 entries for a week at 1M leads, ten times that at
# 10M). Days for the last week, months beyond: a year is 14 words, not 366.
ARRIVAL_EPOCH = date(2000, 1, 1)
DAYS_AS_DAYS = 10  # a window reaching further back is read in whole months


class ArrivalWords(Func):
    output_field = TextField()
    template = (
        "array_to_tsvector(ARRAY["
        f"'#' || ((timezone('UTC', %(expressions)s))::date - DATE '{ARRIVAL_EPOCH}')::text, "
        f"'#m' || ((date_part('year', timezone('UTC', %(expressions)s)) - {ARRIVAL_EPOCH.year})"
        " * 12 + date_part('month', timezone('UTC', %(expressions)s)) - 1)::int::text])"
    )


class Joined(Func):
    """`a || b` (tsvectors), `a && b` (tsqueries), `a @@ b` (a match) — `joiner` says which."""

    template = "(%(expressions)s)"

    def __init__(self, *expressions, joiner: str, output_field=None):
        super().__init__(*expressions, output_field=output_field or TextField())
        self.arg_joiner = f" {joiner} "


class TypedWords(Func):
    """The tsquery of typed words (`word_prefixes`), through the parser."""

    output_field = TextField()
    template = "to_tsquery('simple'::regconfig, %(expressions)s)"


class ArrivalsSince(Func):
    """The tsquery of the days or months of arrival (`arrivals_since`), taken as written: no
    parser."""

    output_field = TextField()
    template = "%(expressions)s::tsquery"


def lead_words() -> Joined:
    """The expression of the index `lead_words` (migration 0023): the lead's words, its day
    and month of arrival. A part of `lead_search_words`, whose index replaced it."""
    return Joined(words_of(*LEAD_TEXT_FIELDS), ArrivalWords(F("created_at")), joiner="||")


# A lead's words once more, each behind its team and month of arrival ("2:322:семенова"), so
# that "this team's leads of these months whose words begin so" is a prefix read of those
# entries alone: the matches a window holds, however many leads other teams and other months
# hold. The team or the months as words of their own (`#t2`, `#m322`) are a step through
# their long posting lists for every match of the words in every team: at 1M, 12 ms for a
# year's months against a name and surname's 740 matches, ten times that at 10M.
BUCKET = "{team}:{month}:"


class TeamMonthWords(Func):
    """The lexemes of `words` (a `Words`), each prefixed by the `BUCKET` of the lead's team
    and month of arrival (UTC): in the tsvector's text form, every lexeme's opening quote gets
    the prefix after it (a lexeme holds no space; a quote inside one is doubled, never after a
    space)."""

    output_field = TextField()

    def as_sql(
        self, compiler, connection, function=None, template=None, arg_joiner=None, **extra_context
    ):
        (words, params), (team, t_params), (created, c_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        if t_params or c_params:
            raise ValueError("the team and the arrival are columns")
        utc = f"timezone('UTC', {created})"
        month = (
            f"((date_part('year', {utc}) - {ARRIVAL_EPOCH.year}) * 12"
            f" + date_part('month', {utc}) - 1)::int::text"
        )
        opening = "'(^| )'''"  # the regular expression (^| )'
        prefixed = r"'\1'''"  # the same, then the prefix
        sql = (
            f"regexp_replace(strip({words})::text, {opening}, "
            f"{prefixed} || ({team})::text || ':' || {month} || ':', 'g')::tsvector"
        )
        return sql, params


def lead_search_words() -> Joined:
    """The expression of the index `lead_team_month_words` (migration 0027), which every words
    query of a lead filters on: `lead_words()` and the same words in their team's and month's
    buckets (`TeamMonthWords`)."""
    buckets = TeamMonthWords(words_of(*LEAD_TEXT_FIELDS), F("team_id"), F("created_at"))
    return Joined(lead_words(), buckets, joiner="||")


def arrivals_since(since: date, today: date) -> str:
    """The tsquery of arrivals from `since` (UTC) on, up to tomorrow (a clock a little ahead
    is no reason to miss a lead): its days (`'#9823' | … | '#9831'`) when it is at most
    `DAYS_AS_DAYS` back, else its months from since's on (a little earlier than `since`)."""
    if (today - since).days <= DAYS_AS_DAYS:
        first, last = (since - ARRIVAL_EPOCH).days, (today - ARRIVAL_EPOCH).days + 1
        return " | ".join(f"'#{day}'" for day in range(first, last + 1))
    first, last = _month_number(since), _month_number(today) + 1
    return " | ".join(f"'#m{month}'" for month in range(first, last + 1))


def _month_number(day: date) -> int:
    return (day.year - ARRIVAL_EPOCH.year) * 12 + day.month - 1


def arrival_days(first: date, last: date) -> str:
    """The tsquery of arrivals on the UTC days `first` to `last`: those days
    (`'#9823' | … | '#9831'`) when they are at most `DAYS_AS_DAYS`, else their whole months
    (more leads, never fewer)."""
    if (last - first).days <= DAYS_AS_DAYS:
        days = range((first - ARRIVAL_EPOCH).days, (last - ARRIVAL_EPOCH).days + 1)
        return " | ".join(f"'#{day}'" for day in days)
    months = range(_month_number(first), _month_number(last) + 1)
    return " | ".join(f"'#m{month}'" for month in months)


@dataclass(frozen=True)
class Query:
    kind: str  # PHONE, EMAIL or WORDS
    typed: str
    digits: str = ""  # PHONE: the digits typed
    e164: str = ""  # PHONE: the whole number, when the digits make one
    words: tuple[str, ...] = ()  # WORDS: folded; EMAIL: the folded address


class SearchError(ValidationError):
    """A query too short or empty: the message says what to type."""


def parse_query(typed: str | None) -> Query:
    text = " ".join(str(typed or "").split())[:MAX_LENGTH]
    if not text:
        raise SearchError(_("Type a phone, a name, an e-mail or a company to search."))
    if _PHONE_TYPED.match(text) and re.search(r"\d", text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < MIN_DIGITS:
            raise SearchError(
                _("Type at least %(n)d digits of the phone number.") % {"n": MIN_DIGITS}
            )
        return Query(PHONE, text, digits=digits, e164=_whole_number(text, digits))
    if "@" in text:
        address = fold(text.replace(" ", ""))
        if len(address.replace("@", "")) < MIN_WORD:
            raise SearchError(
                _("Type at least %(n)d letters of the e-mail address.") % {"n": MIN_WORD}
            )
        return Query(EMAIL, text, words=(address,))
    words = tuple(dict.fromkeys(fold(w) for w in text.split()))
    if not any(len(w) >= MIN_WORD for w in words):
        raise SearchError(
            _("Type at least %(n)d letters of the name, e-mail or company.") % {"n": MIN_WORD}
        )
    return Query(WORDS, text, words=words)


def word_prefixes(query: Query) -> str:
    """The tsquery of a words query: every word a prefix (`'семен':* & 'петров':*`). The
    words are cut as the index cuts its text, so only letters and digits are left: nothing
    typed can be read as tsquery syntax."""
    return " & ".join(f"'{piece}':*" for piece in _pieces(query))


def _pieces(query: Query) -> list[str]:
    pieces: list[str] = []
    for word in query.words:
        for piece in _NOT_A_WORD.split(word):
            if piece and piece not in pieces:
                pieces.append(piece)
    return pieces


# More teams than this (a head of many; an admin, who sees all) read the words and the arrival
# words with the team a filter on the rows, as before: every team and month is one more
# prefix to read, and a year of eleven teams was slower than the filter (1M: 35 ms).
MAX_BUCKET_TEAMS = 3


def bucket_query(query: Query, team_ids: list[int], months: range) -> str:
    """The tsquery of a words query within these teams and months of arrival: every word a
    prefix in one of their buckets (`('2:322:семен':* | '2:323:семен':*) & …`). A lead has one
    team and one month, so all the words it matches are in its own bucket."""
    groups = []
    for piece in _pieces(query):
        buckets = [BUCKET.format(team=team, month=month) for team in team_ids for month in months]
        groups.append("(" + " | ".join(f"'{bucket}{piece}':*" for bucket in buckets) + ")")
    return " & ".join(groups)


def bucketable(query: Query, team_ids: list[int] | None) -> bool:
    """Whether `bucket_query` can stand for the words query on this database for these teams
    (None: all, an admin). Its pieces go to the tsquery as written, where the index's words
    went through PostgreSQL's parser: letters and digits only, as the parser splits at a
    character such as "²" that Python counts in a word."""
    return (
        connection.vendor == "postgresql"
        and team_ids is not None
        and 0 < len(team_ids) <= MAX_BUCKET_TEAMS
        and _bucket_words(query)
    )


def _bucket_words(query: Query) -> bool:
    return all(ch.isalpha() or ch in "0123456789" for piece in _pieces(query) for ch in piece)


def _whole_number(text: str, digits: str) -> str:
    """The E.164 number the digits make, by the intake's rules; empty when they are a part of
    one (too few digits for a whole number, or no valid number)."""
    if len(digits) < 10:
        return ""
    try:
        point, _note = channels.phone_point(text)
    except (PhoneError, ValidationError):
        return ""
    return point.value


def phone_patterns(query: Query) -> list[str]:
    """The pieces of stored E.164 numbers a part of a phone is looked for as: the digits
    anywhere, and a number typed from its trunk 8 also as +7."""
    found = [query.digits]
    if query.digits.startswith("8") and len(query.digits) > MIN_DIGITS:
        found.append("+7" + query.digits[1:])
    return found


def phone_part_matches(query: Query, number: str) -> bool:
    """`points_q`'s condition for a part of a phone, on one stored number."""
    if number.endswith(query.digits):
        return True
    return len(query.digits) >= MIDDLE_DIGITS and any(p in number for p in phone_patterns(query))


def phone_part_q(query: Query, value: str) -> Q:
    """The stored numbers (the column `value`) a part of a phone matches. The last digits: a
    prefix of the reversed number, a range of the btree index on reverse(value)
    (`lead_point_value_reversed`, `contact_point_value_reversed`) that reads the matches
    only, where the trigram index read every number holding a trigram of them (more with
    every number stored)."""
    match = Q(StartsWith(Reverse(F(value)), Value(query.digits[::-1])))
    if len(query.digits) >= MIDDLE_DIGITS:
        for pattern in phone_patterns(query):
            lookup = "startswith" if pattern.startswith("+") else "contains"
            match |= Q(**{f"{value}__{lookup}": pattern})
    return match


def points_q(query: Query, prefix: str = "") -> Q:
    """The contact points (a lead's or a contact's) the query matches: `prefix` leads to the
    point's columns."""
    value, kind = f"{prefix}value", f"{prefix}kind"
    if query.kind == PHONE:
        if query.e164:
            return Q(**{value: query.e164})
        return Q(**{kind: channels.PHONE}) & phone_part_q(query, value)
    address = query.words[0]
    try:
        channels.email_point(address)
    except ValidationError:
        return Q(**{kind: channels.EMAIL, f"{value}__contains": address})
    return Q(**{value: address})


def words_q(query: Query, annotation: str) -> Q:
    """Every word in the annotated folded text."""
    match = Q()
    for word in query.words:
        match &= Q(**{f"{annotation}__contains": word})
    return match


def matches(words: Func, tsquery: Func) -> Joined:
    """`words @@ tsquery`: a condition (filter() takes it as is)."""
    return Joined(words, tsquery, joiner="@@", output_field=BooleanField())


def words_match(rows: QuerySet, fields: tuple[str, ...], query: Query) -> QuerySet:
    """The rows where every word of the query begins a word of these columns (PostgreSQL: the
    words index of these columns); on SQLite, where every word is anywhere in their folded
    text."""
    if connection.vendor == "postgresql":
        return rows.filter(matches(words_of(*fields), TypedWords(Value(word_prefixes(query)))))
    return rows.alias(search_text=search_text(*fields)).filter(words_q(query, "search_text"))


def lead_match(leads: QuerySet[Lead], query: Query, since: date | None = None) -> QuerySet[Lead]:
    """The leads of `leads` (already scoped to what the user may see) the query matches;
    words: arrived on `since` (a UTC day) or later, when given (on PostgreSQL, from the first
    of since's month when that is more than `DAYS_AS_DAYS` back)."""
    if query.kind == WORDS:
        if connection.vendor != "postgresql":
            rows = words_match(leads, LEAD_TEXT_FIELDS, query)
            return rows if since is None else rows.filter(created_at__gte=_utc_midnight(since))
        typed: Func = TypedWords(Value(word_prefixes(query)))
        if since is not None:
            arrivals = arrivals_since(since, _utc_today())
            typed = Joined(typed, ArrivalsSince(Value(arrivals)), joiner="&&")
        return leads.filter(matches(lead_search_words(), typed))
    # Unordered: the points' own order (kind, position) read every matching point's row, where
    # the phones' index holds the lead (`lead_phone_reversed`).
    matching = LeadContactPoint.objects.filter(points_q(query)).order_by()
    if last_digits(query) and connection.vendor == "postgresql":
        # The numbers' leads as an array read first (an initplan), then the leads by key: the
        # matches' keys, teams and arrivals come from indexes alone (`lead_phone_reversed`,
        # `lead_team_arrival`; the API's page reads its keys so). As `IN (subquery)` the
        # planner, guessing thousands of numbers for a few hundred, hashed them and read every
        # lead of the team from another index (100,000 at 1M); with the keys listed, it read
        # each lead's row by the primary key.
        return leads.filter(AnyOf(F("id"), ArraySubquery(matching.values("lead_id"))))
    points = matching.values_list("lead_id", flat=True)
    # The matching leads' ids read first, then the leads by their keys: as one statement, the
    # planner guessed 15,000 points for "0962" (1,400 matched) and scanned the whole table.
    ids = list(points[: MAX_POINT_IDS + 1])
    return leads.filter(id__in=ids if len(ids) <= MAX_POINT_IDS else points)


class AnyOf(Func):
    """`value = ANY(array)` (PostgreSQL): a condition filter() takes as is."""

    output_field = BooleanField()
    arg_joiner = " = ANY("
    template = "%(expressions)s)"


def last_digits(query: Query) -> bool:
    """A phone's last digits (fewer than `MIDDLE_DIGITS`): matches in every team and year, more
    with every lead stored (at 10M leads ~1,000 share four)."""
    return query.kind == PHONE and not query.e164 and len(query.digits) < MIDDLE_DIGITS


class Arrival(Func):
    """`created_at` to sort the matches by, spelt so that no index holds it: the planner then
    reads the matches through the search's indexes and sorts those (top-N), where with
    `ORDER BY created_at` it walked the created_at index backwards testing every lead until
    21 matched (at 1M: 0.9 s for a common surname, 28,000 leads' words computed; 1.0 s for
    the admin's last four digits, 17,000 leads' phones looked up)."""

    output_field = DateTimeField()
    template = "(%(expressions)s + interval '0 seconds')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra_context)


NEWEST_FIRST = (Arrival(F("created_at")).desc(), "-id")


def newest(rows: QuerySet, limit: int = LIMIT) -> tuple[list, bool]:
    """The newest `limit` rows and whether there were more (one row more is read)."""
    found = list(rows.order_by(*NEWEST_FIRST)[: limit + 1])
    return found[:limit], len(found) > limit


# Days back of the windows `newest_recent` widens through, before all time.
RECENT_DAYS = (7, 30, 90, 365)


def recent_windows() -> list[date]:
    """The first days of the windows `newest_recent` widens through (`RECENT_DAYS`), before
    all time."""
    today = _utc_today()
    return [today - timedelta(days) for days in RECENT_DAYS]


def newest_recent(
    leads: QuerySet[Lead], query: Query, limit: int = LIMIT, team_ids: list[int] | None = None
) -> tuple[list[Lead], bool]:
    """The newest `limit` leads of `leads` that a words query matches, read from the most
    recent arrivals first: those of the last 7 days, and only when they are fewer than a page
    and one, of the last 30, 90, a year, all time. The answer is `newest`'s (each window
    holds the one before it, and a window with a page and one more holds the newest page);
    what changes is what is read — a common surname matching thousands of leads reads the
    last week's few, not all of them.

    `team_ids`: the teams `leads` is scoped to, when the user's scope is a list of teams (None:
    an admin's, all). For a few (`bucketable`) a window is read from the words' buckets of
    those teams and of its months (`bucket_query`; the last 7 and 30 days are then one window
    when they begin in the same month): the matches of the window, where the arrival words
    read every team's and filtered by team."""
    if not bucketable(query, team_ids):
        for since in recent_windows():
            recent = lead_match(leads, query, since=since)
            found, more = newest(recent.select_related("team"), limit)
            if more:
                return found, more
        return newest(lead_match(leads, query).select_related("team"), limit)
    today, read = _utc_today(), None
    for since in recent_windows():
        months = range(_month_number(since), _month_number(today) + 2)  # and tomorrow's
        if months == read:
            continue
        read = months
        tsquery = ArrivalsSince(Value(bucket_query(query, team_ids or [], months)))
        # The newest matches' keys read on their own, then the leads by key within `leads`:
        # with the scope's team condition in the same statement, the planner, guessing
        # thousands of matches, read the team's whole index too and ANDed the two (47 ms
        # for a common surname's year at 1M, where the buckets alone read its 994 in 0.3 ms).
        keys = Lead.objects.filter(matches(lead_search_words(), tsquery))
        keys = keys.order_by(*NEWEST_FIRST).values("pk")[: limit + 1]
        found, more = newest(leads.filter(pk__in=keys).select_related("team"), limit)
        if more:
            return found, more
    return newest(lead_match(leads, query).select_related("team"), limit)


# A window read from the buckets alone names every team's every month: more than this many
# (an admin's 10 teams and 4 months) read the arrival words instead, beside the match.
MAX_WINDOW_BUCKETS = 40


@dataclass(frozen=True)
class Window:
    """A window of arrival for the API (`leads.api.NewestLeadMatchesFirst`): `condition` (for
    `filter()`) is true of every match that arrived on its UTC days, and of no lead that
    arrived before its first day's month or after its last day's. `alone`: the condition is by
    itself the query's matches within the teams (the buckets; `reads` is their tsquery), read
    from Lead with nothing else; otherwise it is added to a queryset that already holds the
    match and the scope. Two windows with the same `reads` read the same (a week and a month
    within one month)."""

    condition: Any
    alone: bool
    reads: str


def lead_window(
    query: Query, first: date, last: date, team_ids: list[int], alone: bool = True
) -> Window:
    """The window of the UTC days `first` to `last` of a words query within these teams. On
    PostgreSQL, when `alone` may be and the teams' months are at most `MAX_WINDOW_BUCKETS`,
    their buckets (`bucket_query`: the window's matches, read from their own entries only);
    else the arrival words of those days or months (`arrival_days`), beside the match; on
    SQLite, the days as a range of `created_at`, beside the match."""
    if connection.vendor != "postgresql":
        start, end = _utc_midnight(first), _utc_midnight(last + timedelta(1))
        return Window(Q(created_at__gte=start, created_at__lt=end), False, f"{start} {end}")
    months = range(_month_number(first), _month_number(last) + 1)
    if alone and _bucket_words(query) and 0 < len(team_ids) * len(months) <= MAX_WINDOW_BUCKETS:
        tsquery = bucket_query(query, team_ids, months)
        return Window(matches(lead_search_words(), ArrivalsSince(Value(tsquery))), True, tsquery)
    tsquery = arrival_days(first, last)
    return Window(matches(lead_search_words(), ArrivalsSince(Value(tsquery))), False, tsquery)


@functools.cache
def _compiled(name: str) -> tuple[str, tuple]:
    """`lead_search_words()` ("words") or `Arrival(created_at)` ("arrival") as PostgreSQL SQL
    and its parameters, compiled once per process: a window read compiled the words'
    expression each time (a few ms of Python a statement)."""
    query = Lead.objects.all().query
    compiler = query.get_compiler(connection=connection)
    expression = lead_search_words() if name == "words" else Arrival(F("created_at"))
    sql, params = compiler.compile(expression.resolve_expression(query))
    return sql, tuple(params)


def bucket_keys(tsquery: str, after: datetime | None, reverse: bool, limit: int) -> list[int]:
    """The keys of the first `limit` leads whose words match `tsquery` (a `bucket_query`),
    in arrival order (`Arrival`: the newest first; the oldest with `reverse`) after `after`
    when given: the statement a bucket window's read is (PostgreSQL), spelt here from the
    compiled expressions, so that the words index and the sort are those of every search."""
    words, params = _compiled("words")
    arrival, _none = _compiled("arrival")
    where, args = f"{words} @@ %s::tsquery", [*params, tsquery]
    if after is not None:
        where += f" AND {arrival} {'>' if reverse else '<'} %s"
        args.append(after)
    order = "ASC" if reverse else "DESC"
    sql = (
        f'SELECT "leads_lead"."id" FROM "leads_lead" WHERE {where} '  # noqa: S608 - compiled expressions; values are parameters
        f'ORDER BY {arrival} {order}, "leads_lead"."id" {order} LIMIT %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, limit])
        return [row[0] for row in cursor.fetchall()]


def arrival_bound(team_ids: list[int], newest: bool = True) -> datetime | None:
    """The latest (`newest`) or earliest arrival among these teams' leads, whatever their
    state: one step into the (team, created_at) index `lead_report_cohort` per team."""
    if not team_ids:
        return None
    ordering = "-created_at" if newest else "created_at"
    first_of_team = Lead.objects.filter(team_id=OuterRef("pk")).order_by(ordering)
    bound = Max if newest else Min
    return Team.objects.filter(pk__in=team_ids).aggregate(
        bound=bound(Subquery(first_of_team.values("created_at")[:1]))
    )["bound"]


def _utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def newest_of(parts: list[QuerySet], limit: int, related: tuple[str, ...]) -> tuple[list, bool]:
    """`newest` over the union of several querysets of one model: the newest keys of each
    (each read by its own index), merged, then those rows."""
    if len(parts) == 1:
        return newest(parts[0].select_related(*related), limit)
    keys: set[tuple] = set()
    for part in parts:
        newest_keys = part.order_by(*NEWEST_FIRST).values_list("created_at", "id")
        keys.update(newest_keys[: limit + 1])
    chosen = sorted(keys, reverse=True)[: limit + 1]
    model = parts[0].model
    picked = model.objects.filter(pk__in=[pk for _, pk in chosen]).select_related(*related)
    rows = {row.pk: row for row in picked}
    found = [rows[pk] for _, pk in chosen if pk in rows]
    return found[:limit], len(found) > limit


# ---------------------------------------------------------------- what matched, for the page


@dataclass
class Hit:
    """One row of the results: the object, the field that matched and its shown value."""

    obj: object
    key: str  # which field matched: "name", "company", "email" or "phone"
    field: str  # its name, translated
    value: str  # the value that matched, as shown
    query: Query


FIELD_NAMES = {
    "name": _lazy("name"),
    "company": _lazy("company"),
    "email": _lazy("e-mail"),
    "phone": _lazy("phone"),
}


def text_hit(obj: object, query: Query, fields: list[tuple[str, str]]) -> Hit:
    """The hit for a words match: of (key, value) pairs, the first whose folded value holds a
    word of the query."""
    key, value = fields[0]
    for candidate, text in fields:
        folded = fold(text)
        if any(w in folded for w in query.words if w):
            key, value = candidate, text
            break
    return Hit(obj, key, str(FIELD_NAMES[key]), value, query)


def matched_point(query: Query, points: list[Any]) -> Any:
    """The phone or e-mail point of an object the query matched (the first that does)."""
    for point in points:
        if query.kind == PHONE and point.kind == channels.PHONE:
            if query.e164 and point.value == query.e164:
                return point
            if not query.e164 and phone_part_matches(query, point.value):
                return point
        if query.kind == EMAIL and point.kind == channels.EMAIL and query.words[0] in point.value:
            return point
    return None


def highlight_spans(query: Query, text: str) -> list[tuple[str, bool]]:
    """`text` cut into (piece, matched) for the page's <mark>: the query's words (or address,
    or digits) where they occur, compared folded. Folding keeps each letter one letter (lower
    case, ё → е); where it would not (a rare letter whose lower case is two), nothing is
    marked rather than the wrong letters."""
    if not text:
        return []
    folded = fold(text)
    if len(folded) != len(text):
        return [(text, False)]
    if query.kind == PHONE:
        needles = [p.lstrip("+") for p in phone_patterns(query)]
        if query.e164:
            needles = [query.e164.lstrip("+")]
        return _digit_spans(text, needles)
    marks = [False] * len(text)
    for word in query.words:
        if not word:
            continue
        start = folded.find(word)
        while start >= 0:
            for i in range(start, start + len(word)):
                marks[i] = True
            start = folded.find(word, start + 1)
    return _runs(text, marks)


def _digit_spans(text: str, needles: list[str]) -> list[tuple[str, bool]]:
    """Mark the digits of a shown phone (+7 912 345-67-89) that make one of the needles,
    skipping the spaces and dashes between them."""
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    digits = "".join(text[i] for i in positions)
    marks = [False] * len(text)
    for needle in needles:
        start = digits.rfind(needle) if needle else -1  # the last digits, when they are
        if start >= 0:
            first, last = positions[start], positions[start + len(needle) - 1]
            for i in range(first, last + 1):
                marks[i] = True
            break
    return _runs(text, marks)


def _runs(text: str, marks: list[bool]) -> list[tuple[str, bool]]:
    runs: list[tuple[str, bool]] = []
    for char, mark in zip(text, marks, strict=True):
        if runs and runs[-1][1] == mark:
            runs[-1] = (runs[-1][0] + char, mark)
        else:
            runs.append((char, mark))
    return runs
