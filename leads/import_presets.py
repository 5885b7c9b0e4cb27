"""Column titles of the exports of other CRMs (Bitrix24, amoCRM), in Russian and English, and
their lead statuses: which of our fields each column feeds, found from the header row alone.

A preset only proposes a mapping; the import page shows it and lets the user change it."""

from dataclasses import dataclass

# Fields a row may spread over several columns (Bitrix24 has "Рабочий телефон", "Мобильный
# телефон" … each of which may hold several numbers joined by ", "); form answers are kept
# each under its column's title.
MULTI_FIELDS = ("phone", "email", "message", "form_answers")


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    # Titles whose presence in the header row tells this CRM's export from any other file.
    signature: frozenset[str]
    # Our field → the titles (lower-cased) of the columns that feed it, in the order kept.
    titles: dict[str, tuple[str, ...]]
    # Lower-cased status titles: those that mean junk and those that mean converted.
    junk_statuses: frozenset[str]
    converted_statuses: frozenset[str]


# Every UTM tag, as a column of our own CSV or an amoCRM account's utm_* fields ("utm_source"),
# or as the title "UTM Source" some exports give it.
UTM = {
    tag: (tag, tag.replace("_", " "))
    for tag in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
}
# Bitrix24 titles its UTM fields in words (crm.lead.fields, the lead list and its export):
# "Рекламная система" is UTM_SOURCE, and so on.
BITRIX24_UTM = {
    "utm_source": ("рекламная система", *UTM["utm_source"]),
    "utm_medium": ("тип трафика", *UTM["utm_medium"]),
    "utm_campaign": ("обозначение рекламной кампании", *UTM["utm_campaign"]),
    "utm_content": ("содержание кампании", *UTM["utm_content"]),
    "utm_term": ("условие поиска кампании", *UTM["utm_term"]),
}

BITRIX24 = Preset(
    key="bitrix24",
    label="Bitrix24",
    signature=frozenset({"название лида", "lead name"}),
    titles={
        "external_id": ("id",),
        "name": ("имя", "first name", "name"),
        "middle_name": ("отчество", "second name", "middle name"),
        "last_name": ("фамилия", "last name"),
        "phone": (
            "мобильный телефон",
            "рабочий телефон",
            "домашний телефон",
            "другой телефон",
            "телефон для рассылок",
            "mobile phone",
            "work phone",
            "home phone",
            "other phone",
            "phone for mailing",
        ),
        "email": (
            "рабочий e-mail",
            "частный e-mail",
            "другой e-mail",
            "e-mail для рассылок",
            "work e-mail",
            "personal e-mail",
            "other e-mail",
            "e-mail for mailing",
        ),
        "company_name": ("название компании", "company name"),
        "message": ("комментарий", "comment", "название лида", "lead name"),
        # "Стадия" in Bitrix24 today (crm.lead.fields STATUS_ID), "Статус" in older exports.
        "status": ("стадия", "статус", "stage", "status"),
        "created": ("дата создания", "created", "date created"),
        "responsible": ("ответственный", "responsible", "responsible person"),
        **BITRIX24_UTM,
    },
    junk_statuses=frozenset({"некачественный лид", "junk lead", "неудачный лид"}),
    converted_statuses=frozenset(
        {"качественный лид", "сконвертирован", "converted", "good lead", "конвертирован"}
    ),
)

AMOCRM = Preset(
    key="amocrm",
    label="amoCRM",
    signature=frozenset({"название сделки", "основной контакт", "deal name", "main contact"}),
    titles={
        "external_id": ("id",),
        "name": ("основной контакт", "main contact", "полное имя контакта", "contact name"),
        "phone": (
            "мобильный телефон",
            "рабочий телефон",
            "рабочий прямой телефон",
            "домашний телефон",
            "другой телефон",
            "mobile phone",
            "work phone",
            "work direct phone",
            "home phone",
            "other phone",
        ),
        "email": ("рабочий email", "личный email", "другой email", "work email", "private email"),
        "company_name": ("компания контакта", "компания", "company"),
        "message": (
            "примечание",
            "примечание 1",
            "примечание 2",
            "примечание 3",
            "примечание 4",
            "примечание 5",
            "теги",
            "название сделки",
            "note",
            "tags",
        ),
        "status": ("этап сделки", "статус", "status", "stage"),
        "created": ("дата создания сделки", "дата создания", "created", "date created"),
        "responsible": ("ответственный", "responsible", "responsible user"),
        **UTM,
    },
    junk_statuses=frozenset({"закрыто и не реализовано", "closed - lost", "closed lost"}),
    converted_statuses=frozenset({"успешно реализовано", "closed - won", "closed won"}),
)

PRESETS = (BITRIX24, AMOCRM)


def detect_preset(header: list[str]) -> Preset | None:
    """The CRM whose export this header row is, if it is one we know."""
    titles = {title.strip().lower() for title in header}
    for preset in PRESETS:
        if preset.signature & titles:
            return preset
    return None


def preset_by_key(key: str) -> Preset | None:
    return next((p for p in PRESETS if p.key == key), None)


def preset_mapping(preset: Preset, header: list[str]) -> dict[str, str | list[str]]:
    """Our field → the file's column(s), following the preset's titles."""
    by_title = {title.strip().lower(): title for title in header}
    mapping: dict[str, str | list[str]] = {}
    for our_field, titles in preset.titles.items():
        columns = [by_title[t] for t in titles if t in by_title]
        if not columns:
            continue
        mapping[our_field] = columns if our_field in MULTI_FIELDS else columns[0]
    return mapping
