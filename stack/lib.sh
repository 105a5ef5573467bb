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
APICURIO_HOME="$CACHE/apicurio-registry-$APICURIO_VERSION"
TEMPORAL_BIN="$CACHE/temporal-$TEMPORAL_CLI_VERSION/temporal"
MOTO_VENV="$CACHE/moto-$MOTO_VERSION"

STACK_KAFKA_PORT="${STACK_KAFKA_PORT:-9092}"
STACK_KAFKA_SASL_PORT="${STACK_KAFKA_SASL_PORT:-9093}"
STACK_KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-9094}"
STACK_REGISTRY_PORT="${STACK_REGISTRY_PORT:-8081}"
STACK_REGISTRY_MANAGEMENT_PORT="${STACK_REGISTRY_MANAGEMENT_PORT:-9001}"
STACK_TEMPORAL_PORT="${STACK_TEMPORAL_PORT:-7233}"
STACK_TEMPORAL_UI_PORT="${STACK_TEMPORAL_UI_PORT:-8233}"
STACK_SECRETS_PORT="${STACK_SECRETS_PORT:-4566}"
KAFKA_PORT=$STACK_KAFKA_PORT KAFKA_SASL_PORT=$STACK_KAFKA_SASL_PORT KAFKA_CONTROLLER_PORT=$STACK_KAFKA_CONTROLLER_PORT
REGISTRY_PORT=$STACK_REGISTRY_PORT TEMPORAL_PORT=$STACK_TEMPORAL_PORT TEMPORAL_UI_PORT=$STACK_TEMPORAL_UI_PORT
SECRETS_PORT=$STACK_SECRETS_PORT

# JVMs: Java 17+ is enough for Kafka 4 and Apicurio 3.
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
