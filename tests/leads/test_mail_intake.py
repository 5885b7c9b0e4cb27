"""Mail intake against a real IMAP server (Dovecot, started per module): letters in the shapes
Russian mail clients send, polled as beat polls them."""

import base64
import quopri
import uuid
from email.header import Header

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import mail_intake
from leads.models import Lead, LeadEvent, LeadSource, Mailbox, MailLetter
from tests import dovecot
from tests.factories import SourceFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not dovecot.installed(), reason="dovecot is not installed"),
]


@pytest.fixture(scope="module")
def server():
    imap = dovecot.Dovecot()
    yield imap
    imap.stop()


@pytest.fixture
def folder(server):
    """A fresh folder of the test's own: the server is shared by the module."""
    name = f"T{uuid.uuid4().hex}"
    imap = server.connect()
    imap.create(name)
    imap.logout()
    return name


@pytest.fixture
def mailbox(server, folder) -> Mailbox:
    team = TeamFactory(name="Call centre")
    source = SourceFactory(name="E-mail", slug="email", channel=LeadSource.Channel.EMAIL, team=team)
    return Mailbox.objects.create(
        team=team,
        source=source,
        host="127.0.0.1",
        port=server.port,
        security=Mailbox.Security.NONE,
        username=dovecot.USER,
        password=dovecot.PASSWORD,
        folder=folder,
    )


def encoded(text: str, charset: str) -> str:
    return Header(text, charset).encode()


def letter(headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode() + b"\r\n" + body  # a raw UTF-8 header, as RFC 6532 allows


# A plain letter from an old Russian client: KOI8-R, 8-bit, the name and subject B-encoded.
KOI8 = letter(
    {
        "From": f"{encoded('Иван Петров', 'koi8-r')} <Ivan.Petrov@example.ru>",
        "To": "sales@kuhni.example.ru",
        "Subject": encoded("Кухня на заказ", "koi8-r"),
        "Date": "Mon, 30 Nov 2026 10:00:00 +0300",
        "Message-ID": "<koi8-1@example.ru>",
        "MIME-Version": "1.0",
        "Content-Type": 'text/plain; charset="koi8-r"',
        "Content-Transfer-Encoding": "8bit",
        "X-Mailer": "The Bat! (v9.4.5) Professional",
    },
    "Здравствуйте! Нужна угловая кухня.\r\nТелефон: 8 (916) 123-45-67\r\n".encode("koi8-r"),
)

# An HTML-only letter from Outlook in Windows-1251, quoted-printable, with an estimate attached.
_HTML = (
    "<html><head><style>p {color: red}</style></head><body>"
    "<p>Добрый день!</p><p>Прошу рассчитать&nbsp;кухню<br>по&nbsp;приложенной смете.</p>"
    "<div>С уважением,<br>Анна</div></body></html>"
)
CP1251_HTML = letter(
    {
        "From": f'"{encoded("Петрова Анна", "windows-1251")}" <anna@mail.ru>',
        "To": "sales@kuhni.example.ru",
        "Subject": encoded("Расчёт кухни", "windows-1251"),
        "Date": "Mon, 30 Nov 2026 10:05:00 +0300",
        "Message-ID": "<000a01db4242$1$2@annapc>",
        "MIME-Version": "1.0",
        "X-Mailer": "Microsoft Outlook 16.0",
        "Thread-Index": "AdtCQkI=",
        "Content-Type": 'multipart/mixed; boundary="----=_NextPart_000_000B"',
    },
    b"This is a multi-part message in MIME format.\r\n\r\n------=_NextPart_000_000B\r\n"
    b'Content-Type: text/html; charset="windows-1251"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    + quopri.encodestring(_HTML.encode("cp1251"))
    + b"\r\n------=_NextPart_000_000B\r\n"
    b'Content-Type: application/pdf; name="=?windows-1251?B?'
    + base64.b64encode("Смета.pdf".encode("cp1251"))
    + b'?="\r\nContent-Transfer-Encoding: base64\r\n'
    b'Content-Disposition: attachment; filename="=?windows-1251?B?'
    + base64.b64encode("Смета.pdf".encode("cp1251"))
    + b'?="\r\n\r\nJVBERi0xLjQK\r\n------=_NextPart_000_000B--\r\n',
)

# mail.ru's webmail: UTF-8, the name B-encoded, the body quoted-printable.
UTF8 = letter(
    {
        "From": f"{encoded('Сергей Кузнецов', 'utf-8')} <kuznetsov@mail.ru>",
        "Subject": encoded("Вопрос по фасадам", "utf-8"),
        "Message-ID": "<1764500000.123456789@f700.i.mail.ru>",
        "MIME-Version": "1.0",
        "X-Mailer": "Mail.Ru Mailer 1.0",
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "quoted-printable",
    },
    quopri.encodestring("Сколько стоят фасады из массива?\r\n".encode()),
)

# The mail server's holiday auto-reply to our own letter to Anna.
AUTO_REPLY = letter(
    {
        "From": "anna@mail.ru",
        "Subject": encoded("Re: Ваш расчёт", "utf-8"),
        "Message-ID": "<auto-1@mail.ru>",
        "Auto-Submitted": "auto-replied",
        "Content-Type": "text/plain; charset=utf-8",
    },
    "Я в отпуске до 10 декабря.".encode(),
)

BOUNCE = letter(
    {
        "From": "Mail Delivery System <MAILER-DAEMON@mx.kuhni.example.ru>",
        "Subject": "Undelivered Mail Returned to Sender",
        "Message-ID": "<bounce-1@mx.kuhni.example.ru>",
        "MIME-Version": "1.0",
        "Content-Type": 'multipart/report; report-type=delivery-status; boundary="B1"',
    },
    b"--B1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
    b"--B1\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--B1--\r\n",
)

# Sergey answers from his work address: threading headers name his first letter.
REPLY = letter(
    {
        "From": "S. Kuznetsov <s.kuznetsov@work.example.ru>",
        "Subject": "Re: Вопрос по фасадам",
        "Message-ID": "<reply-1@work.example.ru>",
        "In-Reply-To": "<our-answer@kuhni.example.ru>",
        "References": "<1764500000.123456789@f700.i.mail.ru> <our-answer@kuhni.example.ru>",
        "Content-Type": "text/plain; charset=utf-8",
    },
    "Тогда берём массив.".encode(),
)

# Ivan writes again, a new letter: his lead is still open.
KOI8_AGAIN = letter(
    {
        "From": "ivan.petrov@example.ru",
        "Subject": encoded("Ещё вопрос", "koi8-r"),
        "Message-ID": "<koi8-2@example.ru>",
        "Content-Type": 'text/plain; charset="koi8-r"',
    },
    "И мойку тоже.".encode("koi8-r"),
)

NO_SENDER = letter({"Subject": "???", "Message-ID": "<broken@nowhere>"}, b"hello")


def test_letters_become_leads_once(server, mailbox) -> None:
    server.append(KOI8, CP1251_HTML, UTF8, AUTO_REPLY, BOUNCE, folder=mailbox.folder)
    server.append(REPLY, KOI8_AGAIN, NO_SENDER, folder=mailbox.folder)

    assert mail_intake.poll(mailbox.pk) == 8

    mailbox.refresh_from_db()
    assert (mailbox.last_error, mailbox.last_taken, mailbox.polling_since) == ("", 8, None)
    ivan, anna, sergey = Lead.objects.order_by("id")
    assert (ivan.name, ivan.email) == ("Иван Петров", "ivan.petrov@example.ru")
    assert ivan.phone == "+79161234567"
    assert ivan.message.startswith("Кухня на заказ\n\nЗдравствуйте! Нужна угловая кухня.")
    assert ivan.source == mailbox.source and ivan.team == mailbox.team
    assert (anna.name, anna.email, anna.phone) == ("Петрова Анна", "anna@mail.ru", "")
    assert anna.message == (
        "Расчёт кухни\n\nДобрый день!\n\nПрошу рассчитать кухню\nпо приложенной смете.\n\n"
        "С уважением,\nАнна\n\nAttachments: Смета.pdf"
    )
    assert (sergey.name, sergey.message) == (
        "Сергей Кузнецов",
        "Вопрос по фасадам\n\nСколько стоят фасады из массива?",
    )
    mails = LeadEvent.objects.filter(kind=LeadEvent.Kind.MAIL).order_by("id")
    assert [(e.lead, e.note) for e in mails] == [
        (sergey, "Re: Вопрос по фасадам\n\nТогда берём массив."),
        (ivan, "Ещё вопрос\n\nИ мойку тоже."),
    ]
    outcomes = dict(MailLetter.objects.values_list("message_id", "outcome"))
    assert outcomes["<auto-1@mail.ru>"] == outcomes["<bounce-1@mx.kuhni.example.ru>"] == "skipped"
    broken = MailLetter.objects.get(outcome=MailLetter.Outcome.FAILED)
    assert bytes(broken.raw) == NO_SENDER and "sender" in broken.problem

    # A second poll, and one after the server renumbered the folder, take nothing again.
    assert mail_intake.poll(mailbox.pk) == 0
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=1)
    assert mail_intake.poll(mailbox.pk) == 0
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 8 and mailbox.uidvalidity != 1
    assert (Lead.objects.count(), MailLetter.objects.count(), mails.count()) == (3, 8, 2)


def test_new_letters_only_on_the_next_poll(server, mailbox) -> None:
    server.append(UTF8, folder=mailbox.folder)
    assert mail_intake.poll(mailbox.pk) == 1
    server.append(KOI8, folder=mailbox.folder)
    assert mail_intake.poll(mailbox.pk) == 1
    assert Lead.objects.count() == 2


def test_a_mailbox_being_polled_is_left_alone(mailbox) -> None:
    Mailbox.objects.filter(pk=mailbox.pk).update(polling_since=timezone.now())
    assert mail_intake.poll(mailbox.pk) is None


def test_an_imap_error_is_recorded_and_retried(server, mailbox) -> None:
    server.append(UTF8, folder=mailbox.folder)
    Mailbox.objects.filter(pk=mailbox.pk).update(password="wrong-Pa55")

    assert mail_intake.poll(mailbox.pk) == 0
    mailbox.refresh_from_db()
    assert "Authentication failed" in mailbox.last_error
    assert "wrong-Pa55" not in mailbox.last_error and mailbox.polling_since is None

    Mailbox.objects.filter(pk=mailbox.pk).update(password=dovecot.PASSWORD)
    assert mail_intake.poll(mailbox.pk) == 1
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_the_admin_never_shows_the_password_and_keeps_it_when_left_empty(client, mailbox):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    url = reverse("admin:leads_mailbox_change", args=[mailbox.pk])
    page = client.get(url)
    assert page.status_code == 200 and dovecot.PASSWORD not in page.content.decode()

    post = {
        "team": mailbox.team_id,
        "source": mailbox.source_id,
        "host": "imap.example.ru",
        "port": 993,
        "security": Mailbox.Security.SSL,
        "username": "sales@kuhni.example.ru",
        "password": "",
        "folder": "INBOX",
        "enabled": "on",
    }
    assert client.post(url, post).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.host, mailbox.password) == ("imap.example.ru", dovecot.PASSWORD)

    other = SourceFactory(name="Other", slug="other", team=TeamFactory())
    page = client.post(url, {**post, "source": other.pk})
    assert page.status_code == 200 and "Choose a source of this team." in page.content.decode()
