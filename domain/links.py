"""Contact links for a customer: mailto:, tel: and WhatsApp (wa.me), with a message pre-filled.

The pre-filled text travels in the link of the page, URL-encoded; it never reaches a server
log here (the browser opens the customer's mail app, dialler or WhatsApp directly).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

import phonenumbers

from domain.crypto import normalise_phone


@dataclass(frozen=True)
class ContactLinks:
    email: str | None = None  # mailto:
    phone: str | None = None  # tel:
    whatsapp: str | None = None  # https://wa.me/…
    phone_display: str | None = None  # the number written the international way, for reading aloud


def e164(phone: str | None, region: str = "FR") -> str | None:
    """+33612345678 for any number phonenumbers can read; None otherwise."""
    return normalise_phone(phone, region)


def mailto(email: str | None, *, subject: str | None = None, body: str | None = None) -> str | None:
    if not email or "@" not in email:
        return None
    query = {k: v for k, v in (("subject", subject), ("body", body)) if v}
    # RFC 6068: spaces as %20, not "+", so every mail app reads them alike.
    suffix = "?" + urlencode(query, quote_via=quote) if query else ""
    return "mailto:" + quote(email.strip(), safe="@.+") + suffix


def tel(phone: str | None, region: str = "FR") -> str | None:
    number = e164(phone, region)
    return None if number is None else "tel:" + number


def whatsapp(phone: str | None, text: str | None = None, region: str = "FR") -> str | None:
    """wa.me wants the number in E.164 without its "+"; the text is URL-encoded into the link."""
    number = e164(phone, region)
    if number is None:
        return None
    link = "https://wa.me/" + number.lstrip("+")
    return link + "?text=" + quote(text, safe="") if text else link


def international(phone: str | None, region: str = "FR") -> str | None:
    number = e164(phone, region)
    if number is None:
        return phone
    return phonenumbers.format_number(phonenumbers.parse(number, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def contact_links(email: str | None, phone: str | None, *, region: str, subject: str | None = None,
                  message: str | None = None) -> ContactLinks:
    return ContactLinks(
        email=mailto(email, subject=subject, body=message),
        phone=tel(phone, region),
        whatsapp=whatsapp(phone, message, region),
        phone_display=international(phone, region),
    )
