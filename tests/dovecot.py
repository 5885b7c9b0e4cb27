"""A throwaway Dovecot IMAP server for the mail intake's tests and benchmark: its own config,
port and maildir in a temporary directory, one user (`sales`, password `secret`), no TLS.
Dovecot refuses to run its login process or to open mail as root, so when the tests run as
root it uses the `dovenull` and `dovecot` users the Debian package creates; otherwise it runs
everything as the current user."""

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

USER, PASSWORD = "sales", "secret"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


def installed() -> bool:
    return shutil.which("dovecot") is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.root.chmod(0o755)  # its own users must reach the maildir
        self.port = _free_port()
        if os.geteuid() == 0:
            login, internal = "dovenull", "dovecot"
        else:
            login = internal = getpass.getuser()
        self.mail_user = pwd.getpwnam(internal)
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", self.mail_user.pw_uid, self.mail_user.pw_gid)
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                password=PASSWORD,
                login=login,
                internal=internal,
                internal_group=grp.getgrgid(self.mail_user.pw_gid).gr_name,
                mail_user=internal,
                mail_group=grp.getgrgid(self.mail_user.pw_gid).gr_name,
            )
        )
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60  # a loaded machine starts it slowly
        while True:
            try:
                self.connect().logout()
                return
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("dovecot did not start") from None
                time.sleep(0.2)

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        imap.login(USER, PASSWORD)
        return imap

    def append(self, *letters: bytes, folder: str = "INBOX") -> None:
        """Deliver letters as a mail client files them: IMAP APPEND."""
        imap = self.connect()
        try:
            for raw in letters:
                status, data = imap.append(folder, None, None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    def drop(self, letters: list[bytes]) -> None:
        """Deliver many letters at once as the MTA does: files in the maildir's new/."""
        imap = self.connect()
        imap.select("INBOX")  # Dovecot makes the maildir, owned by the mail user
        imap.logout()
        new = self.root / "mail" / USER / "new"
        for raw in letters:
            path = new / f"{time.time():.6f}.{uuid.uuid4().hex}.bench"
            path.write_bytes(raw)
            os.chown(path, self.mail_user.pw_uid, self.mail_user.pw_gid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
