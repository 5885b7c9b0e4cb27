#!/usr/bin/env python
"""Mail intake on PostgreSQL against a real IMAP server: a 10,000-letter mailbox polled once,
then again (issue 17 item 7: "a 10,000-letter mailbox imported without duplicates on a
second poll").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_mail_bench \
        .venv/bin/python bench/mail_bench.py [--letters 10000] [--keep]

What it does:
1. Creates the database if missing and migrates it; teams and sources from bench/harness.py.
   A source "Bench e-mail" of the first bench team and a mailbox reading it are made; the
   bench teams' leads and the mailbox's letters from an earlier run are deleted.
2. Starts its own Dovecot (tests/dovecot.py: a temporary config, port and maildir) and drops
   the letters into the maildir as an MTA delivers them, one file each: a third KOI8-R plain
   text, a third Windows-1251 HTML from Outlook, a third UTF-8 quoted-printable, each from its
   own sender with a phone in the body — every letter is one new lead.
3. Polls the mailbox as the beat task does (leads.mail_intake.poll) and times it: Dovecot
   indexing the maildir, the fetches, parsing and the leads written through the web form's
   intake. Checks one lead per letter, then polls again and checks nothing was added.
Prints the times, letters per second and the load average. Dovecot is stopped at the end; the
database is dropped unless --keep or it existed before.
"""

import argparse
import os
import quopri
import sys
import time
from email.header import Header
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402 - after the path is set
from tests import dovecot  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args()


def letters(count: int) -> list[bytes]:
    """Letters in the three shapes Russian clients send, each from its own sender."""
    made = []
    for i in range(count):
        phone = f"+7 916 {i // 10000 % 1000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"
        charset, kind = [("koi8-r", "plain"), ("cp1251", "html"), ("utf-8", "plain")][i % 3]
        text = f"Здравствуйте! Нужна кухня, звоните {phone}.\r\nСпасибо."
        if kind == "html":
            text = f"<html><body><p>{text}</p><div>С уважением</div></body></html>"
        name = Header(f"Клиент Номер {i}", charset).encode()
        subject = Header(f"Кухня на заказ, заявка {i}", charset).encode()
        head = (
            f"From: {name} <client{i}@example.ru>\r\nTo: sales@kuhni.example.ru\r\n"
            f"Subject: {subject}\r\nMessage-ID: <bench-{i}@example.ru>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: text/{kind}; charset="{charset}"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        made.append(head.encode() + quopri.encodestring(text.encode(charset)))
    return made


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    created = harness.ensure_database(url)
    harness.django_setup()
    harness.migrate_and_collect()

    from leads import mail_intake
    from leads.models import Lead, LeadSource, Mailbox, MailLetter

    world = harness.make_world()
    team = world["teams"][0]
    Mailbox.objects.filter(team__in=world["teams"]).delete()
    harness.clear_leads(world)
    source, _ = LeadSource.objects.update_or_create(
        slug="bench-mail",
        defaults={"name": "Bench e-mail", "channel": LeadSource.Channel.EMAIL, "team": team},
    )
    server = dovecot.Dovecot()
    try:
        mailbox = Mailbox.objects.create(
            team=team,
            source=source,
            host="127.0.0.1",
            port=server.port,
            security=Mailbox.Security.NONE,
            username=dovecot.USER,
            password=dovecot.PASSWORD,
        )
        t0 = time.perf_counter()
        server.drop(letters(args.letters))
        print(f"delivered {args.letters} letters in {time.perf_counter() - t0:.1f} s")

        load = os.getloadavg()
        t0 = time.perf_counter()
        taken = mail_intake.poll(mailbox.pk)
        first = time.perf_counter() - t0
        leads = Lead.objects.filter(source=source).count()
        mailbox.refresh_from_db()
        print(
            f"first poll: {taken} letters, {leads} leads in {first:.1f} s "
            f"= {leads / first:.0f} leads/s (load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})"
        )
        assert mailbox.last_error == "", mailbox.last_error
        assert taken == leads == args.letters, (taken, leads)

        t0 = time.perf_counter()
        again = mail_intake.poll(mailbox.pk)
        second = time.perf_counter() - t0
        print(f"second poll: {again} letters in {second:.2f} s")
        assert again == 0
        assert Lead.objects.filter(source=source).count() == args.letters
        assert MailLetter.objects.filter(mailbox=mailbox).count() == args.letters
        print("no duplicates: one lead and one letter record per letter")
    finally:
        server.stop()
        if created and not args.keep:
            from django.db import connections

            connections.close_all()
            harness.drop_database(url)


if __name__ == "__main__":
    main()
