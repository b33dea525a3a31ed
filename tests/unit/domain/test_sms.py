"""SMS encodings and segment counts (GSM 03.38 basic + extension tables, UCS-2)."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.sms import SmsEncoding, fits_budget, sms_encoding, sms_segments

GSM, UCS2 = SmsEncoding.GSM_7, SmsEncoding.UCS_2

# fmt: off
ENCODING = [
    # Columns: case, text, encoding.
    ("plain ASCII", "Facture F-12 due le 15/10", GSM),
    ("French accents in GSM", "échéance dépassée, réglez à réception. Où ? Là !", GSM),
    ("upper-case C cedilla is GSM", "ÇA", GSM),
    ("lower-case c cedilla is not", "reçu", UCS2),
    ("circumflex is not", "Tâche", UCS2),
    ("e circumflex is not", "prêt", UCS2),
    ("euro sign from the extension table", "Montant : 120 €", GSM),
    ("all extension characters", "^{}\\[~]|€\f", GSM),
    ("Greek capitals in GSM", "ΔΦΓΛΩΠΨΣΘΞ", GSM),
    ("newline and carriage return", "a\nb\rc", GSM),
    ("tab is not GSM", "a\tb", UCS2),
    ("curly apostrophe", "l’échéance", UCS2),
    ("emoji", "Merci 🙏", UCS2),
    ("backtick is not GSM", "`code`", UCS2),
    ("empty", "", GSM),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in ENCODING], ids=[c[0] for c in ENCODING]
)
def test_sms_encoding(text, expected) -> None:
    assert sms_encoding(text) == expected


def test_encoding_names_are_the_usual_labels() -> None:
    assert (SmsEncoding.GSM_7, SmsEncoding.UCS_2) == ("GSM-7", "UCS-2")


# fmt: off
SEGMENTS = [
    # Columns: case, text, segments.
    ("empty: nothing to send", "", 0),
    ("one character", "a", 1),
    ("160 GSM characters", "a" * 160, 1),
    ("161 GSM characters", "a" * 161, 2),
    ("306 GSM characters: two parts of 153", "a" * 306, 2),
    ("307 GSM characters", "a" * 307, 3),
    ("80 euro signs fill one SMS", "€" * 80, 1),
    ("81 euro signs", "€" * 81, 2),
    ("159 + one extension char", "a" * 159 + "€", 2),
    ("escape never split across parts", "a" * 152 + "€" + "a" * 152, 3),
    ("escape fits at the end of a part", "a" * 151 + "€" + "a" * 153, 2),
    ("70 UCS-2 characters", "ç" * 70, 1),
    ("71 UCS-2 characters", "ç" * 71, 2),
    ("134 UCS-2 characters: two parts of 67", "ç" * 134, 2),
    ("135 UCS-2 characters", "ç" * 135, 3),
    ("one accent makes 100 chars two SMS", "a" * 99 + "ç", 2),
    ("emoji count two units", "🙏" * 35, 1),
    ("36 emoji", "🙏" * 36, 2),
    ("surrogate pair never split", "ç" * 66 + "🙏" + "ç" * 66, 3),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in SEGMENTS], ids=[c[0] for c in SEGMENTS]
)
def test_sms_segments(text, expected) -> None:
    assert sms_segments(text) == expected


@pytest.mark.parametrize(
    ("text", "budget", "fits"),
    [
        ("a" * 160, 1, True),
        ("a" * 161, 1, False),
        ("a" * 161, 2, True),
        ("ç" * 71, 1, False),
        ("", 1, True),
    ],
)
def test_fits_budget(text, budget, fits) -> None:
    assert fits_budget(text, budget) is fits


@pytest.mark.parametrize("budget", [0, -1])
def test_budget_below_one_segment_is_refused(budget) -> None:
    with pytest.raises(ValidationError) as error:
        fits_budget("hello", budget)
    assert error.value.field == "max_segments"
