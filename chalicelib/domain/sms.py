"""Domain: SMS length rules (GSM 03.38 / 3GPP TS 23.038 encodings and concatenated segments)."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.domain.errors import ValidationError


class SmsEncoding(StrEnum):
    """How a text travels over SMS: 7-bit GSM alphabet, or UCS-2 for anything else."""

    GSM_7 = "GSM-7"
    UCS_2 = "UCS-2"


# GSM 03.38 default alphabet (one septet each). The escape code 0x1B is not a character.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: sent as ESC + code, so each costs two septets.
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

_GSM_SINGLE = 160
_GSM_PART = 153  # 7 septets of each part carry the concatenation header (UDH)
_UCS2_SINGLE = 70
_UCS2_PART = 67


def sms_encoding(text: str) -> SmsEncoding:
    """Business rule: GSM-7 when every character is in the GSM basic or extension table.

    One character outside both tables (``ç``, ``ê``, an emoji, a curly quote) switches the
    whole message to UCS-2, which more than halves what fits in one SMS.
    """
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text):
        return SmsEncoding.GSM_7
    return SmsEncoding.UCS_2


def _units(text: str, encoding: SmsEncoding) -> list[int]:
    """Cost of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == SmsEncoding.GSM_7:
        return [2 if char in _GSM_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _pack(units: list[int], part_size: int) -> int:
    """Count parts, never splitting an escape sequence or a surrogate pair across two."""
    parts, used = 1, 0
    for cost in units:
        if used + cost > part_size:
            parts += 1
            used = 0
        used += cost
    return parts


def sms_segments(text: str) -> int:
    """Business rule: how many SMS a text is billed as.

    GSM-7 fits 160 septets in one SMS and 153 per part once concatenated (extension characters
    count two); UCS-2 fits 70 code units, then 67 per part. An empty text is 0: there is
    nothing to send.
    """
    if not text:
        return 0
    encoding = sms_encoding(text)
    units = _units(text, encoding)
    single, part = (
        (_GSM_SINGLE, _GSM_PART) if encoding == SmsEncoding.GSM_7 else (_UCS2_SINGLE, _UCS2_PART)
    )
    if sum(units) <= single:
        return 1
    return _pack(units, part)


def fits_budget(text: str, max_segments: int) -> bool:
    """Business rule: a rendered SMS may not cost more than the template's segment budget.

    Raises:
        ValidationError: ``max_segments`` is below 1.
    """
    if max_segments < 1:
        raise ValidationError("an SMS budget is at least one segment", "max_segments")
    return sms_segments(text) <= max_segments
