"""Citizen phone numbers never leave the system in full except to operators."""

import hashlib
import re
import secrets

_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?\s?86[-\s]{0,2})?(1[-\s]{0,2}[3-9](?:[-\s]{0,2}[0-9]){9})(?![0-9])")
"""A mainland mobile number however it is typed: 13800000001, 138 0000 0001, 138-0000-0001,
+86 138…, 0086-138…, with digits spaced out (1 3 8 …)."""
_WIDE = str.maketrans("０１２３４５６７８９＋－　", "0123456789+- ")
"""Full-width digits, plus, dash and space, as Chinese input methods type them: one
character each way, so a match in the translated text is the same span in the original."""
_DIGIT = re.compile("[0-9\uff10-\uff19]")
MOBILE_DIGITS = 11
TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""No 0/O or 1/I: a code read aloud over the phone or copied from paper is not mistyped."""


def mask_phone(phone: str | None) -> str | None:
    """``13800000001`` → ``138****0001``; short or odd numbers keep only the last four digits."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask_phones_in_text(text: str) -> str:
    """Hide the middle four digits of every mobile number in free text, in place: the
    length and the separators stay, so the text still reads as it was written."""
    if len(_DIGIT.findall(text)) < MOBILE_DIGITS:
        return text  # most text, and every event decoded carries some: checked in a tenth of the time
    plain = text.translate(_WIDE)
    chars = list(text)
    for match in _MOBILE.finditer(plain):
        digits = [i for i in range(match.start(1), match.end(1)) if plain[i].isdigit()]
        for i in digits[3:7]:
            chars[i] = "*"
    return "".join(chars)


def tracking_hash(code: str) -> str:
    """Services other than intake keep only this hash of a citizen's tracking code."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_tracking_code() -> str:
    """A citizen's tracking code, or the code residents evaluate a volunteer project with:
    ten letters, 50 bits; only its ``tracking_hash`` is kept outside the service that made it."""
    # One read of the system's randomness, not ten: with 32 letters, a byte's remainder
    # picks each of them equally often (256 is a multiple of 32).
    return "".join([TRACKING_ALPHABET[byte % len(TRACKING_ALPHABET)] for byte in secrets.token_bytes(10)])
