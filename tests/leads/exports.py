"""Files shaped like other CRMs' lead exports, for the import tests.

Shapes, as those CRMs write them (titles checked against the products' public material; the
README's import section cites it):
- Bitrix24, CRM → Лиды → Экспорт (CSV): ";" between columns, UTF-8 with a BOM or Windows-1251,
  the lead's fields under the titles crm.lead.fields gives them ("Название лида", "Имя",
  "Отчество", "Фамилия", "Стадия", "Дополнительно о стадии", "Ответственный", "Дата создания"
  as dd.mm.yyyy hh:mm:ss, the UTM tags as "Рекламная система", "Тип трафика", "Обозначение
  рекламной кампании", "Содержание кампании", "Условие поиска кампании"; the phone and e-mail
  kinds as "Рабочий телефон", "Мобильный телефон", "Рабочий e-mail" …), a user field under its
  label ("Тип кухни"), several values of one kind joined with ", " in one cell, comments quoted
  across lines. Its "Excel" export is the same table as an HTML page saved as .xls.
- amoCRM, Сделки → Экспорт (.xlsx): one row per deal with its main contact's fields, as public
  importers of that file read it: "Название сделки", "Бюджет", "Ответственный", "Дата создания
  сделки", "Кем создана сделка", "Дата редактирования", "Кем редактирована", "Дата закрытия",
  "Теги", "Примечание", "Примечание 2" …, "Этап сделки", "Воронка", "Полное имя контакта",
  "Компания контакта", "Ответственный за контакт", "Компания", "Рабочий телефон", "Рабочий
  прямой телефон", "Мобильный телефон", "Рабочий email", "Личный email", "Другой email", the
  account's own fields (utm_source … utm_term, "Тип кухни").
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

BITRIX24_HEADER = [
    "ID",
    "Название лида",
    "Имя",
    "Отчество",
    "Фамилия",
    "Дата рождения",
    "Должность",
    "Адрес",
    "Рабочий телефон",
    "Мобильный телефон",
    "Домашний телефон",
    "Рабочий e-mail",
    "Частный e-mail",
    "Название компании",
    "Источник",
    "Дополнительно об источнике",
    "Стадия",
    "Дополнительно о стадии",
    "Комментарий",
    "Валюта",
    "Сумма",
    "Ответственный",
    "Дата создания",
    "Дата изменения",
    "Кем создан",
    "Рекламная система",
    "Тип трафика",
    "Обозначение рекламной кампании",
    "Содержание кампании",
    "Условие поиска кампании",
]

AMOCRM_HEADER = [
    "ID",
    "Название сделки",
    "Бюджет",
    "Ответственный",
    "Дата создания сделки",
    "Кем создана сделка",
    "Дата редактирования",
    "Кем редактирована",
    "Дата закрытия",
    "Теги",
    "Примечание",
    "Примечание 2",
    "Этап сделки",
    "Воронка",
    "Полное имя контакта",
    "Компания контакта",
    "Ответственный за контакт",
    "Компания",
    "Рабочий телефон",
    "Рабочий прямой телефон",
    "Мобильный телефон",
    "Рабочий email",
    "Личный email",
    "Другой email",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
]
# A user field of the account, as both CRMs export it: under its label.
KITCHEN_TYPES = ["Под заказ", "модульная", "Ещё не решили", "не знаю"]

SURNAMES = ["Иванов", "Петрова", "Сидоров", "Кузнецова", "Смирнов"]
NAMES = ["Иван", "Анна", "Пётр", "Мария", "Олег"]
PATRONYMICS = ["Иванович", "Сергеевна", "Петрович", "Олеговна", "Андреевич"]
START = datetime(2026, 3, 2, 9, 15, 7)  # noqa: DTZ001 - a file's wall-clock time


def phone(i: int, operator: str = "916") -> str:
    digits = f"{i:07d}"
    return f"8 ({operator}) {digits[:3]}-{digits[3:5]}-{digits[5:]}"


def e164(i: int, operator: str = "916") -> str:
    return f"+7{operator}{i:07d}"


@dataclass
class Bitrix24Lead:
    """What row i of the generated Bitrix24 export holds, for the tests to check against."""

    i: int

    @property
    def surname(self) -> str:
        return SURNAMES[self.i % 5]

    @property
    def full_name(self) -> str:
        i = self.i
        return f"{SURNAMES[i % 5]} {NAMES[i % 5]} {PATRONYMICS[i % 5]}"

    @property
    def work_phone(self) -> str:  # even rows: the work phone column only
        if self.i % 2:
            return ""
        if self.i % 10 == 0:  # two numbers in one cell, as Bitrix24 joins them
            return f"{phone(self.i)}, {phone(self.i, '925')}"
        return phone(self.i)

    @property
    def mobile_phone(self) -> str:  # odd rows: the mobile column only
        return phone(self.i) if self.i % 2 else ""

    @property
    def status(self) -> str:
        if self.i % 50 == 7:
            return "Некачественный лид"
        if self.i % 50 == 13:  # converted in Bitrix24: imported as history
            return "Качественный лид"
        return "Не обработан" if self.i % 3 else "В работе"

    @property
    def created(self) -> datetime:
        return START + timedelta(hours=self.i)

    def row(self, responsible: str) -> list[str]:
        i = self.i
        comment = f'Звонил {i}-й раз;\nпросит перезвонить "после обеда"' if i % 4 == 0 else ""
        return [
            str(100000 + i),
            f"Заявка с сайта №{i}",
            NAMES[i % 5],
            PATRONYMICS[i % 5],
            SURNAMES[i % 5],
            "",
            "",
            "",
            self.work_phone,
            self.mobile_phone,
            "",
            f"client{i}@example.ru" if i % 3 == 0 else "",
            "",
            f"ООО Ромашка {i}" if i % 5 == 0 else "",
            "Веб-сайт",
            "",
            self.status,
            "",
            comment,
            "RUB",
            "0",
            responsible,
            self.created.strftime("%d.%m.%Y %H:%M:%S"),
            self.created.strftime("%d.%m.%Y %H:%M:%S"),
            responsible,
            "yandex" if i % 2 else "google",
            "cpc",
            f"spring-{i % 7}",
            f"banner-{i % 3}" if i % 2 else "",
            "кухня на заказ" if i % 2 else "",
        ]


def bitrix24_rows(count: int, responsibles: list[str]) -> list[list[str]]:
    return [Bitrix24Lead(i).row(responsibles[i % len(responsibles)]) for i in range(count)]


# User fields of a kitchen maker's Bitrix24, exported under their labels: what the site's
# form asked. Row i holds these answers (the budget as people type it, now and then a word).
BITRIX24_USER_FIELDS = ["Тип кухни", "Бюджет клиента"]


def bitrix24_user_answers(i: int) -> list[str]:
    budget = "дорого" if i % 7 == 3 else f"{300 + i % 5 * 50} 000 руб."
    return [KITCHEN_TYPES[i % 4], budget]


def bitrix24_csv(
    count: int,
    *,
    encoding: str = "utf-8-sig",
    responsibles: list[str] | None = None,
    user_fields: bool = False,
) -> bytes:
    """Bitrix24's CSV export of `count` leads: ';', CRLF, the titles in Russian; with
    `user_fields`, the account's own fields after the system ones."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(BITRIX24_HEADER + (BITRIX24_USER_FIELDS if user_fields else []))
    for i, row in enumerate(bitrix24_rows(count, responsibles or ["Анна Tester1"])):
        writer.writerow(row + (bitrix24_user_answers(i) if user_fields else []))
    return out.getvalue().encode(encoding)


def bitrix24_html_xls(count: int, *, responsibles: list[str] | None = None) -> bytes:
    """Bitrix24's "Excel" export: an HTML table with a charset meta, saved as .xls."""
    from html import escape

    def cells(tag: str, row: list[str]) -> str:
        return "".join(f"<{tag}>{escape(v).replace(chr(10), '<br>')}</{tag}>" for v in row)

    body = "\n".join(
        f"<tr>{cells('td', row)}</tr>"
        for row in bitrix24_rows(count, responsibles or ["Анна Tester1"])
    )
    page = (
        '<html><head><meta http-equiv="Content-type" content="text/html;charset=utf-8" />'
        '</head><body>\n<table border="1">\n'
        f"<tr>{cells('th', BITRIX24_HEADER)}</tr>\n{body}\n</table>\n</body></html>"
    )
    return page.encode("utf-8")


def amocrm_rows(count: int, responsibles: list[str]) -> list[list]:
    rows = []
    for i in range(count):
        created = START + timedelta(days=i)
        rows.append(
            [
                5000 + i,  # a number cell, as Excel keeps ids
                f"Сделка #{i}",
                15000,
                responsibles[i % len(responsibles)],
                created,  # a date cell
                "Администратор",
                created,
                "Администратор",
                "",
                "VIP, сайт" if i % 2 else "",
                f"Примечание {i}" if i % 3 == 0 else "",
                "перезвонить вечером" if i % 5 == 0 else "",
                "Закрыто и не реализовано"
                if i % 4 == 3
                else "Успешно реализовано"  # won in amoCRM: imported as history
                if i % 8 == 5
                else "Первичный контакт",
                "Воронка",
                f"{SURNAMES[i % 5]} {NAMES[i % 5]}",
                f"ИП {SURNAMES[i % 5]}" if i % 2 else "",
                "Администратор",
                "",
                phone(i, "903") if i % 2 == 0 else "",
                "",
                # a mobile number Excel stored as a number
                int(e164(i, "965")[1:]) if i % 2 else "",
                f"amo{i}@example.com",
                "",
                "",
                "vk",
                "social",
                "autumn",
                "кухни" if i % 2 else "",
                f"ad-{i}",
            ]
        )
    return rows


def amocrm_xlsx(count: int, *, responsibles: list[str] | None = None) -> bytes:
    """amoCRM's export of deals with their main contacts, as .xlsx."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Сделки"
    sheet.append(AMOCRM_HEADER)
    for row in amocrm_rows(count, responsibles or ["Анна Tester1"]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
