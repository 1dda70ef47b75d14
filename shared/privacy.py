"""Citizen phone numbers never leave the system in full except to operators."""

import hashlib
import re

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?\d{4}[-\s]?(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str | None:
    """``13800000001`` → ``138****0001``; short or odd numbers keep only the last four digits."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask_phones_in_text(text: str) -> str:
    return _MOBILE.sub(r"\1****\2", text)


def tracking_hash(code: str) -> str:
    """Services other than intake keep only this hash of a citizen's tracking code."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()
