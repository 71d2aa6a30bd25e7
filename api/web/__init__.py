"""The web UI's building blocks: who is asking and in which language (:mod:`api.web.context`), forms to catalog
data (:mod:`api.web.forms`). The routes are in :mod:`api.routers.web`."""
