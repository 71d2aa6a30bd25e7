"""Exports of the whole catalog: GET /api/v1/exports/{format} (auditors, architects, admins: the export permission).

One route per format of the export registry (:func:`importers.exports.exporters`, shared with ``ioc-catalog
export``): a new format there is a new route here. What a format could not carry as stored (relationships ArchiMate
cannot express, characters XML cannot hold, written as U+FFFD) is counted in the ``X-Export-Notes`` header and
listed in the server log (``ioc_catalog.api``); ``ioc-catalog export`` prints the list.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import PrincipalDep, StoreDep
from api.routers.common import READ_ERRORS
from api.routers.diagrams import file_headers
from catalog.permissions import require
from catalog.store.base import CatalogStore
from importers.exports import Exporter, export, exporters

router = APIRouter(tags=["exports"])
log = logging.getLogger("ioc_catalog.api")


def _download(store: CatalogStore, spec: Exporter, include_changelog: bool) -> Response:
    out = export(store, spec.name, include_changelog)
    headers = file_headers(spec.media_type, spec.filename)
    if out.notes:
        headers["X-Export-Notes"] = str(len(out.notes))
        log.info("export %s: %d note(s): %s", spec.name, len(out.notes), "; ".join(out.notes[:20]))
    return Response(out.data, media_type=spec.media_type, headers=headers)


def _route(spec: Exporter) -> None:
    def export_with_changelog(
        store: StoreDep,
        principal: PrincipalDep,
        include_changelog: bool = Query(False, description="Also the change log (needs the history permission)"),
    ) -> Response:
        require(principal, "export")
        if include_changelog:
            require(principal, "history")
        return _download(store, spec, include_changelog)

    def export_content(store: StoreDep, principal: PrincipalDep) -> Response:
        require(principal, "export")
        return _download(store, spec, False)

    router.add_api_route(
        f"/exports/{spec.name}",
        export_with_changelog if spec.changelog else export_content,
        methods=["GET"],
        summary=spec.description,
        operation_id=f"export_{spec.name}",
        response_class=Response,
        responses={**READ_ERRORS, 200: {"content": {spec.media_type: {}}}},
    )


for _spec in exporters().values():
    _route(_spec)
