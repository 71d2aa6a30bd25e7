#!/usr/bin/env bash
# A real Neo4j 5.26 LTS (Community, embedded, Bolt on 127.0.0.1) for tests and local use. See docs/neo4j.md.
#
#   tools/neo4j/neo4j.sh build                          build the launcher once (Maven; cached until pom/sources change)
#   tools/neo4j/neo4j.sh start [--port P] [--data DIR]  build if needed, start in the background, wait for Bolt,
#                                                       print the URL on stdout (already running: print it, exit 0)
#   tools/neo4j/neo4j.sh stop   [--data DIR]            SIGTERM, wait up to 30 s, then SIGKILL
#   tools/neo4j/neo4j.sh status [--data DIR]            exit 0 when running, 3 when not
#   tools/neo4j/neo4j.sh url    [--data DIR]            print bolt://127.0.0.1:PORT of the running server (else exit 3)
#   tools/neo4j/neo4j.sh log    [--data DIR]            print the tail of the server log
#
# Defaults: port 7687, data directory <repo>/.neo4j-data (pid file, neo4j.log and the database live there).
# Environment: NEO4J_AUTH (none | user/password; default none), NEO4J_HEAP (default 1g), NEO4J_PAGECACHE (512m),
# NEO4J_GC (parallel | g1; default parallel: on a small machine, where client and server share the cores, it spends
# a third to a half of G1's CPU on garbage; G1, Neo4j's own default, keeps pauses shorter on large heaps),
# NEO4J_JAVA_OPTS (extra JVM options), NEO4J_CONF (neo4j.conf-style file whose settings win),
# NEO4J_START_TIMEOUT (180 s), NEO4J_STOP_TIMEOUT (30 s), JAVA_HOME,
# NEO4J_MVN_ARGS (extra Maven arguments, e.g. "-o" or "-s settings.xml").
# Messages go to stderr; only URLs go to stdout, so URL=$(tools/neo4j/neo4j.sh start) works.
set -euo pipefail

TOOL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TOOL_DIR/../.." && pwd)"
JAR="$TOOL_DIR/target/neo4j-launcher.jar"
HOST=127.0.0.1

say() { printf 'neo4j.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# ---------------------------------------------------------------------------------------------------------- build
needs_build() {
  [ -f "$JAR" ] || return 0
  [ -d "$TOOL_DIR/target/lib" ] || return 0
  [ -n "$(find "$TOOL_DIR/pom.xml" "$TOOL_DIR/src" -newer "$JAR" -print -quit)" ] && return 0
  return 1
}

cmd_build() {
  if ! needs_build; then
    say "launcher up to date ($JAR)"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to build the launcher: apt-get install maven"
  command -v "$JAVA" >/dev/null 2>&1 || die "Java 17+ is needed (set JAVA_HOME or install openjdk-17-jre-headless)"
  say "building the Neo4j launcher (the first build downloads ~170 MB from Maven Central into ~/.m2)..."
  local start=$SECONDS
  # shellcheck disable=SC2086
  if ! mvn -q -B -Dstyle.color=never -f "$TOOL_DIR/pom.xml" ${NEO4J_MVN_ARGS:-} package >&2; then
    die "Maven build failed (see the output above)"
  fi
  [ -f "$JAR" ] || die "Maven finished but $JAR is missing"
  touch "$JAR"   # newer than every source even when Maven skipped writing it
  say "built in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------------------------------------- state
PORT=""
DATA=""
parse_opts() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) [ $# -ge 2 ] || die "--port needs a value"; PORT="$2"; shift 2 ;;
      --port=*) PORT="${1#--port=}"; shift ;;
      --data) [ $# -ge 2 ] || die "--data needs a value"; DATA="$2"; shift 2 ;;
      --data=*) DATA="${1#--data=}"; shift ;;
      *) die "unknown option: $1" ;;
    esac
  done
  if [ -n "$PORT" ]; then
    [[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port must be 1..65535"
  fi
  DATA="${DATA:-$REPO_ROOT/.neo4j-data}"
  mkdir -p "$DATA"
  DATA="$(cd "$DATA" && pwd)"
  PID_FILE="$DATA/neo4j.pid"
  PORT_FILE="$DATA/neo4j.port"
  LOG="$DATA/neo4j.log"
}

# The pid in the pid file, when that process is alive and is our launcher (guards against pid reuse).
running_pid() {
  local pid args
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  args="$(ps -p "$pid" -o args= 2>/dev/null || true)"
  [[ "$args" == *neo4j-launcher.jar* ]] || return 1
  echo "$pid"
}

running_port() { cat "$PORT_FILE" 2>/dev/null || echo 7687; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

log_tail() {
  [ -f "$LOG" ] || return 0
  say "last lines of $LOG:"
  tail -n "${1:-40}" "$LOG" >&2
}

with_lock() {
  # Serialise start/stop on one data directory (parallel test workers). flock is optional.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$DATA/neo4j.lock"
    flock -w 600 9 || die "could not lock $DATA/neo4j.lock"
  fi
}

# ---------------------------------------------------------------------------------------------------------- start
cmd_start() {
  parse_opts "$@"
  with_lock
  local pid
  if pid="$(running_pid)"; then
    local port; port="$(running_port)"
    if [ -n "$PORT" ] && [ "$PORT" != "$port" ]; then
      die "already running on port $port for $DATA (pid $pid); stop it first or use another --data"
    fi
    say "already running (pid $pid)"
    echo "bolt://$HOST:$port"
    return 0
  fi
  rm -f "$PID_FILE"
  PORT="${PORT:-7687}"
  if port_open "$PORT"; then
    die "port $PORT on $HOST is already in use by another process; choose another with --port"
  fi
  cmd_build
  command -v "$JAVA" >/dev/null 2>&1 || die "Java 17+ is needed (set JAVA_HOME or install openjdk-17-jre-headless)"

  [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
  local heap="${NEO4J_HEAP:-1g}" gc
  case "${NEO4J_GC:-parallel}" in
    parallel) gc=-XX:+UseParallelGC ;;
    g1) gc=-XX:+UseG1GC ;;
    *) die "NEO4J_GC must be parallel or g1" ;;
  esac
  local -a jvm=(-Xms256m "-Xmx$heap" "$gc" -XX:-OmitStackTraceInFastThrow -XX:+DisableExplicitGC
                -Djdk.nio.maxCachedBufferSize=1024 -Dio.netty.tryReflectionSetAccessible=true
                -Dlog4j2.disable.jmx=true -Dfile.encoding=UTF-8)
  # shellcheck disable=SC2206
  [ -n "${NEO4J_JAVA_OPTS:-}" ] && jvm+=(${NEO4J_JAVA_OPTS})

  local started=$SECONDS
  say "starting Neo4j on $HOST:$PORT (data: $DATA, log: $LOG)"
  # Background job of a non-interactive shell: SIGINT stays ignored, so only stop (SIGTERM) ends it. Closing the
  # descriptor 9 keeps the lock from leaking into the server.
  local -a extra=()
  if [ -n "${NEO4J_CONF:-}" ]; then
    [ -f "$NEO4J_CONF" ] || die "NEO4J_CONF=$NEO4J_CONF is not a file"
    extra=(--config "$NEO4J_CONF")
  fi
  nohup "$JAVA" "${jvm[@]}" -jar "$JAR" --port "$PORT" --data "$DATA" "${extra[@]}" </dev/null >"$LOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$PORT" >"$PORT_FILE"

  local timeout="${NEO4J_START_TIMEOUT:-180}"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      local rc=0; wait "$pid" || rc=$?
      rm -f "$PID_FILE"
      log_tail 60
      die "Neo4j exited during startup (status $rc)"
    fi
    if grep -q '^READY bolt://' "$LOG" 2>/dev/null && port_open "$PORT"; then
      break
    fi
    if grep -q '^FAILED' "$LOG" 2>/dev/null; then
      sleep 2  # let it exit and finish writing the stack trace
      kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      log_tail 60
      die "Neo4j failed to start"
    fi
    if [ $((SECONDS - started)) -ge "$timeout" ]; then
      log_tail 60
      say "not ready after $timeout s: stopping it"
      kill -TERM "$pid" 2>/dev/null || true
      stop_pid "$pid"
      rm -f "$PID_FILE"
      die "Neo4j did not become ready within $timeout s (NEO4J_START_TIMEOUT)"
    fi
    sleep 0.5
  done
  say "ready in $((SECONDS - started)) s (pid $pid)"
  echo "bolt://$HOST:$PORT"
}

# ---------------------------------------------------------------------------------------------------------- stop
stop_pid() {
  local pid="$1" waited=0 limit="${NEO4J_STOP_TIMEOUT:-30}"
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((limit * 5)) ]; then
      say "still running after $limit s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

cmd_stop() {
  parse_opts "$@"
  with_lock
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  stop_pid "$pid"
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  parse_opts "$@"
  local pid
  if pid="$(running_pid)"; then
    say "running (pid $pid) at bolt://$HOST:$(running_port), data $DATA"
    return 0
  fi
  say "not running"
  return 3
}

cmd_url() {
  parse_opts "$@"
  if running_pid >/dev/null; then
    echo "bolt://$HOST:$(running_port)"
    return 0
  fi
  say "not running (start it with: tools/neo4j/neo4j.sh start)"
  return 3
}

cmd_log() {
  parse_opts "$@"
  [ -f "$LOG" ] || die "no log at $LOG"
  tail -n 100 "$LOG"
}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; }

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    build) [ $# -eq 0 ] || die "build takes no options"; cmd_build ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    url) cmd_url "$@" ;;
    log|logs) cmd_log "$@" ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
