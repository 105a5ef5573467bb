# Shared paths and helpers for the stack scripts. Sourced, never run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.sh
source "$ROOT/stack/versions.sh"

# Downloads and builds: outside the clone, shared by every clone on the machine.
CACHE="${ORDER_EVENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-events-stack}"
# Runtime data, logs, pids, certificates, credentials: inside the clone, git-ignored.
STATE="$ROOT/.stack"

KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
TEMPORAL_BIN="$CACHE/temporal-$TEMPORAL_CLI_VERSION/temporal"
MOTO_VENV="$CACHE/moto-$MOTO_VERSION"
# Python's common Kafka consumer stack (confluent-kafka with its Avro deserializer): the consumer
# tests decode our events with it, and the benchmark's Python peer produces with it.
PYKAFKA_VENV="$CACHE/confluent-kafka-$PY_CONFLUENT_KAFKA_VERSION"
TOXIPROXY_BIN="$CACHE/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server"

STACK_KAFKA_PORT="${STACK_KAFKA_PORT:-9092}"
STACK_KAFKA_SASL_PORT="${STACK_KAFKA_SASL_PORT:-9093}"
STACK_KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-9094}"
STACK_REGISTRY_PORT="${STACK_REGISTRY_PORT:-8081}"
STACK_REGISTRY_MANAGEMENT_PORT="${STACK_REGISTRY_MANAGEMENT_PORT:-9001}"
STACK_TEMPORAL_PORT="${STACK_TEMPORAL_PORT:-7233}"
STACK_TEMPORAL_UI_PORT="${STACK_TEMPORAL_UI_PORT:-8233}"
STACK_SECRETS_PORT="${STACK_SECRETS_PORT:-4566}"
STACK_POSTGRES_PORT="${STACK_POSTGRES_PORT:-5432}"
# Three-broker mode only: Toxiproxy's API, and the proxied address of Temporal.
STACK_PROXY_PORT="${STACK_PROXY_PORT:-8474}"
STACK_TEMPORAL_PROXY_PORT="${STACK_TEMPORAL_PROXY_PORT:-7235}"
KAFKA_PORT=$STACK_KAFKA_PORT KAFKA_SASL_PORT=$STACK_KAFKA_SASL_PORT KAFKA_CONTROLLER_PORT=$STACK_KAFKA_CONTROLLER_PORT
REGISTRY_PORT=$STACK_REGISTRY_PORT TEMPORAL_PORT=$STACK_TEMPORAL_PORT TEMPORAL_UI_PORT=$STACK_TEMPORAL_UI_PORT
SECRETS_PORT=$STACK_SECRETS_PORT POSTGRES_PORT=$STACK_POSTGRES_PORT
PROXY_PORT=$STACK_PROXY_PORT TEMPORAL_PROXY_PORT=$STACK_TEMPORAL_PROXY_PORT

# PostgreSQL: Debian's package (scripts/install-system-packages.sh), the newest version installed.
PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"

# JVMs: Java 17+ runs Kafka 4; the registry (Apicurio 3) needs Java 21+ (REGISTRY_JAVA, found below).
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { printf '[stack] %s\n' "$*" >&2; }

# Runs a step ("$1" names it; the rest is the command) quietly, then prints one line with its time;
# its output is kept for when it fails.
with_progress() {
  local what="$1" started=$SECONDS log rc=0
  shift
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "$what failed (exit $rc); its output's tail is above"
  fi
  rm -f "$log"
  say "$what: $((SECONDS - started)) s"
}

# A JDK's major version, from its release file when it has one (no JVM start).
java_major() {
  local home="$1" v
  v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" 2>/dev/null)"
  [[ -n "$v" ]] || v="$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)"
  echo "${v:-0}"
}

# Apicurio 3.3 is built for Java 21: the registry runs on the first JDK >= 21 found
# (REGISTRY_JAVA_HOME, else JAVA_HOME, then /usr/lib/jvm/*). Empty when there is none.
REGISTRY_JAVA=""
if [[ -n "${REGISTRY_JAVA_HOME:-}" ]]; then candidates=("$REGISTRY_JAVA_HOME"); else candidates=("${JAVA_HOME:-}" /usr/lib/jvm/*); fi
for home in "${candidates[@]}"; do
  [[ -n "$home" && -x "$home/bin/java" ]] || continue
  if [[ "$(java_major "$home")" -ge 21 ]]; then
    REGISTRY_JAVA="$home/bin/java"
    break
  fi
done
APICURIO_HOME="$CACHE/apicurio-registry-$APICURIO_VERSION"
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
