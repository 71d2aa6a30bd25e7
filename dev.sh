#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh demo     set up everything this machine lacks, build the demo catalog, serve it on 127.0.0.1:8000
#   ./dev.sh test     set up, start a throwaway Neo4j when Java is here, run the whole test suite (args go to pytest)
#   ./dev.sh setup    only set up: system packages (Graphviz, fonts), a .venv with the project and its test tools
#   ./dev.sh bench    set up, then run the benchmarks (extra arguments go to python -m bench.run)
set -euo pipefail
cd "$(dirname "$0")"

VENV="${IOC_CATALOG_VENV:-.venv}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

system_packages() {
  local missing=()
  local fonts
  fonts=$(fc-list 2>/dev/null || true)
  command -v dot >/dev/null 2>&1 || missing+=(graphviz)
  command -v fc-list >/dev/null 2>&1 || missing+=(fontconfig)
  grep -q "NotoSans-Regular" <<<"$fonts" || missing+=(fonts-noto-core)
  if [ "${WITH_BROWSER:-0}" = "1" ]; then  # the web UI's browser tests drive Debian's chromium (never a download)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    # the deployment test (tests/deploy) puts Debian's nginx with TLS in front of two workers (docs/deploy.md)
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    # the current-state report's page test (tests/report) renders the .docx to PDF, then PNG (docs/report.md)
    command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)
    command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  fi
  if [ "${REQUIRE_NEO4J:-0}" = "1" ]; then  # CI runs the Neo4j backend for real: Java 17 and Maven build tools/neo4j
    command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "missing system packages: ${missing[*]} (install them with your package manager; continuing)"; return 0
    fi
  fi
  if command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing system packages: ${missing[*]} (no apt-get here: install them by hand; continuing)"
  fi
}

pick_python() {
  for p in python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  say "Python 3.11 or newer is required"; exit 1
}

python_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$(pick_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.ioc-catalog-installed"
  local want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[test]'
    echo "$want" > "$stamp"
  fi
}

setup() { system_packages; python_env; }

# A throwaway Neo4j for the test suite (tools/neo4j), unless IOC_CATALOG_TEST_NEO4J_URL names one already or
# IOC_CATALOG_TEST_NEO4J=off. Without Java and Maven the Neo4j tests skip, unless REQUIRE_NEO4J=1 (CI), where they fail.
neo4j_for_tests() {
  [ -n "${IOC_CATALOG_TEST_NEO4J_URL:-}" ] && return 0
  [ "${IOC_CATALOG_TEST_NEO4J:-auto}" = "off" ] && return 0
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    say "Java 17+ and Maven not found: the Neo4j backend tests will be skipped"
    return 0
  fi
  NEO4J_TEST_DATA=$(mktemp -d "${TMPDIR:-/tmp}/ioc-catalog-neo4j-test.XXXXXX")
  trap 'tools/neo4j/neo4j.sh stop --data "$NEO4J_TEST_DATA" >/dev/null 2>&1 || true; rm -rf "$NEO4J_TEST_DATA"' EXIT
  local port url
  port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if url=$(tools/neo4j/neo4j.sh start --port "$port" --data "$NEO4J_TEST_DATA"); then
    export IOC_CATALOG_TEST_NEO4J_URL="$url"
    say "Neo4j for the tests at $url"
  elif [ "${REQUIRE_NEO4J:-0}" = "1" ]; then
    say "Neo4j did not start and REQUIRE_NEO4J=1"; exit 1
  else
    say "Neo4j did not start: the Neo4j backend tests will be skipped"
  fi
}

cmd="${1:-help}"; shift || true
case "$cmd" in
  setup) setup ;;
  demo) setup; exec "$VENV/bin/ioc-catalog" demo "$@" ;;
  test) WITH_BROWSER=1 setup; neo4j_for_tests; "$VENV/bin/python" -m pytest "$@" ;;
  bench) setup; exec "$VENV/bin/python" -m bench.run "$@" ;;
  *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
