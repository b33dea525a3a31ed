"""Domain: money as integer minor units plus an ISO 4217 currency. Never float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from chalicelib.domain.errors import CurrencyMismatchError, InvalidAmountError

# ISO 4217 exponents that differ from 2. Everything else uses cents.
_ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits for an ISO 4217 currency code."""
    if currency in _ZERO_DECIMAL:
        return 0
    if currency in _THREE_DECIMAL:
        return 3
    return 2


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in integer minor units of one currency.

    Attributes:
        minor: The amount in minor units (cents for EUR). May be negative.
        currency: Upper-case ISO 4217 code.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not _CURRENCY_RE.match(self.currency):
            raise InvalidAmountError(f"not an ISO 4217 currency code: {self.currency!r}")
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise InvalidAmountError("money minor units must be an integer")

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in the given currency."""
        return cls(0, currency)

    @classmethod
    def parse(cls, amount: str | Decimal | int, currency: str) -> Money:
        """Build from a decimal string ("1234.56") or Decimal, rejecting excess precision.

        Raises:
            InvalidAmountError: the text is not a number or has more decimals than the currency.
        """
        try:
            value = Decimal(str(amount).strip())
        except InvalidOperation as exc:
            raise InvalidAmountError(f"not a decimal amount: {amount!r}") from exc
        if not value.is_finite():
            raise InvalidAmountError(f"not a finite amount: {amount!r}")
        exponent = currency_exponent(currency)
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            # Some exports carry 4-decimal unit prices; totals must round cleanly.
            scaled = scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return cls(int(scaled), currency)

    @classmethod
    def from_decimal_rounded(cls, value: Decimal, currency: str) -> Money:
        """Round a computed Decimal (interest, pro rata) half-up to the currency's minor unit."""
        scaled = value.scaleb(currency_exponent(currency)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        """The amount as a Decimal in major units."""
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def to_wire(self) -> str:
        """The decimal string used on the wire ("1234.56")."""
        exponent = currency_exponent(self.currency)
        return f"{self.to_decimal():.{exponent}f}"

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.minor >= other.minor

    @property
    def is_positive(self) -> bool:
        """True when strictly above zero."""
        return self.minor > 0

    @property
    def is_zero(self) -> bool:
        """True when exactly zero."""
        return self.minor == 0

    def __str__(self) -> str:
        return f"{self.to_wire()} {self.currency}"
