"""Who is who, from the identity provider: claims of an OpenID Connect ID token -> the catalog's role and organisation.

The mapping is a YAML file named by the ``oidc_claims_mapping`` setting (an example with every key:
docs/oidc-claims.example.yaml; docs/security.md, "Claim mapping"):

.. code-block:: yaml

    claims:                      # which claim holds what (these are the defaults)
      username: preferred_username
      display: name
      groups: groups
      roles: roles
      department: department
      email: email               # where notices are e-mailed (kept when it is an address)
    rules:                       # the first rule whose every condition holds decides
      - group: ioc-editors-skhcn
        role: editor
        org: organization:hcm-skhcn
      - role_claim: catalog-architect
        role: architect
      - department: "Sở Tài chính"
        role: viewer
    default: none                # nobody else gets in (or a role: viewer, auditor...)

A rule's conditions are ``group`` (one of the names in the groups claim), ``role_claim`` (one of the roles claim) and
``department`` (the department claim equals it); a rule has at least one. Its outcome is ``role`` (one of the
catalog's roles) and ``org`` (an organisation reference; an editor needs one). No HTTP here: the caller hands over
claims that it has already verified. Every decision is logged on ``ioc_catalog.auth`` (subject, user name, the rule
that decided or why none did; never a token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import ROLES

log = logging.getLogger("ioc_catalog.auth")

CLAIM_DEFAULTS = {
    "username": "preferred_username",
    "display": "name",
    "groups": "groups",
    "roles": "roles",
    "department": "department",
    "email": "email",
}
CONDITIONS = {"group": "groups", "role_claim": "roles", "department": "department"}
MAX_RULES = 1_000
MAX_VALUES = 1_000  # group or role names one claim may carry that are looked at


@dataclass(frozen=True)
class Rule:
    role: str
    org: str | None = None
    group: str | None = None
    role_claim: str | None = None
    department: str | None = None
    index: int = 0

    def describe(self) -> str:
        conds = [f"{k}={v!r}" for k in ("group", "role_claim", "department") if (v := getattr(self, k)) is not None]
        return f"rule {self.index + 1} ({', '.join(conds)})"


@dataclass(frozen=True)
class Decision:
    """What the mapping decided for one sign-in: ``role`` None means refused (``reason`` says why)."""

    name: str | None
    display: str
    role: str | None
    org: str | None
    reason: str
    rule: str = ""
    email: str = ""

    @property
    def admitted(self) -> bool:
        return self.role is not None


@dataclass(frozen=True)
class ClaimMapping:
    claims: dict[str, str]
    rules: tuple[Rule, ...]
    default: str | None = None

    def decide(self, claims: dict[str, Any]) -> Decision:
        """The decision for these (verified) claims, logged."""
        name = _text(claims.get(self.claims["username"])).strip().lower()
        display = _text(claims.get(self.claims["display"]))[:200]
        groups = _names(claims.get(self.claims["groups"]))
        roles = _names(claims.get(self.claims["roles"]))
        department = _text(claims.get(self.claims["department"]))
        email = _text(claims.get(self.claims["email"]))[:254]
        decision: Decision | None = None
        for rule in self.rules:
            if (
                (rule.group is None or rule.group in groups)
                and (rule.role_claim is None or rule.role_claim in roles)
                and (rule.department is None or rule.department == department)
            ):
                decision = Decision(name, display, rule.role, rule.org, "matched", rule.describe(), email)
                break
        if decision is None:
            decision = (
                Decision(name, display, self.default, None, "default", "default", email)
                if self.default
                else Decision(name, display, None, None, "no-rule-matched")
            )
        note(decision, _text(claims.get("sub"))[:128], len(groups), len(roles))
        return decision


def note(decision: Decision, subject: str, groups: int = 0, roles: int = 0, reason: str | None = None) -> None:
    """Log one mapping decision (names quoted and escaped; never a token)."""
    outcome = "admitted" if decision.admitted and reason is None else "refused"
    (log.warning if outcome == "refused" else log.info)(
        "sign-in mapping %s: door=oidc subject=%r user=%r role=%s org=%s by=%s reason=%s groups=%d roles=%d",
        outcome,
        subject,
        (decision.name or "")[:64],
        decision.role or "-",
        decision.org or "-",
        decision.rule or "-",
        reason or decision.reason,
        groups,
        roles,
        extra={
            "auth_event": f"mapping-{outcome}",
            "auth_door": "oidc",
            "auth_user": (decision.name or "")[:64] or None,
            "auth_reason": reason or decision.reason,
        },
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _names(value: Any) -> frozenset[str]:
    """Group or role names of a claim: a list of strings or one string (others ignored)."""
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list):
        return frozenset(v for v in value[:MAX_VALUES] if isinstance(v, str))
    return frozenset()


def parse_mapping(doc: Any, source: str = "mapping") -> ClaimMapping:
    """A mapping from its YAML document; every fault is named (``rules[2].role``: why) in one ValidationFailed."""
    errors: list[FieldError] = []

    def bad(field: str, reason: Any) -> None:
        errors.append(FieldError(field, reason))

    if not isinstance(doc, dict):
        raise ValidationFailed([FieldError(source, msg("claims-not-a-mapping"))])
    for key in doc:
        if key not in ("claims", "rules", "default"):
            bad(str(key), msg("claims-unknown-key", allowed="claims, rules, default"))
    claims = dict(CLAIM_DEFAULTS)
    given = doc.get("claims") or {}
    if not isinstance(given, dict):
        bad("claims", msg("claims-not-a-mapping"))
        given = {}
    for key, value in given.items():
        if key not in CLAIM_DEFAULTS:
            bad(f"claims.{key}", msg("claims-unknown-key", allowed=", ".join(CLAIM_DEFAULTS)))
        elif not isinstance(value, str) or not value.strip():
            bad(f"claims.{key}", msg("claims-not-text"))
        else:
            claims[key] = value.strip()
    rules: list[Rule] = []
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_RULES:
        bad("rules", msg("claims-rules-not-a-list", maximum=MAX_RULES))
        raw_rules = []
    for i, raw in enumerate(raw_rules):
        where = f"rules[{i + 1}]"
        if not isinstance(raw, dict):
            bad(where, msg("claims-not-a-mapping"))
            continue
        for key in raw:
            if key not in ("group", "role_claim", "department", "role", "org"):
                bad(f"{where}.{key}", msg("claims-unknown-key", allowed="group, role_claim, department, role, org"))
        conds = {k: raw.get(k) for k in CONDITIONS}
        if all(v is None for v in conds.values()):
            bad(where, msg("claims-rule-needs-condition"))
        for k, v in conds.items():
            if v is not None and (not isinstance(v, str) or not v):
                bad(f"{where}.{k}", msg("claims-not-text"))
        role, org = raw.get("role"), raw.get("org")
        if role not in ROLES:
            bad(f"{where}.role", msg("role-unknown", role=str(role), allowed=", ".join(ROLES)))
        if org is not None and not isinstance(org, str):
            bad(f"{where}.org", msg("claims-not-text"))
        if role == "editor" and not org:
            bad(f"{where}.org", msg("editor-needs-org"))
        rules.append(
            Rule(
                role=str(role),
                org=org if isinstance(org, str) else None,
                index=i,
                **{k: v for k, v in conds.items() if isinstance(v, str)},
            )
        )
    default = doc.get("default", "none")
    if default not in (*ROLES, "none") or default in ("editor", "admin"):
        allowed = ", ".join(r for r in (*ROLES, "none") if r not in ("editor", "admin"))
        bad("default", msg("role-unknown", role=str(default), allowed=allowed))
    if errors:
        raise ValidationFailed(errors)
    return ClaimMapping(claims, tuple(rules), None if default == "none" else str(default))


def load_mapping(path: str | Path) -> ClaimMapping:
    """The mapping of a YAML file (``oidc_claims_mapping``); ValidationFailed names the file when it is unreadable."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError) as exc:
        raise ValidationFailed(
            [FieldError("IOC_CATALOG_OIDC_CLAIMS_MAPPING", msg("claims-file-unreadable", reason=type(exc).__name__))]
        ) from None
    return parse_mapping(doc, "IOC_CATALOG_OIDC_CLAIMS_MAPPING")


__all__ = ["CLAIM_DEFAULTS", "ClaimMapping", "Decision", "Rule", "load_mapping", "note", "parse_mapping"]
