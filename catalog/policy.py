"""The approval policy: which changes, by which roles, become drafts reviewed by an architect, and which apply at once.

A YAML file of groups and rules (the built-in default is ``catalog/approval_policy.yaml``; a site names its own with
the ``approval_policy`` setting). Groups name sets of entities by the metamodel's attribute values (an operations
centre: ``platform_type: operations_centre``; a shared database: ``scope: shared``), so the code knows no kind or
value by name. Rules are read in order for each change of a change set; the first rule for the writer's role whose
conditions hold decides ``review`` or ``apply``; a change no rule decides gets the file's ``default``. One change
that needs review makes the whole change set one draft (:func:`catalog.changeset.submit`).

The policy says why: every change that needs review gives a reason (a :class:`catalog.i18n.Message`: "a connection
to an operations centre: IOC TP.HCM"), shown to the writer and the reviewer and kept on the draft.

The file is validated when it is loaded, against the metamodel in force (kinds, attributes, values, roles, ops,
groups): every problem is named by rule (or group) and field, e.g. ``approval_policy.yaml:rules.new-system.when.ops``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.changeset import OPS, Change
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import Message, label_of, msg, named
from catalog.metamodel import ROLES, Label, Metamodel
from catalog.model import Entity, LocalText, Relationship
from catalog.permissions import Principal

BUILTIN = Path(__file__).with_name("approval_policy.yaml")
DECISIONS = ("review", "apply")
WHEN_KEYS = ("ops", "kinds", "touches", "owner_change", "origins")
#: where a change set comes from, as :func:`catalog.changeset.submit` is told (``when: {origins: [...]}``): a
#: department editor's spreadsheet (``import``) or bulk edit (``bulk``); the form and the API give none
ORIGINS = {"import": msg("policy-origin-import"), "bulk": msg("policy-origin-bulk")}
RULE_KEYS = ("id", "roles", "when", "decision", "reason")
#: at most this many reasons are kept for one change set (the rest are counted in the last one)
MAX_REASONS = 30
#: the labels the built-in file's groups name (message codes), named here so the message catalog keeps them
BUILTIN_LABELS = (
    msg("policy-group-operations-centre"),
    msg("policy-group-national-integration"),
    msg("policy-group-lgsp"),
    msg("policy-group-shared-database"),
    msg("policy-group-national-platform"),
)


@dataclass(frozen=True)
class Group:
    id: str
    label: Label
    match: tuple[dict[str, tuple[str, ...]], ...]

    def holds(self, e: Entity) -> bool:
        for cond in self.match:
            if all((e.kind if key == "kind" else e.attributes.get(key)) in values for key, values in cond.items()):
                return True
        return False


@dataclass(frozen=True)
class Rule:
    id: str
    decision: str
    roles: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    touches: tuple[str, ...] = ()
    owner_change: bool | None = None
    reason: Label | None = None
    origins: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        when: dict[str, Any] = {}
        for key in ("ops", "kinds", "touches", "origins"):
            if getattr(self, key):
                when[key] = list(getattr(self, key))
        if self.owner_change is not None:
            when["owner_change"] = self.owner_change
        out: dict[str, Any] = {"id": self.id, "roles": list(self.roles), "when": when, "decision": self.decision}
        if self.reason is not None:
            out["reason"] = {"vi": self.reason.vi, "en": self.reason.en}
        return out


@dataclass(frozen=True)
class Policy:
    groups: dict[str, Group]
    rules: tuple[Rule, ...]
    default: str = "apply"
    source: str = "builtin"

    def as_dict(self) -> dict[str, Any]:
        """The policy as data (``GET /api/v1/policy``, ``ioc-catalog policy show --format json``)."""
        return {
            "source": self.source,
            "default": self.default,
            "groups": {
                g.id: {
                    "label": {"vi": g.label.vi, "en": g.label.en},
                    "match": [{k: list(v) for k, v in c.items()} for c in g.match],
                }
                for g in self.groups.values()
            },
            "rules": [r.as_dict() for r in self.rules],
        }

    # --- deciding -----------------------------------------------------------------------------------------------
    def review_reasons(
        self, store: Any, principal: Principal, changes: list[Change], origin: str = ""
    ) -> list[Message]:
        """Why ``changes`` by ``principal`` need review; empty: they apply at once. Reads the entities the changes
        touch (one batch read); entities the change set itself creates are judged as proposed. ``origin``: where
        the change set comes from (:data:`ORIGINS`; "" for the form and the API)."""
        view = _View(store, changes)
        reasons: list[Message] = []
        seen: set[str] = set()
        extra = 0
        for c in changes:
            for reason in self._decide(view, principal, c, origin):
                key = reason.text("en")
                if key in seen:
                    continue
                seen.add(key)
                if len(reasons) < MAX_REASONS:
                    reasons.append(reason)
                else:
                    extra += 1
        if extra:
            reasons.append(msg("policy-reason-more", count=extra))
        return reasons

    def _decide(self, view: _View, principal: Principal, c: Change, origin: str = "") -> list[Message]:
        for rule in self.rules:
            if rule.roles and principal.role not in rule.roles:
                continue
            hit = self._holds(rule, view, c, origin)
            if hit is None:
                continue
            if rule.decision == "apply":
                return []
            return [hit]
        if self.default == "review":
            return [msg("policy-reason-default", name=view.name(c))]
        return []

    def _holds(self, rule: Rule, view: _View, c: Change, origin: str = "") -> Message | None:
        """The reason ``rule`` gives for ``c`` when all its conditions hold, else None."""
        if rule.ops and c.op not in rule.ops:
            return None
        if rule.origins and origin not in rule.origins:
            return None
        reason: Message | None = None
        if rule.kinds:
            kind = view.kind(c)
            if c.is_link or kind not in rule.kinds:
                return None
        if rule.owner_change is not None and view.owner_change(c) != rule.owner_change:
            return None
        if rule.touches:
            found = None
            for ref in view.link_ends(c):
                e = view.entity(ref)
                g = next((self.groups[g] for g in rule.touches if e is not None and self.groups[g].holds(e)), None)
                if g is not None and e is not None:
                    found = (g, e)
                    break
            if found is None:
                return None
            g, e = found
            reason = msg(
                "policy-reason-touches",
                group=named(g.id, g.label, with_ref=False),
                name=named(e.ref, e.name, with_ref=False),
            )
        if rule.reason is not None:
            return msg("policy-reason-custom", reason=named(rule.id, rule.reason, with_ref=False), name=view.name(c))
        if reason is not None:
            return reason
        if rule.origins:  # one reason for the whole change set: where it comes from
            return msg("policy-reason-origin", origin=ORIGINS[origin])
        name = view.name(c)
        if rule.owner_change:
            return msg("policy-reason-owner", name=name)
        if c.op == "create":
            kind = view.kind(c)
            spec = view.mm.kinds.get(kind or "")
            return msg(
                "policy-reason-create", kind=named(kind, spec.label if spec else kind, with_ref=False), name=name
            )
        if c.op == "delete":
            return msg("policy-reason-delete", name=name)
        if c.op == "retire":
            return msg("policy-reason-retire", name=name)
        if c.op in ("link", "relink"):
            return msg("policy-reason-link", name=name)
        if c.op == "unlink":
            return msg("policy-reason-unlink", name=name)
        return msg("policy-reason-change", name=name)


class _View:
    """The entities and relationships a change set touches, as they are, plus those it creates as proposed."""

    def __init__(self, store: Any, changes: list[Change]):
        self.store = store
        self.mm: Metamodel = store.metamodel
        self.proposed: dict[str, Entity] = {}
        refs: set[str] = set()
        self.rels: dict[str, Relationship | None] = {}
        for c in changes:
            if c.op == "create":
                e = _parse(c.data)
                if e is not None:
                    self.proposed[e.ref] = e
            if c.is_link:
                if c.op != "link":
                    try:
                        self.rels[c.ref] = store.find_relationship(c.ref)
                    except Exception:  # a malformed id: judged by what the change says
                        self.rels[c.ref] = None
                refs.update(self.link_ends(c))
            else:
                refs.add(c.ref)
        self.current: dict[str, Entity] = store.get_entities(sorted(r for r in refs if r not in self.proposed))

    def entity(self, ref: str) -> Entity | None:
        return self.proposed.get(ref) or self.current.get(ref)

    def kind(self, c: Change) -> str | None:
        return c.ref.split(":", 1)[0] if ":" in c.ref else None

    def name(self, c: Change) -> Any:
        if c.is_link:
            ends = c.endpoints()
            names = [named(r, e.name, with_ref=False) if (e := self.entity(r)) else r for r in ends]
            return named(c.ref, _Joined(names), with_ref=False)
        e = self.entity(c.ref)
        return named(c.ref, e.name, with_ref=False) if e is not None else c.ref

    def link_ends(self, c: Change) -> list[str]:
        """Source, target and via platform of the relationship as the change leaves it and as it is now."""
        out: list[str] = list(c.endpoints())
        via = c.data.get("properties", {}).get("via") if isinstance(c.data.get("properties"), dict) else None
        if isinstance(via, str):
            out.append(via)
        r = self.rels.get(c.ref)
        if r is not None:
            out += [r.source, r.target]
            if isinstance(r.properties.get("via"), str):
                out.append(r.properties["via"])
        return list(dict.fromkeys(out))

    def owner_change(self, c: Change) -> bool:
        current = self.current.get(c.ref)
        if current is None or c.is_link:
            return False
        if c.op == "patch":
            return "owner" in c.data and c.data["owner"] != current.owner
        if c.op == "update":
            e = _parse({**c.data, "kind": current.kind, "code": current.code})
            return e is not None and e.owner != current.owner
        return False


class _Joined(tuple):
    """Two entity names shown "A → B" in the reader's language."""

    def get(self, lang: str) -> str:
        from catalog.i18n import text

        return " → ".join(text(x, lang) if not isinstance(x, tuple) else _shown_named(x, lang) for x in self)


def _shown_named(value: Any, lang: str) -> str:
    ref, name, with_ref = value
    shown = name.get(lang) if hasattr(name, "get") else str(name)
    return shown or ref


def _parse(data: dict[str, Any]) -> Entity | None:
    from catalog.model import parse_entity

    try:
        return parse_entity(data)
    except (ValidationFailed, TypeError, ValueError):
        return None


# --- loading ----------------------------------------------------------------------------------------------------


def _label(value: Any) -> Label | None:
    if isinstance(value, str):
        texts = label_of(value)
        return Label(*texts) if texts else None
    if isinstance(value, dict) and set(value) <= {"vi", "en"}:
        vi, en = value.get("vi"), value.get("en")
        if isinstance(vi, str) and vi.strip() and isinstance(en, str) and en.strip():
            return Label(LocalText(vi=vi).vi, LocalText(en=en).en)
    return None


def _names(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and value and all(isinstance(x, str) for x in value):
        return tuple(value)
    return None


def parse_policy(data: Any, mm: Metamodel, source: str = "approval_policy.yaml") -> Policy:
    """Check and build a policy from parsed YAML; every problem named ``<file>:rules.<id>.<field>`` (or
    ``groups.<id>...``)."""
    errors: list[FieldError] = []
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError(source, msg("value-must-be-mapping"))])
    for key in sorted(set(data) - {"version", "default", "groups", "rules"}, key=str):
        errors.append(FieldError(f"{source}:{key}", msg("pydantic-extra-forbidden")))
    if data.get("version", 1) != 1:
        errors.append(FieldError(f"{source}:version", msg("value-one-of", allowed="1")))
    default = data.get("default", "apply")
    if default not in DECISIONS:
        errors.append(FieldError(f"{source}:default", msg("value-one-of", allowed=", ".join(DECISIONS))))
    groups: dict[str, Group] = {}
    raw_groups = data.get("groups") or {}
    if not isinstance(raw_groups, dict):
        errors.append(FieldError(f"{source}:groups", msg("value-must-be-mapping")))
        raw_groups = {}
    for gid, g in raw_groups.items():
        where = f"{source}:groups.{gid}"
        if not isinstance(g, dict):
            errors.append(FieldError(where, msg("value-must-be-mapping")))
            continue
        label = _label(g.get("label"))
        if label is None:
            errors.append(FieldError(f"{where}.label", msg("policy-label-both-languages")))
        match = g.get("match")
        conds: list[dict[str, tuple[str, ...]]] = []
        if not isinstance(match, list) or not match:
            errors.append(FieldError(f"{where}.match", msg("policy-match-list")))
            match = []
        for j, cond in enumerate(match):
            loc = f"{where}.match.{j}"
            if not isinstance(cond, dict) or not cond:
                errors.append(FieldError(loc, msg("value-must-be-mapping")))
                continue
            kinds = _names(cond.get("kind")) if "kind" in cond else tuple(mm.kinds)
            if kinds is None or any(k not in mm.kinds for k in kinds):
                errors.append(FieldError(f"{loc}.kind", msg("value-one-of", allowed=", ".join(mm.kinds))))
                continue
            ok = True
            out: dict[str, tuple[str, ...]] = {"kind": kinds} if "kind" in cond else {}
            for attr, values in cond.items():
                if attr == "kind":
                    continue
                specs = [a for k in kinds if (a := mm.kinds[k].attribute(str(attr))) is not None]
                allowed = sorted({v for a in specs for v in a.values})
                vals = _names(values)
                if not specs:
                    errors.append(FieldError(f"{loc}.{attr}", msg("policy-attribute-unknown", kinds=", ".join(kinds))))
                    ok = False
                elif vals is None or (allowed and any(v not in allowed for v in vals)):
                    errors.append(FieldError(f"{loc}.{attr}", msg("value-one-of", allowed=", ".join(allowed))))
                    ok = False
                else:
                    out[str(attr)] = vals
            if ok:
                conds.append(out)
        if label is not None:
            groups[str(gid)] = Group(str(gid), label, tuple(conds))
    rules: list[Rule] = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list):
        errors.append(FieldError(f"{source}:rules", msg("policy-rules-list")))
        raw_rules = []
    seen: set[str] = set()
    for i, r in enumerate(raw_rules):
        rid = r.get("id") if isinstance(r, dict) else None
        where = f"{source}:rules.{rid if isinstance(rid, str) and rid else i}"
        if not isinstance(r, dict):
            errors.append(FieldError(where, msg("value-must-be-mapping")))
            continue
        before = len(errors)
        for key in sorted(set(r) - set(RULE_KEYS), key=str):
            errors.append(FieldError(f"{where}.{key}", msg("pydantic-extra-forbidden")))
        if not isinstance(rid, str) or not rid:
            errors.append(FieldError(f"{where}.id", msg("value-required")))
        elif rid in seen:
            errors.append(FieldError(f"{where}.id", msg("policy-rule-duplicate", rule=rid)))
        seen.add(str(rid))
        roles = _names(r["roles"]) if "roles" in r else ()
        if roles is None or any(x not in ROLES for x in roles):
            errors.append(FieldError(f"{where}.roles", msg("value-one-of", allowed=", ".join(ROLES))))
        decision = r.get("decision")
        if decision not in DECISIONS:
            errors.append(FieldError(f"{where}.decision", msg("value-one-of", allowed=", ".join(DECISIONS))))
        reason = None
        if r.get("reason") is not None:
            reason = _label(r["reason"])
            if reason is None:
                errors.append(FieldError(f"{where}.reason", msg("policy-label-both-languages")))
        when = r.get("when") or {}
        if not isinstance(when, dict):
            errors.append(FieldError(f"{where}.when", msg("value-must-be-mapping")))
            when = {}
        for key in sorted(set(when) - set(WHEN_KEYS), key=str):
            errors.append(FieldError(f"{where}.when.{key}", msg("value-one-of", allowed=", ".join(WHEN_KEYS))))
        ops = _names(when["ops"]) if "ops" in when else ()
        if ops is None or any(o not in OPS for o in ops):
            errors.append(FieldError(f"{where}.when.ops", msg("value-one-of", allowed=", ".join(OPS))))
        kinds = _names(when["kinds"]) if "kinds" in when else ()
        if kinds is None or any(k not in mm.kinds for k in kinds):
            errors.append(FieldError(f"{where}.when.kinds", msg("value-one-of", allowed=", ".join(mm.kinds))))
        touches = _names(when["touches"]) if "touches" in when else ()
        if touches is None or any(t not in raw_groups for t in touches):
            errors.append(
                FieldError(f"{where}.when.touches", msg("value-one-of", allowed=", ".join(map(str, raw_groups))))
            )
        origins = _names(when["origins"]) if "origins" in when else ()
        if origins is None or any(o not in ORIGINS for o in origins):
            errors.append(FieldError(f"{where}.when.origins", msg("value-one-of", allowed=", ".join(ORIGINS))))
        owner_change = when.get("owner_change")
        if owner_change is not None and not isinstance(owner_change, bool):
            errors.append(FieldError(f"{where}.when.owner_change", msg("pydantic-bool-parsing")))
        if len(errors) > before:
            continue
        rules.append(
            Rule(
                id=str(rid),
                decision=str(decision),
                roles=roles or (),
                ops=ops or (),
                kinds=kinds or (),
                touches=touches or (),
                owner_change=owner_change,
                reason=reason,
                origins=origins or (),
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return Policy(groups, tuple(rules), str(default), source)


def load_policy(path: str | Path | None = None, mm: Metamodel | None = None) -> Policy:
    """The policy of ``path`` (None: the built-in one), checked against ``mm``; cached per file and its mtime."""
    import yaml

    from catalog.metamodel import load_metamodel

    mm = mm or load_metamodel()
    p = Path(path) if path else BUILTIN
    try:
        stamp = p.stat().st_mtime_ns
        key = ("approval-policy", str(p.resolve()), stamp)
        if key in mm._cache:
            return mm._cache[key]
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValidationFailed([FieldError(p.name, msg("policy-file-unreadable", reason=str(exc)))]) from None
    policy = parse_policy(data, mm, p.name if path else "builtin:approval_policy.yaml")
    mm._cache[key] = policy
    return policy


def policy_in_force(mm: Metamodel | None = None) -> Policy:
    """The policy the ``approval_policy`` setting names (the built-in default when unset)."""
    from catalog.settings import get_settings

    return load_policy(get_settings().approval_policy, mm)


__all__ = ["BUILTIN", "DECISIONS", "Group", "Policy", "Rule", "load_policy", "parse_policy", "policy_in_force"]
