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
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field. ``location`` names where: a field path, or file/sheet/row/column."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class CatalogError(Exception):
    status = 400
    code = "catalog-error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationFailed(CatalogError):
    status = 422
    code = "validation-failed"

    def __init__(self, errors: list[FieldError], message: str | None = None):
        self.errors = list(errors)
        super().__init__(message or "; ".join(str(e) for e in self.errors) or "invalid input")


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
        super().__init__(f"{ref}: stale version {expected}, current version is {actual}")


class IntegrityError(CatalogError):
    status = 409
    code = "integrity"


class PermissionDenied(CatalogError):
    status = 403
    code = "permission-denied"


class StoreError(CatalogError):
    status = 500
    code = "store-error"


class StoreFull(StoreError):
    """A write failed for lack of disk space; it was rolled back, so the catalog is as it was before it."""

    status = 507
    code = "store-full"
