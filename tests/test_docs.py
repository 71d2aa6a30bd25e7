"""Docs that tests keep honest: every CLI command, setting, view and compliance rule is documented."""

from __future__ import annotations

import re

from conftest import ROOT

DOCS = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def test_generated_reference_pages_are_current() -> None:
    """docs/cli.md and docs/compliance-rules.md are generated: regenerate with `python scripts/gen_docs.py`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    for rel, make in gen.PAGES.items():
        assert (ROOT / rel).read_text(encoding="utf-8") == make(), f"{rel} is out of date"


def test_every_cli_command_is_documented() -> None:
    from api import cli

    cli._register_command_groups()
    names = {c.name or c.callback.__name__.replace("_", "-") for c in cli.app.registered_commands}
    assert {"init", "demo", "import", "export", "verify-log", "diagram"} <= names
    missing = sorted(n for n in names if f"ioc-catalog {n}" not in DOCS)
    assert missing == []


def test_every_setting_is_documented() -> None:
    from catalog.settings import Settings

    missing = [f for f in Settings.model_fields if f"IOC_CATALOG_{f.upper()}" not in DOCS]
    assert missing == []


def test_every_view_and_rule_is_documented() -> None:
    from catalog.compliance import load_rules
    from diagrams import registry

    assert [v for v in registry() if not re.search(rf"`{re.escape(v)}`", DOCS)] == []
    assert [r.code for r in load_rules() if r.code not in DOCS] == []
