"""Exports of the whole catalog: GET /api/v1/exports/{format} (auditors, architects, admins: the export permission).

Formats are a small registry, :data:`EXPORTS`: name -> :class:`Export` (media type, file name, a function of the
store returning bytes). The native JSON export is built in; the XLSX, CSV (zip) and ArchiMate exports come from the
importer modules that write them (``importers.spreadsheet``, ``importers.archimate``). A new format is one more entry.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from catalog.permissions import require
from catalog.store.base import CatalogStore

router = APIRouter(tags=["exports"])


@dataclass(frozen=True)
class Export:
    media_type: str
    filename: str
    build: Callable[[CatalogStore], bytes]
    description: str


def _native(store: CatalogStore, include_changelog: bool = False) -> bytes:
    from importers.native import export_native

    return (json.dumps(export_native(store, include_changelog), ensure_ascii=False, indent=1) + "\n").encode()


def _xlsx(store: CatalogStore) -> bytes:
    from importers.spreadsheet import write_workbook

    return write_workbook(store, store.metamodel)


def _csv_zip(store: CatalogStore) -> bytes:
    from importers.spreadsheet import write_csv_zip

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog-csv.zip"
        write_csv_zip(store, path)
        return path.read_bytes()


def _archimate(store: CatalogStore) -> bytes:
    from importers.archimate import export_archimate

    return export_archimate(store).xml


EXPORTS: dict[str, Export] = {
    "native": Export("application/json", "catalog.json", _native, "Native JSON (lossless; ioc-catalog import reads "
                                                                  "it back)"),
    "xlsx": Export("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "catalog.xlsx", _xlsx,
                   "Spreadsheet, one sheet per kind (the layout of `ioc-catalog template`)"),
    "csv": Export("application/zip", "catalog-csv.zip", _csv_zip, "The spreadsheet layout as a zip of CSV files"),
    "archimate": Export("application/xml", "catalog-archimate.xml", _archimate,
                        "ArchiMate 3.1 model exchange file (Archi, BiZZdesign, ...)"),
}


def _route(name: str, spec: Export) -> None:
    def export(store: StoreDep, principal: PrincipalDep, include_changelog: bool = False) -> Response:
        require(principal, "export")
        if include_changelog:
            require(principal, "history")
            data = _native(store, True)
        else:
            data = spec.build(store)
        return Response(data, media_type=spec.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{spec.filename}"'})

    def export_native(store: StoreDep, principal: PrincipalDep,
                      include_changelog: bool = Query(False, description="Also the change log (needs the history "
                                                                         "permission)")) -> Response:
        return export(store, principal, include_changelog)

    def export_other(store: StoreDep, principal: PrincipalDep) -> Response:
        return export(store, principal, False)

    handler = export_native if name == "native" else export_other
    router.add_api_route(f"/exports/{name}", handler, methods=["GET"], summary=spec.description,
                         operation_id=f"export_{name}", response_class=Response,
                         responses={**READ_ERRORS, 200: {"content": {spec.media_type: {}}}})


for _name, _spec in EXPORTS.items():
    _route(_name, _spec)
