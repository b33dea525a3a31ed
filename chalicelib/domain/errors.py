"""Domain: the errors the domain and services raise on purpose."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every expected business error. `code` is stable and machine-readable."""

    code = "domain-error"


class InvalidAmountError(DomainError):
    """An amount or currency that cannot be represented as Money."""

    code = "invalid-amount"


class CurrencyMismatchError(DomainError):
    """Two amounts in different currencies were combined."""

    code = "currency-mismatch"


class NotFoundError(DomainError):
    """A requested entity does not exist."""

    code = "not-found"


class InvoiceNotFoundError(NotFoundError):
    """No invoice with that id."""

    code = "invoice-not-found"


class CustomerNotFoundError(NotFoundError):
    """No customer with that id."""

    code = "customer-not-found"


class InvalidTransitionError(DomainError):
    """The requested change is not allowed from the entity's current state."""

    code = "invalid-transition"


class ConcurrentUpdateError(DomainError):
    """Someone else changed the entity first; reload and retry."""

    code = "concurrent-update"


class ValidationError(DomainError):
    """A business validation failed; `field` names the offending field."""

    code = "validation-error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthenticationError(DomainError):
    """Missing, unknown, expired or revoked credentials."""

    code = "unauthenticated"


class PermissionDeniedError(DomainError):
    """Authenticated, but the role may not do this."""

    code = "forbidden"
