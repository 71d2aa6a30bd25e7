"""Exports of the whole catalog: GET /api/v1/exports/{format} (auditors, architects, admins: the export permission).

One route per format of the export registry (:func:`importers.exports.exporters`, shared with ``ioc-catalog
export``): a new format there is a new route here.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from catalog.permissions import require
from catalog.store.base import CatalogStore
from importers.exports import Exporter, export, exporters

router = APIRouter(tags=["exports"])


def _download(store: CatalogStore, spec: Exporter, include_changelog: bool) -> Response:
    return Response(export(store, spec.name, include_changelog).data, media_type=spec.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{spec.filename}"'})


def _route(spec: Exporter) -> None:
    def export_with_changelog(store: StoreDep, principal: PrincipalDep,
                              include_changelog: bool = Query(False, description="Also the change log (needs the "
                                                                                 "history permission)")) -> Response:
        require(principal, "export")
        if include_changelog:
            require(principal, "history")
        return _download(store, spec, include_changelog)

    def export_content(store: StoreDep, principal: PrincipalDep) -> Response:
        require(principal, "export")
        return _download(store, spec, False)

    router.add_api_route(f"/exports/{spec.name}", export_with_changelog if spec.changelog else export_content,
                         methods=["GET"], summary=spec.description, operation_id=f"export_{spec.name}",
                         response_class=Response, responses={**READ_ERRORS, 200: {"content": {spec.media_type: {}}}})


for _spec in exporters().values():
    _route(_spec)
