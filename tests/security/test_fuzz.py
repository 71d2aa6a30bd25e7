"""Property-based runs against the real server (``ioc-catalog serve``, uvicorn on 127.0.0.1), each within a time
budget for CI (``FUZZ_SECONDS``, default 60: the schemathesis run; half of it: the unicode run).

- schemathesis over the OpenAPI document, authenticated as admin so writes are exercised: the examples, coverage
  (boundary and invalid values per parameter) and fuzzing phases over every operation, with a fixed seed, NUL
  characters allowed in generated strings. Checks: no 5xx, every status code and content type documented, every
  response body matching its schema. A failure prints schemathesis' report with a curl command per case.
- Unicode edge cases schemathesis cannot produce (it generates text a codec can encode, so never a lone surrogate):
  hypothesis strategies of hostile text (lone surrogates, C0 and C1 controls, bidirectional overrides and isolates,
  noncharacters, BOMs, zero-width and combining characters) put into the keys and values of every write route's
  body, into query and path parameters (as the raw UTF-8, or CESU-8 for surrogates, a hostile client sends) and into
  the web UI's forms. Checks: never a 5xx, the API's refusals are valid UTF-8 problem+json, and afterwards the log
  verifies and every export still answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis  # the test extra installs it (pyproject.toml): a missing package fails, never skips
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from security.harness import OWN_ORG, Server, fresh

SECONDS = int(os.environ.get("FUZZ_SECONDS", "60"))  # the budget of the schemathesis run (fuzzing repeats until spent)
UNICODE_SECONDS = max(5, SECONDS // 2)
SEED = 2025
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schemathesis_finds_no_5xx_and_no_schema_violation(server: Server) -> None:
    report = server.dir / "schemathesis-report"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.base}/openapi.json",
            "--header",
            f"Authorization: Bearer {server.tokens['admin']}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            str(SEED),
            "--max-examples",
            "30",
            "--max-time",
            str(SECONDS),
            "--workers",
            "1",
            "--no-shrink",
            "--request-timeout",
            "30",
            "--generation-allow-x00",
            "true",
            "--generation-codec",
            "utf-8",
            "--report",
            "junit",
            "--report-dir",
            str(report),
        ],
        cwd=server.dir,
        capture_output=True,
        text=True,
        timeout=SECONDS + 240,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    out = run.stdout + run.stderr
    summary = out[out.find("SUMMARY") :] if "SUMMARY" in out else out[-3000:]
    print(f"\nschemathesis {schemathesis.__version__}, seed {SEED}, {SECONDS} s:\n{summary}")
    assert run.returncode == 0, out[-20000:]
    tested = int(summary.split("Tested:")[1].split()[0])
    cases = int(summary.split("Test cases:")[1].split()[0])
    assert tested >= 70 and cases >= 1000, summary  # every operation reached, thousands of cases
    log = server.server_log()
    assert '" 500 ' not in log and "Traceback" not in log


# --- unicode edge cases --------------------------------------------------------------------------------------------

HOSTILE = (
    [chr(c) for c in (0xD800, 0xDBFF, 0xDC00, 0xDFFF)]  # lone surrogates
    + [chr(c) for c in (0x00, 0x01, 0x07, 0x08, 0x0B, 0x0C, 0x0D, 0x1B, 0x1F, 0x7F, 0x85, 0x9F)]  # C0, DEL, C1
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]  # bidi overrides, isolates
    + [
        "\ufeff",
        "\ufffe",
        "\uffff",
        "\U0010ffff",
        "\ufdd0",
        "\u200b",
        "\u200d",
        "\u0301",
        "\u0103\u0301",
        "\ud83d\ude00",
        "Đ",
        "ệ",
    ]
)  # noncharacters, BOM, zero-width, combining, a valid pair, Vietnamese
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.characters()), min_size=1, max_size=6).map("".join)


def _templates(s: Server) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """A valid body per write route with a body: (method, OpenAPI path) -> (concrete path, body)."""
    code = fresh("fz")
    r = s.request(
        "POST",
        "/api/v1/systems",
        json={"code": code, "name": {"vi": "Đích thử"}, "owner": OWN_ORG, "attributes": {"lifecycle": "production"}},
    )
    assert r.status_code == 201, r.text
    rel = s.request(
        "POST",
        "/api/v1/relationships",
        json={"type": "hosted_on", "source": f"system:{code}", "target": "platform:hcm-ttdl"},
    ).json()["id"]
    draft = s.request(
        "POST", "/api/v1/drafts", json={"ref": f"system:{code}", "base_version": 2, "changes": {"tags": ["x"]}}
    )
    draft_id = draft.json()["id"] if draft.status_code == 201 else "0123456789ab"
    entity = {
        "name": {"vi": "Tên", "en": "Name"},
        "description": {"vi": "Mô tả"},
        "tags": ["nhãn"],
        "attributes": {"lifecycle": "planned", "vendor": "VNPT"},
        "owner": OWN_ORG,
    }
    out: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    doc = s.get("/openapi.json", None).json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in ("post", "put", "patch") or "requestBody" not in op:
                continue
            concrete = path.format(
                code=code,
                rel_id=rel,
                draft_id=draft_id,
                token_id="0123456789ab",
                hook_id="0123456789ab",
                ref=f"system:{code}",
                fmt="json",
                view="landscape",
                campaign_id="sec-nothing",
                name="sec-nothing",
            )
            body: dict[str, Any] = {"note": "ghi chú", "label": "nhãn"}
            if path.endswith("/relationships") or path.startswith("/api/v1/relationships/"):
                body = {
                    "type": "hosted_on",
                    "source": f"system:{code}",
                    "target": "platform:hcm-ttdl",
                    "properties": {"note": "ghi chú", "protocol": "rest"},
                }
            elif path == "/api/v1/drafts":
                body = {
                    "ref": f"system:{code}",
                    "base_version": 1,
                    "note": "xin duyệt",
                    "changes": {"attributes": {"vendor": "FPT"}, "name": {"vi": "Tên mới"}},
                }
            elif path.endswith("/reject"):
                body = {"reason": "chưa đủ căn cứ"}
            elif path.endswith("/retire"):
                body = {"on": "2026-01-01"}
            elif path == "/api/v1/events":
                body = {
                    "id": "fz-ev",
                    "type": "transfer",
                    "date": "2026-01-01",
                    "legal_basis": "Quyết định",
                    "transfers": [{"entity": f"system:{code}", "to": "organization:hcm-stc"}],
                    "note": "n",
                }
            elif path == "/api/v1/users":
                body = {"name": "fz-user", "role": "viewer", "display": "Người dùng thử"}
            elif path == "/api/v1/tokens":
                body = {"label": "nhãn", "expires_days": 30}
            elif path.startswith("/api/v1/organizations"):
                body = {
                    "code": "fz-org",
                    "name": {"vi": "Phòng"},
                    "attributes": {"org_type": "unit", "parent": OWN_ORG},
                }
            elif method == "post":
                body = {"code": "fz-new", **entity}
            else:
                body = dict(entity)
            out[(method.upper(), path)] = (concrete, body)
    return out


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value: dict and list positions (for new keys and replaced values)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(body: Any, where: tuple, key: str | None, text: str) -> Any:
    """``body`` with the value at ``where`` replaced by ``text``, or (``key`` given, a dict there) ``key`` added."""
    if not where:
        if key is not None and isinstance(body, dict):
            return {**body, key: text}
        return text if key is None else body
    head, rest = where[0], where[1:]
    if isinstance(body, dict):
        return {**body, head: _mutate(body[head], rest, key, text)}
    copy = list(body)
    copy[head] = _mutate(copy[head], rest, key, text)
    return copy


def _url_text(text: str) -> str:
    """Percent-encoded as a hostile client sends it: UTF-8, lone surrogates as their (CESU-8) bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


QUERIES = (
    "/api/v1/search?q={}",
    "/api/v1/entities?owner={}",
    "/api/v1/entities?kind={}",
    "/api/v1/changelog?actor={}",
    "/api/v1/entities/system:{}",
    "/api/v1/systems/{}",
    "/api/v1/relationships?ref={}",
    "/api/v1/entities/{}/impact",
    "/api/v1/diagrams/context.dot?ref={}",
    "/api/v1/paths?source={}&target=x",
    "/api/v1/mappings/{}",
    "/search.json?q={}",
    "/entities/{}",
    "/asof?date={}",
    "/changes?actor={}",
)


def test_hostile_unicode_never_answers_5xx(server: Server) -> None:
    templates = _templates(server)
    routes = sorted(templates)
    assert len(routes) >= 30
    tokens = server.tokens
    deadline = time.monotonic() + UNICODE_SECONDS
    sent: list[int] = []
    failures: list[str] = []
    api = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60)
    web = server.web("editor-skhcn")

    def check(r: httpx.Response, what: str) -> None:
        sent.append(r.status_code)
        if r.status_code >= 500:
            failures.append(f"{what} -> {r.status_code} {r.text[:300]}")
        elif r.status_code >= 400 and r.request.url.path.startswith("/api/"):
            try:
                body = json.loads(r.content.decode("utf-8"))  # strict UTF-8: no surrogate may leak into an answer
                assert r.headers["content-type"].startswith("application/problem+json") and body["code"]
            except (UnicodeDecodeError, ValueError, KeyError, AssertionError) as exc:
                failures.append(f"{what} -> {r.status_code}: not a problem+json answer ({exc!r}) {r.text[:300]}")

    @settings(
        max_examples=UNICODE_SECONDS * 25,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        if time.monotonic() > deadline:
            return
        door = data.draw(st.sampled_from(("body", "body", "body", "query", "form")))
        text = data.draw(hostile_text)
        if door == "body":
            method, path = data.draw(st.sampled_from(routes))
            concrete, body = templates[(method, path)]
            where = data.draw(st.sampled_from(_paths(body)))
            as_key = data.draw(st.booleans())
            mutated = _mutate(body, where, text if as_key else None, "giá trị" if as_key else text)
            content = json.dumps(mutated, ensure_ascii=True).encode()  # lone surrogates travel as \\udXXX escapes
            r = api.request(
                method, concrete, content=content, headers={"Content-Type": "application/json", "If-Match": '"1"'}
            )
            check(r, f"{method} {concrete} {content[:300]!r}")
        elif door == "query":
            url = data.draw(st.sampled_from(QUERIES)).format(_url_text(text))
            check(api.get(url), f"GET {url}")
        else:
            field = data.draw(
                st.sampled_from(
                    (
                        "name_vi",
                        "name_en",
                        "description_vi",
                        "tags",
                        "attr_vendor",
                        "code",
                        "owner",
                        "attr_lifecycle",
                        "link_0_target",
                    )
                )
            )
            form = {
                "kind": "system",
                "code": fresh("fz-web"),
                "name_vi": "Biểu mẫu",
                "owner": OWN_ORG,
                "attr_lifecycle": "planned",
                "csrf": web.csrf(),
            }
            form[field] = text
            content = "&".join(f"{k}={_url_text(v)}" for k, v in form.items()).encode()
            check(
                web.client.post("/new", content=content, headers={"Content-Type": "application/x-www-form-urlencoded"}),
                f"web {field}",
            )

    try:
        run()
    finally:
        api.close()
        web.close()
    print(
        f"\nunicode fuzzing: {len(sent)} requests in {UNICODE_SECONDS} s; statuses "
        f"{ {s: sent.count(s) for s in sorted(set(sent))} }"
    )
    assert not failures, "\n".join(failures[:20])
    assert len(sent) >= 50, f"only {len(sent)} requests: the run proves little"
    assert any(s == 422 for s in sent)
    # afterwards: the log verifies, every export answers, nothing was logged as a crash
    assert server.get("/api/v1/changelog/verify", "auditor").json()["ok"] is True
    for name in ("native", "xlsx", "csv", "archimate"):
        assert server.get(f"/api/v1/exports/{name}", "auditor").status_code == 200, name
    log = server.server_log()
    assert '" 500 ' not in log and "Traceback" not in log
