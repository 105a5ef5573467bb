#!/usr/bin/env bash
# Fetches the Debezium peer's jars (Debezium's PostgreSQL connector with its outbox EventRouter,
# Kafka Connect standalone, slf4j 2 + log4j 2) from Maven Central into the shared cache, as
# stack/provision.sh does for Kafka. Idempotent: skipped once the versions' ".complete" marker
# exists. Prints the libs dir (the only stdout line); progress goes to stderr.
# When kafka-clients lacks org.apache.kafka.common.utils.Sanitizer (Kafka 4.4 moved it; Debezium
# 3.6.x still calls it), a one-class shim (shim/, delegating to Kafka's own) is compiled into the libs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
# shellcheck source=../../../stack/versions.sh
source "$ROOT/stack/versions.sh"

DEBEZIUM_VERSION="${DEBEZIUM_VERSION:-3.6.1.Final}"
CACHE="${ORDER_EVENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-events-stack}"
DEBEZIUM_HOME="$CACHE/debezium-$DEBEZIUM_VERSION"
LIBS="$DEBEZIUM_HOME/libs"
# The marker names every version the jars were resolved with; another Kafka version refetches.
STAMP="debezium=$DEBEZIUM_VERSION kafka=$KAFKA_VERSION inputs=$(cat "$HERE/pom.xml" "$HERE"/shim/org/apache/kafka/common/utils/*.java | sha1sum | cut -c1-12)"

say() { printf '[debezium] %s\n' "$*" >&2; }
die() { printf '[debezium] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.debezium-fetch.lock"
flock 9

if [[ -f "$DEBEZIUM_HOME/.complete" && "$(cat "$DEBEZIUM_HOME/.complete")" == "$STAMP" ]]; then
  echo "$LIBS"
  exit 0
fi

command -v mvn >/dev/null 2>&1 || die "mvn is required (Maven resolves the jars from Maven Central) but is not on PATH"
rm -rf "$DEBEZIUM_HOME"
started=$SECONDS
log="$(mktemp)"
if ! mvn -B -q -f "$HERE/pom.xml" -Ddebezium.version="$DEBEZIUM_VERSION" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  rm -f "$log"
  die "mvn dependency:copy-dependencies failed; its output's tail is above"
fi
rm -f "$log"
[[ -n "$(find "$LIBS" -name "debezium-connector-postgres-$DEBEZIUM_VERSION.jar" -print -quit)" ]] ||
  die "debezium-connector-postgres-$DEBEZIUM_VERSION.jar not found in $LIBS"
[[ -n "$(find "$LIBS" -name "connect-runtime-$KAFKA_VERSION.jar" -print -quit)" ]] ||
  die "connect-runtime-$KAFKA_VERSION.jar not found in $LIBS"

clients="$LIBS/kafka-clients-$KAFKA_VERSION.jar"
if ! unzip -l "$clients" | grep -q ' org/apache/kafka/common/utils/Sanitizer.class$'; then
  command -v javac >/dev/null 2>&1 || die "javac is required (a JDK 17+) to build the Sanitizer shim for Kafka $KAFKA_VERSION"
  build="$(mktemp -d)"
  javac --release 17 -nowarn -cp "$clients" -d "$build" "$HERE"/shim/org/apache/kafka/common/utils/Sanitizer.java
  jar cf "$LIBS/zz-kafka-utils-sanitizer-shim.jar" -C "$build" .
  rm -rf "$build"
  say "kafka-clients $KAFKA_VERSION has no org.apache.kafka.common.utils.Sanitizer: shim built (bench/peers/debezium/shim)"
fi
echo "$STAMP" >"$DEBEZIUM_HOME/.complete"
say "jars for Debezium $DEBEZIUM_VERSION + Connect $KAFKA_VERSION: $(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1), $((SECONDS - started)) s"
echo "$LIBS"
