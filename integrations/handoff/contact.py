"""Finding how to call a person back in the message they leave: an e-mail or a phone number."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+", re.UNICODE)
# French numbers: 0X XX XX XX XX with spaces, dots or dashes, or +33 / 0033 forms.
PHONE = re.compile(r"(?<!\d)(?:(?:\+|00)33[\s.-]?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")


def find_contact(text: str) -> str | None:
    """The first e-mail address or phone number in ``text``, normalised; None without."""
    email = EMAIL.search(text)
    if email:
        return email.group(0).rstrip(".")
    phone = PHONE.search(text)
    if phone:
        digits = re.sub(r"\D", "", phone.group(0))
        if digits.startswith("0033"):
            digits = "0" + digits[4:]
        elif digits.startswith("33"):
            digits = "0" + digits[2:]
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return None
