"""Letters to a team's sales mailbox as leads. Beat polls each enabled mailbox over IMAP
(`poll`); every letter above the last UID taken is read with the standard library's `email`
and becomes one of:

- a reply to a letter taken before (In-Reply-To/References) — attached to that letter's lead;
- a letter from someone with an open lead in the team — attached to that lead;
- a "Re:" from a sender whose earlier letter made a lead — attached to it;
- an auto-reply or a bounce — skipped;
- otherwise a new lead, through the web form's intake (`services.lead_receive`).

Each letter is recorded once per mailbox by its Message-ID (MailLetter), so a second poll, or
a folder read again after its UIDVALIDITY changed, takes nothing twice. A letter that cannot be
read is kept, raw and flagged, never dropped; an IMAP error is recorded on the mailbox and the
next poll carries on from the last UID taken."""

import contextlib
import hashlib
import imaplib
import re
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.lib.phones import PhoneError, parse_phone
from leads import channels, services
from leads.models import LeadEvent, Mailbox, MailLetter
from leads.selectors import open_duplicate_of

# A worker that died polling holds its mailbox this long after its last batch; then the next
# poll takes it over.
POLL_LEASE = timedelta(minutes=10)
# Letters fetched per IMAP round trip and taken in one transaction with the last UID.
# (a sender's duplicate lock of the intake is held until the batch commits: seconds)
FETCH_BATCH = 200
IMAP_TIMEOUT = 60
# The longest body kept in a lead's message: a forwarded thread can run to megabytes.
BODY_LIMIT = 20_000


class Unreadable(ValueError):
    """A letter that cannot become a lead; kept raw with this as its problem."""


@dataclass
class Letter:
    message_id: str
    name: str
    sender: str  # the address, lower-cased
    subject: str
    body: str
    attachments: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    automatic: bool = False  # an auto-reply or a bounce

    @property
    def message(self) -> str:
        parts = [self.subject, self.body[:BODY_LIMIT]]
        if self.attachments:
            parts.append(_("Attachments: %s") % ", ".join(self.attachments))
        return "\n\n".join(p for p in parts if p)

    @property
    def is_re(self) -> bool:
        return bool(_RE_SUBJECT.match(self.subject))


_RE_SUBJECT = re.compile(r"\s*(re|ответ|на|aw|sv)\s*(\[\d+\])?\s*:", re.I)
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
# What a phone in a letter's body looks like before `parse_phone` decides: 10 to 15 digits
# with the separators people type, optionally after "+".
_PHONE_LIKE = re.compile(r"(?<![\w+])\+?\d[\d\s().\-]{8,18}\d(?!\w)")


def read_letter(message: EmailMessage, message_id: str) -> Letter:
    """The letter's sender, subject, text and threading, decoded from whatever charsets and
    transfer encodings it came in; Unreadable when it has no sender to make a lead of."""
    name, address = parseaddr(_header(message, "From"))
    address = channels.normalise_email(address)
    if "@" not in address:
        raise Unreadable(_("The letter has no sender address."))
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        body = _text(body_part)
        if body_part.get_content_subtype() == "html":
            body = html_to_text(body)
    return Letter(
        message_id=message_id,
        name=channels.normalise_name(name),
        sender=address,
        subject=" ".join(_header(message, "Subject").split()),
        body=_clean(body).strip(),
        attachments=[_clean(p.get_filename() or "") or "?" for p in message.iter_attachments()],
        references=_MESSAGE_IDS.findall(
            _header(message, "In-Reply-To") + " " + _header(message, "References")
        ),
        automatic=is_automatic(message, address),
    )


def message_id_of(raw: bytes, message: EmailMessage | None) -> str:
    """The letter's Message-ID, or (none, or the letter unreadable) a digest of its bytes —
    the same letter read again gets the same one either way."""
    try:
        found = message and _MESSAGE_IDS.search(_header(message, "Message-ID"))
    except Exception:  # noqa: BLE001 — an unreadable letter is known by its bytes
        found = None
    if found and len(found.group()) <= 1000:
        return found.group()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def is_automatic(message: EmailMessage, sender: str) -> bool:
    """An auto-reply ("I am on holiday") or a bounce (a delivery report): answering those with
    a call would be calling a robot. The headers RFC 3834 and the common mail servers set."""
    if _header(message, "Auto-Submitted").strip().lower() not in ("", "no"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if _header(message, "Precedence").strip().lower() in ("bulk", "auto_reply", "list", "junk"):
        return True
    if _header(message, "Return-Path").strip() == "<>":
        return True
    if message.get_content_type() == "multipart/report":
        return True
    return sender.split("@")[0] in ("mailer-daemon", "postmaster")


def _header(message: EmailMessage, name: str) -> str:
    """A header decoded (RFC 2047, any charset), "" when absent."""
    value = message.get(name)
    return "" if value is None else _clean(str(value))


def _text(part: MIMEPart) -> str:
    """A text part decoded from its transfer encoding and charset; a charset Python does not
    know is read as UTF-8 with the undecodable bytes marked, not lost with the letter."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _clean(text: str) -> str:
    """Text fit for the database: raw 8-bit bytes in a header (a Russian mail client that did
    not encode its subject) read as UTF-8 or else Windows-1251, and no NUL characters."""
    if any("\udc80" <= c <= "\udcff" for c in text):
        data = text.encode("utf-8", "surrogateescape")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1251", "replace")
    return text.replace("\x00", "")


class _TextOfHtml(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "blockquote"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in self.BREAKS - {"br"}:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(" ".join(data.split()) if data.strip() else " ")


def html_to_text(html: str) -> str:
    """An HTML body as the text a reader sees: tags dropped, paragraphs and line breaks kept
    as lines, styles and scripts left out."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def phone_in(text: str) -> str:
    """The first valid phone number written in the text, as typed; "" when none."""
    for candidate in _PHONE_LIKE.findall(text):
        try:
            parse_phone(candidate)
        except PhoneError:
            continue
        return candidate.strip()
    return ""


# ------------------------------------------------------------------------------ taking letters


def take(mailbox: Mailbox, letters: list[tuple[int, bytes]]) -> int:
    """Record a batch of the mailbox's letters ((UID, raw bytes)) and act on each, with the
    mailbox's last UID, in one transaction; the number not taken before. Each letter is read
    once, and one query finds those already taken."""
    read = [(uid, raw, _parsed(raw)) for uid, raw in letters]
    ids = [message_id_of(raw, message) for _uid, raw, message in read]
    taken = 0
    with transaction.atomic():
        known = set(
            MailLetter.objects.filter(mailbox=mailbox, message_id__in=ids).values_list(
                "message_id", flat=True
            )
        )
        for (uid, raw, message), message_id in zip(read, ids, strict=True):
            if message_id in known:
                continue
            known.add(message_id)  # a letter filed twice in the folder
            _take_one(mailbox, uid, raw, message, message_id)
            taken += 1
        if letters:
            # Renewing the claim: a long first poll is not taken for a dead worker's.
            Mailbox.objects.filter(pk=mailbox.pk).update(
                last_uid=letters[-1][0], polling_since=timezone.now()
            )
    return taken


def _parsed(raw: bytes) -> EmailMessage | None:
    try:
        return BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:  # noqa: BLE001 — kept as unreadable by _take_one
        return None


def _take_one(
    mailbox: Mailbox, uid: int, raw: bytes, message: EmailMessage | None, message_id: str
) -> None:
    try:
        with transaction.atomic():  # a savepoint: a letter that fails leaves nothing half-done
            if message is None:
                raise Unreadable(_("The letter could not be parsed."))
            _act_on(mailbox, uid, read_letter(message, message_id))
    except Exception as error:  # noqa: BLE001 — any letter that fails is kept for the head
        problem = str(error) if isinstance(error, Unreadable) else repr(error)
        MailLetter.objects.create(
            mailbox=mailbox,
            message_id=message_id,
            uid=uid,
            outcome=MailLetter.Outcome.FAILED,
            problem=problem[:2000],
            raw=raw,
        )


def _act_on(mailbox: Mailbox, uid: int, letter: Letter) -> MailLetter:
    record = MailLetter(
        mailbox=mailbox,
        message_id=letter.message_id,
        uid=uid,
        sender=letter.sender,
        subject=letter.subject[:500],
    )
    if letter.automatic:
        record.outcome = MailLetter.Outcome.SKIPPED
    elif lead := _lead_answered(mailbox, letter):
        record.outcome, record.lead = MailLetter.Outcome.ATTACHED, lead
        LeadEvent.objects.create(
            lead=lead, at=record.received_at, kind=LeadEvent.Kind.MAIL, note=letter.message
        )
    else:
        fields = {
            "name": letter.name,
            "email": letter.sender,
            "phone": phone_in(letter.body),
            "message": letter.message,
            "external_id": "mail:" + hashlib.sha256(letter.message_id.encode()).hexdigest(),
        }
        record.outcome = MailLetter.Outcome.LEAD
        record.lead, _created = services.lead_receive(source=mailbox.source, fields=fields)
    record.save()
    return record


def _lead_answered(mailbox: Mailbox, letter: Letter):
    """The lead this letter continues: the one of a letter it replies to, else the sender's
    open lead in the team (the intake's duplicate rule), else — a "Re:" without threading
    headers, as some webmail sends — the lead of the sender's last letter."""
    team_letters = MailLetter.objects.filter(mailbox__team=mailbox.team, lead__isnull=False)
    if letter.references:
        earlier = team_letters.filter(message_id__in=letter.references).order_by("-id").first()
        if earlier is not None:
            return earlier.lead
    lead = open_duplicate_of(mailbox.team, [letter.sender])
    if lead is None and letter.is_re:
        earlier = team_letters.filter(sender=letter.sender).order_by("-id").first()
        lead = earlier.lead if earlier is not None else None
    return lead


# ------------------------------------------------------------------------------------ polling


def poll(mailbox_id: int) -> int | None:
    """Take the mailbox's new letters; their number, or None when it is disabled or another
    worker is polling it (a conditional UPDATE: two workers never poll one mailbox)."""
    now = timezone.now()
    claimed = (
        Mailbox.objects.filter(pk=mailbox_id, enabled=True)
        .filter(Q(polling_since__isnull=True) | Q(polling_since__lt=now - POLL_LEASE))
        .update(polling_since=now)
    )
    if not claimed:
        return None
    mailbox = Mailbox.objects.select_related("team", "source__team").get(pk=mailbox_id)
    taken, error = 0, ""
    try:
        taken = _poll_claimed(mailbox)
    except (imaplib.IMAP4.error, OSError) as problem:  # OSError: refused, timeout, TLS
        error = f"{type(problem).__name__}: {problem}"
    except Exception as problem:  # a fault of ours: shown on the mailbox too, and raised
        error = f"{type(problem).__name__}: {problem}"
        raise
    finally:
        Mailbox.objects.filter(pk=mailbox_id).update(
            polling_since=None, last_polled_at=timezone.now(), last_taken=taken, last_error=error
        )
    return taken


def _poll_claimed(mailbox: Mailbox) -> int:
    imap = _connect(mailbox)
    try:
        status, data = imap.select(_quoted(mailbox.folder), readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(
                _("No folder %(folder)s: %(answer)s") % {"folder": mailbox.folder, "answer": data}
            )
        uidvalidity = int(imap.response("UIDVALIDITY")[1][0])
        if uidvalidity != mailbox.uidvalidity:
            # The server renumbered the folder: read it all again; Message-IDs keep it once.
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
            Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
        status, data = imap.uid("SEARCH", "UID", f"{mailbox.last_uid + 1}:*")
        if status != "OK":
            raise imaplib.IMAP4.error(data)
        # "n:*" names the last letter even when its UID is below n.
        uids = sorted(u for u in map(int, (data[0] or b"").split()) if u > mailbox.last_uid)
        taken = 0
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            taken += take(mailbox, _fetch(imap, batch))
        return taken
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.security == Mailbox.Security.SSL:
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.host,
            mailbox.port,
            ssl_context=ssl.create_default_context(),
            timeout=IMAP_TIMEOUT,
        )
    else:
        imap = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=IMAP_TIMEOUT)
        if mailbox.security == Mailbox.Security.STARTTLS:
            imap.starttls(ssl.create_default_context())
    imap.login(mailbox.username, mailbox.password)
    return imap


def _fetch(imap: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    """The letters' raw bytes by UID; BODY.PEEK leaves them unread for the people who read
    the mailbox too."""
    status, data = imap.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(data)
    letters = []
    for item in data:
        if isinstance(item, tuple):
            found = re.search(rb"UID (\d+)", item[0])
            if found:
                letters.append((int(found.group(1)), item[1]))
    return sorted(letters)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
