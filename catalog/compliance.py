"""Compliance and data-quality rules: the rules are data, the checks are registered Python functions.

A rule has a code (``CR001``), a severity (``error``, ``warning``, ``info``), a bilingual message, a description, the
name of a check and optional params. A check is a function named with :func:`rule_check`::

    @rule_check("production_without_owner")
    def production_without_owner(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
        ...

Checks and rules live in two registries (:class:`catalog.registry.Registry`), filled on first use, never at import
time: :data:`CHECKS` (the built-in checks below, then every installed extension's ``ioc_catalog.checks`` entry
points) and :data:`RULES` (the built-in rules of ``catalog/rules.yaml``, then the extensions' ``ioc_catalog.rules``
entry points, each a :class:`Rule`). The built-ins register exactly as an extension does. The rules file of the
``rules_file`` setting (IOC_CATALOG_RULES_FILE) adds its rules, or replaces the built-in ones when it says
``builtin_rules: replace`` (docs/compliance-rules.md). A taken rule code or check name is refused, naming both
origins; a rule that names an unregistered check is an error, reported with the registered names.

Messages are ``str.format`` templates: ``{name}`` is the flagged entity's name in the message's language; every key
of the hit's detail is available too, and ``{x_name}`` is the name of the entity whose reference is ``detail["x"]``.
Missing values print as ``—``; lists print comma-separated.

Checks look at the *current* catalog on ``today``: entities whose ``valid_to`` is on or before ``today`` are skipped,
and relationships whose ``status`` property is ``retired`` are ignored.

The report also scores completeness per owning organisation: over the organisation's current owned entities, the
share (0-100) of the attributes their kind declares in the metamodel (custom ones included) that are filled, a
required attribute weighing 2 and any other 1. Findings do not lower the score; they are counted beside it, by
severity, against the flagged entity's current owner (or the organisation itself when the flagged entity is one).
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from catalog.cache import cached
from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import DATE_PATTERNS, format_date, label_of, msg
from catalog.metamodel import Label, Metamodel
from catalog.model import REF_RE, Entity, Relationship
from catalog.registry import Registry
from catalog.store.base import CatalogStore
from catalog.text import fold

SEVERITIES = ("error", "warning", "info")
RULES_FILE = Path(__file__).with_name("rules.yaml")
ENDED_STATUSES = ("merged", "dissolved")
MISSING = "—"


# ---------------------------------------------------------------------------------------------------------------
# Data types


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    message: Label
    description: Label  # an extension may pass plain text: it reads the same in both languages
    check: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.description, Label):
            object.__setattr__(self, "description", _description(self.description))


@dataclass(frozen=True)
class Hit:
    """What a check returns: the flagged entity and details for the message and the report."""

    ref: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    ref: str
    message_vi: str
    message_en: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class OrgScore:
    org: str
    score: float  # 0-100
    entities: int  # current owned entities scored
    findings: dict[str, int]  # severity -> count


@dataclass(frozen=True)
class Report:
    today: dt.date
    rules: list[str]  # codes of the rules that ran
    findings: list[Finding]
    completeness: dict[str, OrgScore]

    def by_rule(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {code: [] for code in self.rules}
        for f in self.findings:
            out.setdefault(f.rule, []).append(f)
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON values: the one shape the CLI, the API, the web UI and the audit bundle give."""
        body = {
            "today": self.today,
            "rules": list(self.rules),
            "findings": [asdict(f) for f in self.findings],
            "completeness": {k: asdict(v) for k, v in self.completeness.items()},
        }
        return json.loads(json.dumps(body, ensure_ascii=False, default=str))  # dates in details become text

    def to_csv(self) -> bytes:
        """The findings as CSV (UTF-8 with BOM, for spreadsheets), every cell safe from formula injection."""
        import csv
        import io

        from catalog.sheets import safe_cell

        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["rule", "severity", "ref", "message_vi", "message_en"])
        for f in self.findings:
            w.writerow([safe_cell(v) for v in (f.rule, f.severity, f.ref, f.message_vi, f.message_en)])
        return out.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------------------------
# The check context: the catalog read once per run, with the lookups checks need


class CheckContext:
    """The catalog as the checks see it during one run. Everything is read on first use and kept for the run."""

    def __init__(self, store: CatalogStore, today: dt.date):
        self.store = store
        self.today = today
        self.metamodel: Metamodel = store.metamodel

    @cached
    def entities(self) -> dict[str, Entity]:
        return {e.ref: e for e in self.store.iter_entities()}

    @cached
    def relationships(self) -> list[Relationship]:
        """Stored relationships that still carry something (status is not ``retired``)."""
        return [r for r in self.store.all_relationships() if r.properties.get("status") != "retired"]

    @cached
    def _outgoing(self) -> dict[tuple[str, str], list[Relationship]]:
        out: dict[tuple[str, str], list[Relationship]] = defaultdict(list)
        for r in self.relationships:
            out[(r.source, r.type)].append(r)
        return out

    @cached
    def _incoming(self) -> dict[tuple[str, str], list[Relationship]]:
        out: dict[tuple[str, str], list[Relationship]] = defaultdict(list)
        for r in self.relationships:
            out[(r.target, r.type)].append(r)
        return out

    def outgoing(self, ref: str, *types: str) -> list[Relationship]:
        return [r for t in types for r in self._outgoing.get((ref, t), ())]

    def incoming(self, ref: str, *types: str) -> list[Relationship]:
        return [r for t in types for r in self._incoming.get((ref, t), ())]

    def ended(self, e: Entity) -> bool:
        """The entity no longer exists on ``today`` (an organisation also when merged or dissolved)."""
        if e.valid_to is not None and e.valid_to <= self.today:
            return True
        return self.metamodel.is_organisation(e.kind) and e.attributes.get("status") in ENDED_STATUSES

    @cached
    def _in_order(self) -> list[Entity]:
        """The entities the checks walk (every one), in ref order: sorted once per run."""
        return [self.entities[ref] for ref in sorted(self.entities)]

    def current(self, kinds: Iterable[str] | None = None) -> Iterator[Entity]:
        """Entities still valid on ``today``, of the given kinds (all kinds when None), in ref order."""
        wanted = set(kinds) if kinds is not None else None
        for e in self._in_order:
            if (wanted is None or e.kind in wanted) and not (e.valid_to is not None and e.valid_to <= self.today):
                yield e

    def name(self, ref: str, lang: str = "vi") -> str:
        e = self.entities.get(ref)
        return e.name.get(lang) if e else ref


class FocusContext(CheckContext):
    """The catalog as the checks see it when only some entities' findings are wanted (an entity's page, a page of
    search results): those entities, the relationships touching them, every entity they name (the targets and
    ``via`` platforms of their own relationships, owner, parent, data owner) and, when ``peers`` is set, the entities of the same kind and folded name (what
    ``duplicate_names`` compares). The checks walk only the focus and its peers, so a focused run reads a few rows
    instead of the whole catalog and finds, for the focus, exactly what a whole run finds (tests/catalog/
    test_compliance_focus.py holds every built-in rule to that)."""

    PEERS_READ = 2000  # entities of the same name read at most (a search's matches, the exact ones first)

    def __init__(self, store: CatalogStore, today: dt.date, refs: Iterable[str], peers: bool = True):
        super().__init__(store, today)
        self.focus = set(refs)
        self.peers = peers

    @cached
    def _focused(self) -> tuple[dict[str, Entity], list[Relationship], set[str]]:
        found = self.store.get_entities(sorted(self.focus))
        rels: dict[str, Relationship] = {}
        for ref in found:
            for r in self.store.list_relationships(ref):
                if r.properties.get("status") != "retired":
                    rels[r.id] = r
        walked = set(found)
        if self.peers:
            for e in list(found.values()):
                key = fold(e.name.vi or e.name.en)
                if not key:
                    continue
                for other in self.store.search(e.name.vi or e.name.en, kind=e.kind, limit=self.PEERS_READ, phrase=True):
                    if other.ref not in found and fold(other.name.vi or other.name.en) == key:
                        found[other.ref] = other
                        walked.add(other.ref)
        # what the checks look up about the focus: the targets of its own relationships and their platforms (a
        # hit is about a relationship's source, so the sources of relationships into the focus are never needed:
        # a platform many systems feed reads only itself)
        named: set[str] = set()
        for r in rels.values():
            if r.source in found:
                named.add(r.target)
                if isinstance(r.properties.get("via"), str):
                    named.add(r.properties["via"])
        for e in found.values():
            named.update(v for v in (e.owner, e.attributes.get("parent"), e.attributes.get("data_owner")) if v)
        missing = sorted(v for v in named if isinstance(v, str) and v not in found)
        found.update(self.store.get_entities(missing))
        return found, sorted(rels.values(), key=lambda r: r.id), walked

    @cached
    def entities(self) -> dict[str, Entity]:
        return self._focused[0]

    @cached
    def relationships(self) -> list[Relationship]:
        return self._focused[1]

    @cached
    def _in_order(self) -> list[Entity]:
        walked = self._focused[2]
        return [self.entities[ref] for ref in sorted(walked)]


# ---------------------------------------------------------------------------------------------------------------
# Registry

CheckFn = Callable[[CheckContext, Mapping[str, Any]], Iterable[Hit]]


def rule_check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Name a check function ``name`` (what rules call it by). Naming registers nothing: a check joins
    :data:`CHECKS` when its module is listed as a source (the built-ins below, an extension's ``ioc_catalog.checks``
    entry point) or is given to ``CHECKS.register``."""

    def name_it(fn: CheckFn) -> CheckFn:
        fn.check_name = name  # type: ignore[attr-defined]
        return fn

    return name_it


def _is_check(obj: Any) -> bool:
    return callable(obj) and isinstance(getattr(obj, "check_name", None), str)


def _is_rule(obj: Any) -> bool:
    return isinstance(obj, Rule)


def builtin_checks() -> list[CheckFn]:
    """The built-in check functions, as :data:`CHECKS` loads them (like an extension's)."""
    return [fn for fn in globals().values() if _is_check(fn) and getattr(fn, "__module__", None) == __name__]


def builtin_rules() -> list[Rule]:
    """The built-in rules (``catalog/rules.yaml``), as :data:`RULES` loads them (like an extension's)."""
    return _read_rules(RULES_FILE, known_checks=None)


# the built-ins register exactly like an extension's entry points (groups ``ioc_catalog.checks``, ``ioc_catalog.rules``)
CHECKS: Registry[CheckFn] = Registry(
    msg("registry-kind-check"),
    "ioc_catalog.checks",
    ("catalog.compliance:builtin_checks",),
    key=lambda fn: str(getattr(fn, "check_name", "")),
    accepts=_is_check,
)
RULES: Registry[Rule] = Registry(
    msg("registry-kind-rule"),
    "ioc_catalog.rules",
    ("catalog.compliance:builtin_rules",),
    key=lambda r: r.code,
    accepts=_is_rule,
)


def registered_checks() -> dict[str, CheckFn]:
    return dict(sorted(CHECKS.items().items()))


# ---------------------------------------------------------------------------------------------------------------
# Rules files


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """The rules that run, in order: the built-in rules (``catalog/rules.yaml``), then the installed extensions'
    rules, then those of the rules file ``path`` (default: the ``rules_file`` setting, IOC_CATALOG_RULES_FILE).

    A rules file adds its rules to the others, or, when it says ``builtin_rules: replace`` at its top, takes the
    place of the built-in ones (the extensions' stay). A rule code already taken is refused, naming where the first
    one came from. Every rule's check must be registered (:data:`CHECKS`)."""
    if path is None:
        from catalog.settings import get_settings

        path = get_settings().rules_file
    everything = RULES.items()
    if path is None:
        rules = list(everything.values())
    else:
        path = Path(path)
        mode, extra = _read_rules_file(path)
        rules = [r for code, r in everything.items() if mode == "keep" or not RULES.is_builtin(code)]
        taken = {r.code: RULES.origin(r.code) for r in rules}
        errors = [
            FieldError(f"{path.name}:{r.code}", msg("rule-code-taken", rule=r.code, origin=taken[r.code]))
            for r in extra
            if r.code in taken
        ]
        if errors:
            raise ValidationFailed(errors)
        rules += extra
    unknown = [
        FieldError(
            f"{r.code}.check", msg("rule-check-unknown", check=r.check, known=", ".join(registered_checks()) or "—")
        )
        for r in rules
        if r.check not in CHECKS
    ]
    if unknown:
        raise ValidationFailed(unknown)
    return rules


def _read_rules_file(path: Path) -> tuple[str, list[Rule]]:
    """A rules file's mode (``keep`` the built-in rules, or ``replace`` them) and its rules."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValidationFailed([FieldError(str(path), msg("rules-file-unreadable", reason=str(exc)))]) from exc
    mode = data.get("builtin_rules", "keep") if isinstance(data, dict) else "keep"
    if mode not in ("keep", "replace"):
        raise ValidationFailed([FieldError(f"{path.name}:builtin_rules", msg("rules-file-mode", got=str(mode)))])
    return mode, _read_rules(path, known_checks=CHECKS)


def _description(value: Any) -> Label:
    """A rule's description: a message code (the built-in rules) in both languages, else the text as written."""
    texts = label_of(value) if isinstance(value, str) else None
    if texts is not None:
        return Label(*texts)
    if isinstance(value, dict):
        return Label(str(value.get("vi") or value.get("en") or ""), str(value.get("en") or value.get("vi") or ""))
    return Label(str(value or ""), str(value or ""))


def _read_rules(path: Path, known_checks: Any) -> list[Rule]:
    """Read and validate a rules file; ``known_checks`` (when given) is where each rule's check must be."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValidationFailed([FieldError(str(path), msg("rules-file-unreadable", reason=str(exc)))]) from exc
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValidationFailed([FieldError(str(path), msg("rules-file-no-list"))])
    errors: list[FieldError] = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path.name}:rules[{i}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, msg("value-must-be-mapping")))
            continue
        code, severity, check_name = item.get("code"), item.get("severity"), item.get("check")
        message, params = item.get("message") or {}, item.get("params") or {}
        before = len(errors)
        if not isinstance(code, str) or not code:
            errors.append(FieldError(f"{where}.code", msg("value-required")))
        elif code in seen:
            errors.append(FieldError(f"{where}.code", msg("rule-code-duplicate", rule=code)))
        if severity not in SEVERITIES:
            errors.append(FieldError(f"{where}.severity", msg("value-one-of", allowed=", ".join(SEVERITIES))))
        if isinstance(message, str):  # a message code: its texts come from the message catalog
            texts = label_of(message)
            message = {"vi": texts[0], "en": texts[1]} if texts else {}
        if not isinstance(message, dict) or not message.get("vi") or not message.get("en"):
            errors.append(FieldError(f"{where}.message", msg("rule-message-both-languages")))
        if not isinstance(check_name, str) or not check_name:
            errors.append(FieldError(f"{where}.check", msg("value-required")))
        elif known_checks is not None and check_name not in known_checks:
            errors.append(
                FieldError(
                    f"{where}.check",
                    msg("rule-check-unknown", check=check_name, known=", ".join(registered_checks()) or "—"),
                )
            )
        if not isinstance(params, dict):
            errors.append(FieldError(f"{where}.params", msg("value-must-be-mapping")))
        if len(errors) > before:
            continue
        code, severity, check_name = str(code), str(severity), str(check_name)  # checked above
        seen.add(code)
        rules.append(
            Rule(
                code=code,
                severity=severity,
                message=Label(str(message["vi"]), str(message["en"])),
                description=_description(item.get("description")),
                check=check_name,
                params=dict(params),
            )
        )
    if errors:
        said = tuple(msg("field-error", location=e.location, reason=e.reason) for e in errors)
        raise ValidationFailed(errors, msg("rules-file-invalid", path=str(path), errors=said))
    return rules


# ---------------------------------------------------------------------------------------------------------------
# Running


class _Placeholders(dict):
    """Message values: detail entries, ``x_name`` for referenced entities, ``—`` for anything missing."""

    def __init__(self, ctx: CheckContext, hit: Hit, lang: str):
        super().__init__()
        self.ctx, self.hit, self.lang = ctx, hit, lang

    def __missing__(self, key: str) -> str:
        detail = self.hit.detail
        if key == "name":
            return self.ctx.name(self.hit.ref, self.lang)
        if key in detail:
            value = detail[key]
        elif key.endswith("_name") and isinstance(detail.get(key[:-5]), str):
            return self.ctx.name(detail[key[:-5]], self.lang)
        else:
            return MISSING
        if value is None or value == "":
            return MISSING
        if isinstance(value, (list, tuple)):
            return ", ".join(self._shown(key, v) for v in value)
        return self._shown(key, value)

    def _shown(self, key: str, value: Any) -> str:
        """What a reader sees for one value: an entity's name for its reference, a label for an enumerated value of
        the attribute ``key`` (of the flagged entity's kind), else the value."""
        if isinstance(value, str) and REF_RE.match(value) and value in self.ctx.entities:
            return self.ctx.name(value, self.lang)
        kind = self.ctx.metamodel.kinds.get(self.hit.ref.split(":", 1)[0])
        spec = next((a for a in kind.attributes if a.name == key), None) if kind else None
        if isinstance(value, dt.date) or (spec is not None and spec.type == "date" and isinstance(value, str)):
            return format_date(
                value, self.lang, DATE_PATTERNS.get(self.lang, "yyyy-MM-dd")
            )  # a date as the reader's language writes it
        return spec.value_label(value, self.lang) if spec is not None else str(value)


def _format(template: str, ctx: CheckContext, hit: Hit, lang: str) -> str:
    return string.Formatter().vformat(template, (), _Placeholders(ctx, hit, lang))


def check(
    store: CatalogStore,
    today: dt.date | None = None,
    rules: list[str] | None = None,
    rules_file: str | Path | None = None,
) -> Report:
    """Run the rules (all, or the codes in ``rules``) against the catalog as it stands on ``today`` (default: the
    store's clock). ``rules_file`` is read instead of the ``rules_file`` setting (see :func:`load_rules`)."""
    today = today or store.clock().date()
    selected = _selected(rules, rules_file)
    ctx = CheckContext(store, today)
    findings = _run(ctx, selected)
    return Report(
        today=today, rules=[r.code for r in selected], findings=findings, completeness=completeness(ctx, findings)
    )


def check_entities(
    store: CatalogStore, refs: Iterable[str], today: dt.date | None = None, rules: list[str] | None = None
) -> list[Finding]:
    """The findings of the rules (all, or the codes in ``rules``) about the entities ``refs`` only, as a whole run
    of :func:`check` on ``today`` would find them, read from those entities' neighbourhood (:class:`FocusContext`)
    rather than the whole catalog: what an entity's page and a page of search results show."""
    today = today or store.clock().date()
    selected = _selected(rules, None)
    focus = set(refs)
    ctx = FocusContext(store, today, focus, peers=any(r.check == "duplicate_names" for r in selected))
    return [f for f in _run(ctx, selected) if f.ref in focus]


def _selected(rules: list[str] | None, rules_file: str | Path | None) -> list[Rule]:
    all_rules = load_rules(rules_file)
    if rules is None:
        return all_rules
    known = {r.code for r in all_rules}
    unknown = [c for c in rules if c not in known]
    if unknown:
        raise ValidationFailed(
            [FieldError("rules", msg("rule-codes-unknown", rules=", ".join(unknown), known=", ".join(sorted(known))))]
        )
    return [r for r in all_rules if r.code in set(rules)]


def _run(ctx: CheckContext, selected: list[Rule]) -> list[Finding]:
    findings: list[Finding] = []
    for rule in selected:
        for hit in CHECKS.get(rule.check)(ctx, rule.params):
            findings.append(
                Finding(
                    rule=rule.code,
                    severity=rule.severity,
                    ref=hit.ref,
                    message_vi=_format(rule.message.vi, ctx, hit, "vi"),
                    message_en=_format(rule.message.en, ctx, hit, "en"),
                    detail=dict(hit.detail),
                )
            )
    findings.sort(key=lambda f: (f.rule, f.ref, json.dumps(f.detail, sort_keys=True, default=str)))
    return findings


def completeness(ctx: CheckContext, findings: Iterable[Finding] = ()) -> dict[str, OrgScore]:
    """Completeness per owning organisation (see the module docstring for the weighting)."""
    filled: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for e in ctx.current():
        org = e.owner
        spec = ctx.metamodel.kinds.get(e.kind)
        if not org or spec is None:
            continue
        count[org] += 1
        for a in spec.attributes:
            if a.kept:  # what an import kept from its source is not asked for
                continue
            weight = 2.0 if a.required else 1.0
            total[org] += weight
            if e.attributes.get(a.name) not in (None, "", []):
                filled[org] += weight
    by_severity: dict[str, dict[str, int]] = {org: dict.fromkeys(SEVERITIES, 0) for org in count}
    for f in findings:
        found = ctx.entities.get(f.ref)
        org = (
            f.ref
            if found is not None and ctx.metamodel.is_organisation(found.kind)
            else (found.owner if found is not None else None)
        )
        if org in by_severity:
            by_severity[org][f.severity] = by_severity[org].get(f.severity, 0) + 1
    return {
        org: OrgScore(
            org=org,
            score=round(100.0 * filled[org] / total[org], 1) if total[org] else 100.0,
            entities=count[org],
            findings=by_severity[org],
        )
        for org in sorted(count)
    }


# ---------------------------------------------------------------------------------------------------------------
# Built-in checks (registered exactly like an extension's)


def _lifecycle(e: Entity) -> str | None:
    return e.attributes.get("lifecycle")


@rule_check("production_without_owner")
def production_without_owner(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    for e in ctx.current(params.get("kinds", ["system"])):
        if _lifecycle(e) == "production" and not e.owner:
            yield Hit(e.ref)


@rule_check("security_level_missing")
def security_level_missing(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    for e in ctx.current(params.get("kinds", ["system", "platform"])):
        if _lifecycle(e) == "production" and e.attributes.get("security_level") is None:
            yield Hit(e.ref)


@rule_check("security_level_not_approved")
def security_level_not_approved(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    skip = set(params.get("skip_lifecycles", ["planned", "retired"]))
    for e in ctx.current(params.get("kinds", ["system", "platform"])):
        level, status = e.attributes.get("security_level"), e.attributes.get("security_status")
        if _lifecycle(e) not in skip and level is not None and status != "approved":
            yield Hit(e.ref, {"security_level": level, "security_status": status})


@rule_check("sensitive_data_without_owner")
def sensitive_data_without_owner(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    for e in ctx.current(["database"]):
        if e.attributes.get("personal_data") == "sensitive" and not e.attributes.get("data_owner"):
            yield Hit(e.ref)


@rule_check("flow_bypasses_lgsp")
def flow_bypasses_lgsp(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    subtypes = set(params.get("via_subtypes", ["lgsp", "ndxp"]))
    for r in ctx.relationships:
        if r.type != "flows_to":
            continue
        source, target = ctx.entities.get(r.source), ctx.entities.get(r.target)
        if source is None or target is None or ctx.ended(source):
            continue
        if not source.owner or not target.owner or source.owner == target.owner:
            continue
        via = ctx.entities.get(r.properties.get("via") or "")
        if via is not None and via.kind == "platform" and via.attributes.get("platform_subtype") in subtypes:
            continue
        yield Hit(
            r.source,
            {
                "relationship": r.id,
                "target": r.target,
                "source_owner": source.owner,
                "target_owner": target.owner,
                "via": r.properties.get("via"),
            },
        )


@rule_check("not_reviewed")
def not_reviewed(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    """Freshness: the age limit is the rule's ``max_age_days`` when a rules file gives one, else the setting
    ``freshness_days``."""
    from catalog.settings import get_settings

    days = int(params.get("max_age_days") or get_settings().freshness_days)
    cutoff = ctx.today - dt.timedelta(days=days) if ctx.today.toordinal() > days else dt.date.min
    skip = set(params.get("skip_lifecycles", ["retired"]))
    for e in ctx.current(params.get("kinds", ["system", "database", "platform", "service"])):
        if _lifecycle(e) in skip:
            continue
        reviewed = e.attributes.get("last_reviewed")
        if reviewed is None or dt.date.fromisoformat(str(reviewed)) < cutoff:
            yield Hit(e.ref, {"last_reviewed": reviewed, "days": days})


@rule_check("retired_feeds_ioc")
def retired_feeds_ioc(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    lifecycles = set(params.get("lifecycles", ["retiring", "retired"]))
    subtypes = set(params.get("ioc_subtypes", ["city_ioc"]))
    for e in ctx.current():
        if _lifecycle(e) not in lifecycles:
            continue
        for r in ctx.outgoing(e.ref, "feeds"):
            ioc = ctx.entities.get(r.target)
            if ioc is not None and ioc.attributes.get("platform_subtype") in subtypes:
                yield Hit(e.ref, {"ioc": ioc.ref, "lifecycle": _lifecycle(e), "relationship": r.id})


@rule_check("dissolved_organisation_reference")
def dissolved_organisation_reference(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    for e in ctx.current():
        if ctx.ended(e):
            continue
        named: list[tuple[str, str | None]] = [("owner", e.owner)]
        named += [("operated_by", r.target) for r in ctx.outgoing(e.ref, "operated_by")]
        named += [(attr, e.attributes.get(attr)) for attr in ("parent", "data_owner")]
        for role, org_ref in named:
            org = ctx.entities.get(org_ref or "")
            if org is not None and ctx.metamodel.is_organisation(org.kind) and ctx.ended(org):
                yield Hit(e.ref, {"organisation": org.ref, "role": role})


@rule_check("duplicate_names")
def duplicate_names(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    """Same kind and folded name, owned by different organisations now or in their ownership history."""
    groups: dict[tuple[str, str], list[Entity]] = defaultdict(list)
    for e in ctx.current():
        key = fold(e.name.vi or e.name.en)
        if e.owner_history and key:
            groups[(e.kind, key)].append(e)
    for members in groups.values():
        lineages = {frozenset(p.org for p in m.owner_history) for m in members}
        if len(lineages) < 2:
            continue
        owners = sorted({p.org for m in members for p in m.owner_history})
        for m in members:
            yield Hit(m.ref, {"duplicates": [o.ref for o in members if o.ref != m.ref], "owners": owners})


@rule_check("missing_english_name")
def missing_english_name(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    for e in ctx.current(params.get("kinds")):
        if not e.name.en.strip():
            yield Hit(e.ref)


@rule_check("service_not_published")
def service_not_published(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    skip = set(params.get("skip_lifecycles", ["retired", "planned"]))
    for e in ctx.current(["service"]):
        if _lifecycle(e) not in skip and not ctx.outgoing(e.ref, "published_on"):
            yield Hit(e.ref)


@rule_check("database_unused")
def database_unused(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    skip = set(params.get("skip_lifecycles", ["retired", "planned"]))
    for e in ctx.current(["database"]):
        if _lifecycle(e) not in skip and not ctx.incoming(e.ref, "reads", "writes"):
            yield Hit(e.ref)


__all__ = [
    "CHECKS",
    "RULES",
    "RULES_FILE",
    "SEVERITIES",
    "CheckContext",
    "Finding",
    "Hit",
    "OrgScore",
    "Report",
    "Rule",
    "builtin_checks",
    "builtin_rules",
    "FocusContext",
    "check",
    "check_entities",
    "completeness",
    "load_rules",
    "registered_checks",
    "rule_check",
]
