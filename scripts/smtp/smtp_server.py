#!/usr/bin/env python3
"""A real SMTP server for kvaudit's delivery tests (aiosmtpd), on loopback.

Each accepted message is written to MAILDIR as NNNNNN.eml (the bytes as received) with
NNNNNN.json beside it: the envelope (sender, recipients), the login that authenticated,
whether the session was encrypted, and the message as Python's email package reads it
(headers decoded, every text part decoded), so tests check content, not encodings. Files
appear only complete: written to a temporary name, then renamed.

TLS: --tls none | starttls | implicit. For starttls and implicit the server makes its own
certificate authority and a certificate for 127.0.0.1 and localhost (trustme), and writes
the authority to CERTDIR/ca.pem for the client to trust (reused when the server is started
again on the same CERTDIR).

AUTH: --login NAME requires that login (PLAIN or LOGIN), with the password read from the
environment variable KVAUDIT_TEST_SMTP_PASSWORD (never from the command line, which other
processes can read).

When it listens, the server prints "READY <port>" on stdout and flushes it; it stops on
SIGTERM or when stdin closes (so it dies with the test that started it).

--stall-seconds N stores each message, then waits N seconds before answering 250: the
window in which a crashing client cannot know its mail arrived.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    """Writes each message and its envelope to the mail folder."""

    def __init__(self, maildir, stall_seconds):
        self.maildir = maildir
        self.stall_seconds = stall_seconds
        self.count = len([n for n in os.listdir(maildir) if n.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.maildir, f"{self.count:06d}")
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "encrypted": session.ssl is not None or server.implicit_tls,
            "headers": {name.lower(): str(value) for name, value in message.items()},
            "content_type": message.get_content_type(),
            "parts": [
                {"content_type": part.get_content_type(), "text": part.get_content()}
                for part in message.walk()
                if part.get_content_maintype() == "text"
            ],
        }
        for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
            with open(stem + suffix + ".tmp", "wb") as f:
                f.write(data)
            os.rename(stem + suffix + ".tmp", stem + suffix)
        # --stall-seconds: the message is stored but the client hears nothing yet, as when
        # a server accepts a mail and the connection breaks before its reply arrives.
        await asyncio.sleep(self.stall_seconds)
        return "250 Message accepted for delivery"


class ImplicitAware(SMTP):
    """aiosmtpd's session says nothing of a TLS layer under it: remember that there is one."""

    def __init__(self, implicit_tls, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.implicit_tls = implicit_tls


def authenticator(login, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == login
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    return check


def tls_contexts(certdir):
    import trustme

    # The authority is kept in CERTDIR: a server restarted on the same folder (a test's
    # "down, then up") presents a certificate the client already trusts.
    ca_pem, ca_key = os.path.join(certdir, "ca.pem"), os.path.join(certdir, "ca.key")
    if os.path.exists(ca_pem) and os.path.exists(ca_key):
        with open(ca_pem, "rb") as cert, open(ca_key, "rb") as key:
            ca = trustme.CA.from_pem(cert.read(), key.read())
    else:
        ca = trustme.CA()
        os.makedirs(certdir, exist_ok=True)
        ca.private_key_pem.write_to_path(ca_key)
        ca.cert_pem.write_to_path(ca_pem)
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--certdir")
    parser.add_argument("--login")
    parser.add_argument("--stall-seconds", type=float, default=0)
    args = parser.parse_args()

    os.makedirs(args.maildir, exist_ok=True)
    handler = Store(args.maildir, args.stall_seconds)
    context = None
    if args.tls != "none":
        if not args.certdir:
            parser.error("--certdir is required with TLS")
        context = tls_contexts(args.certdir)

    smtp_args = {"hostname": "kvaudit-test-smtp", "enable_SMTPUTF8": True}
    if args.tls == "starttls":
        smtp_args.update(tls_context=context, require_starttls=True)
    if args.login:
        password = os.environ["KVAUDIT_TEST_SMTP_PASSWORD"]
        # With implicit TLS aiosmtpd does not see a STARTTLS layer; the session is
        # encrypted from the first byte, so requiring STARTTLS before AUTH does not apply.
        smtp_args.update(
            authenticator=authenticator(args.login, password),
            auth_required=True,
            auth_require_tls=args.tls == "starttls",
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ImplicitAware(args.tls == "implicit", handler, **smtp_args),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.tls == "implicit" else None,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1024) else None)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
