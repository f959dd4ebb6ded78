"""Notices by email: the owner of an account is told when what protects it changes.

Sent only when SMTP is configured, and only to a verified address (an address nobody confirmed
may be anyone's). Queued like the reset email (mail.py), so a slow or dead mail server never
delays or changes an answer. A notice names the change and when; it never holds a link that
signs in, only the site's address.
"""

from datetime import datetime, timezone

from ... import mail

SUBJECTS = {
    "password_changed": "Your password was changed",
    "password_reset": "Your password was reset",
    "email_changed": "Your email address was changed",
    "totp_on": "Two-factor authentication was turned on",
    "totp_off": "Two-factor authentication was turned off",
    "passkey_added": "A passkey was added",
    "identity_linked": "A sign-in from another site was linked",
}


def send(services, user: dict, kind: str, address: str | None = None, verified: bool | None = None) -> bool:
    """Queue the notice ``kind`` for ``user``, to their address (or ``address``, e.g. the old one after an
    email change, with ``verified`` its state); True when queued. Nothing without SMTP or a verified address."""
    address = user.get("email") if address is None else address
    verified = user.get("email_verified") if verified is None else verified
    if services.mailer is None or not address or not verified:
        return False
    s = services.settings
    now = services.clock()
    at = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    message = mail.notice_email(s.mail_from, address, user["uid"], SUBJECTS[kind], at, s.public_url, now)
    return services.mailer.send(message)
