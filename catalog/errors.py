"""Domain errors. Every error the catalog raises is one of these; the HTTP status for each lives here, in one place.

    CatalogError            base; status 400
    ├── ValidationFailed    input does not fit the metamodel; carries FieldError(location, reason) items; 422
    ├── NotFound            a reference names nothing; 404
    ├── AlreadyExists       create of a reference that exists; 409
    ├── Conflict            optimistic-concurrency failure: the write carried a stale version; 409 (412 over HTTP)
    ├── IntegrityError      a relationship to a missing or dissolved entity, delete of a referenced entity; 409
    ├── PermissionDenied    the principal's role or organisation does not allow the action; 403
    └── StoreError          the backend failed or the file is not a catalog; 500
        └── StoreFull       the disk holding the store is full: the write was rolled back; 507

Every error carries a :class:`catalog.i18n.Message` (a stable code and its parameters; its ``str`` is the English):
``exc.message`` and each ``FieldError.reason``. A door that knows the reader's language renders them with
``exc.text(lang)`` / ``field_error.text(lang)``; the texts come from the message catalog only.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.i18n import Message, msg, text


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field. ``location`` names where: a field path, or file/sheet/row/column;
    ``reason`` is a :class:`Message`."""

    location: str
    reason: Message

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"

    def text(self, lang: str) -> str:
        return f"{self.location}: {text(self.reason, lang)}"


class CatalogError(Exception):
    status = 400
    code = "catalog-error"

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message

    def text(self, lang: str) -> str:
        """The error as a reader of ``lang`` reads it."""
        return text(self.message, lang)


class ValidationFailed(CatalogError):
    status = 422
    code = "validation-failed"

    def __init__(self, errors: list[FieldError], message: Message | None = None):
        self.errors = list(errors)
        if message is None:
            message = (
                msg(
                    "field-errors",
                    errors=tuple(msg("field-error", location=e.location, reason=e.reason) for e in self.errors),
                )
                if self.errors
                else msg("invalid-input")
            )
        super().__init__(message)


class NotFound(CatalogError):
    status = 404
    code = "not-found"


class AlreadyExists(CatalogError):
    status = 409
    code = "already-exists"


class Conflict(CatalogError):
    status = 409
    code = "version-conflict"

    def __init__(self, ref: str, expected: int | None, actual: int | None):
        self.ref, self.expected, self.actual = ref, expected, actual
        super().__init__(msg("version-stale", ref=ref, expected=expected, actual=actual))


class IntegrityError(CatalogError):
    status = 409
    code = "integrity"


class PermissionDenied(CatalogError):
    status = 403
    code = "permission-denied"


class StoreError(CatalogError):
    """The storage engine failed (a lost connection, a corrupt file, a constraint the engine enforces). Its message
    may be the engine's own diagnostic, in the engine's words: the API answers every StoreError with its own
    sentence (``detail-store-error``) in the reader's language and logs the diagnostic for the operator."""

    status = 500
    code = "store-error"

    def __init__(self, message: Message | str):
        super().__init__(message if isinstance(message, Message) else msg("store-diagnostic", detail=message))


class StoreFull(StoreError):
    """A write failed for lack of disk space; it was rolled back, so the catalog is as it was before it."""

    status = 507
    code = "store-full"
