"""How diagrams look beyond what the metamodel says: the style of aggregated edges, changes and focus, and the
diagram's own words. What relationships mean is not here: the direction data flows along each
(``RelationSpec.flows_from``: edges are drawn that way, so arrows point into the operations centre), how each is
drawn (``RelationSpec.style``), node shapes and colours (``KindSpec.shape`` / ``KindSpec.color``) and the labels of
enumerated values (protocols, lifecycle stages: ``AttributeSpec.value_label``) all come from catalog/metamodel.py, so
a kind or relationship declared there is drawn without touching diagrams/. A relationship type the metamodel does
not declare is drawn as stored, solid grey, and does not shape the layout.
"""

from __future__ import annotations

from catalog.i18n import Message, msg
from catalog.metamodel import DEFAULT, EdgeStyle, Metamodel

AGGREGATE = "aggregate"  # the edge type of a collapsed landscape's organisation-to-organisation data flows
AGGREGATE_EDGE = EdgeStyle("solid", "#1d4ed8", "normal", 1.2)
DEFAULT_EDGE = EdgeStyle()

# Changes (diff view) and focus: colour *and* line style, so they read in black and white too.
HIGHLIGHT = {
    "added": ("#15803d", "bold", "#dcfce7"),  # (line colour, extra style, fill)
    "removed": ("#b91c1c", "dashed", "#fee2e2"),
    "changed": ("#c2410c", "bold", "#ffedd5"),
    "focus": ("#111111", "bold", ""),
    "external": ("#6b7280", "dashed", "#f9fafb"),  # owned outside the view's scope (the IOC view's sources)
}

WORDS: dict[str, Message] = {
    "legend": msg("diagram-legend"),
    "formerly": msg("diagram-formerly"),
    "as_of": msg("diagram-as-of"),
    "recorded": msg("diagram-recorded"),
    "current_record": msg("diagram-current-record"),
    "revision": msg("diagram-revision"),
    "via": msg("diagram-via"),
    "no_owner": msg("diagram-no-owner"),
    "platforms": msg("diagram-platforms"),
    "ioc": msg("diagram-ioc"),
    "added": msg("diagram-added"),
    "removed": msg("diagram-removed"),
    "changed": msg("diagram-changed"),
    "external": msg("diagram-external"),
    "external_sources": msg("diagram-external-sources"),
    "scope": msg("diagram-scope"),
    "valid_on": msg("diagram-valid-on"),
    "full_lineage": msg("diagram-full-lineage"),
    "whole_catalog": msg("diagram-whole-catalog"),
    "with_units": msg("diagram-with-units"),
    "hops": msg("diagram-hops"),
    "out": msg("diagram-out"),
    "in": msg("diagram-in"),
    "both": msg("diagram-both"),
    "consumers": msg("diagram-consumers"),
    "aggregate": msg("diagram-aggregate"),
    "collapsed": msg("diagram-collapsed"),
    "rolled_up": msg("diagram-rolled-up"),
}


def word(key: str, lang: str, **params: object) -> str:
    """A word of the drawings (legend, titles, notes) in ``lang``, from the message catalog."""
    return Message(WORDS[key].code, dict(params)).text(lang)


def edge_style(type_: str, metamodel: Metamodel = DEFAULT) -> EdgeStyle:
    """How an edge of ``type_`` (a relationship type, or :data:`AGGREGATE`) is drawn."""
    if type_ == AGGREGATE:
        return AGGREGATE_EDGE
    spec = metamodel.relations.get(type_)
    return spec.style if spec is not None else DEFAULT_EDGE


def carries_data(type_: str, metamodel: Metamodel = DEFAULT) -> bool:
    """Whether relationships of ``type_`` carry data (drawn in the direction it flows, shaping the layout)."""
    spec = metamodel.relations.get(type_)
    return spec is not None and spec.flows_from is not None


__all__ = [
    "AGGREGATE",
    "AGGREGATE_EDGE",
    "DEFAULT_EDGE",
    "HIGHLIGHT",
    "WORDS",
    "EdgeStyle",
    "carries_data",
    "edge_style",
    "word",
]
