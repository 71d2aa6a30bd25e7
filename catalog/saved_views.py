"""Named views of the graph explorer, saved in the catalog as records (collection ``saved-view``) and listed per
user: a view is the explorer's state as its URL holds it (start, expanded entities, filters, grouping, layout).

A view belongs to the user who saved it: only that user lists, replaces or deletes it. Views are not catalog facts
and are written without a change-log entry (saving a view does not move the catalog's revision, so the analyses'
caches stay warm).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from catalog.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from catalog.i18n import msg
from catalog.permissions import Principal, require
from catalog.store.base import CatalogStore, WriteContext

COLLECTION = "saved-view"
MAX_NAME = 80
MAX_QUERY = 4_000
MAX_PER_USER = 100
# the parameters of the explorer's URL a view keeps (anything else is dropped)
KEYS = (
    "start",
    "expand",
    "kind",
    "owner",
    "province",
    "lifecycle",
    "type",
    "on",
    "group",
    "fold",
    "open",
    "layout",
    "spof",
    "q",
    "all",
)


@dataclass(frozen=True)
class SavedView:
    name: str
    query: str  # the explorer's query string, without the page language
    updated_at: str


def clean_query(query: str) -> str:
    """The explorer parameters of a query string, in a stable form (unknown parameters and the language dropped)."""
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k in KEYS and len(v) <= 200]
    return urlencode(pairs)


class SavedViews:
    """One user's saved views."""

    def __init__(self, store: CatalogStore, principal: Principal):
        require(principal, "read")
        self.store, self.principal = store, principal

    def _key(self, name: str) -> str:
        return f"{self.principal.name}/{name}"

    def list(self) -> list[SavedView]:
        prefix = f"{self.principal.name}/"
        out = []
        offset = 0
        while True:
            page = self.store.list_records(COLLECTION, limit=500, offset=offset)
            out += [
                SavedView(r.data["name"], r.data["query"], r.updated_at)
                for r in page
                if r.key.startswith(prefix) and r.data.get("owner") == self.principal.name
            ]
            if len(page) < 500:
                break
            offset += 500
        return sorted(out, key=lambda v: v.name.casefold())

    def save(self, name: str, query: str) -> SavedView:
        """Create or replace the view ``name``; the name is 1-80 characters, the query the explorer's."""
        self._signed_in()
        name = " ".join(str(name).split())
        errors = []
        if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            errors.append(FieldError("name", msg("saved-view-name-invalid", limit=MAX_NAME)))
        if len(query) > MAX_QUERY:
            errors.append(FieldError("query", msg("saved-view-query-too-long", limit=MAX_QUERY)))
        cleaned = clean_query(query)
        if not cleaned:
            errors.append(FieldError("query", msg("saved-view-query-empty")))
        if errors:
            raise ValidationFailed(errors)
        existing = self.store.get_record(COLLECTION, self._key(name))
        if existing is None and len(self.list()) >= MAX_PER_USER:
            raise ValidationFailed([FieldError("name", msg("saved-view-too-many", limit=MAX_PER_USER))])
        rec = self.store.put_record(
            COLLECTION,
            self._key(name),
            {"owner": self.principal.name, "name": name, "query": cleaned},
            WriteContext(actor=self.principal.name),
            log=False,
        )
        return SavedView(name, cleaned, rec.updated_at)

    def _signed_in(self) -> None:
        """Saving and deleting are a person's own: an anonymous visitor has no views (and none to delete)."""
        if self.principal.name == "anonymous":
            raise PermissionDenied(msg("saved-view-sign-in"))

    def delete(self, name: str) -> None:
        self._signed_in()
        key = self._key(" ".join(str(name).split()))
        if self.store.get_record(COLLECTION, key) is None:
            raise NotFound(msg("saved-view-not-found", name=name))
        self.store.delete_record(COLLECTION, key, WriteContext(actor=self.principal.name), log=False)


__all__ = ["COLLECTION", "SavedView", "SavedViews", "clean_query"]
