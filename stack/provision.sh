#!/usr/bin/env bash
# Fetches or builds every service the stack runs, into the shared cache. Idempotent: each
# piece is skipped once its ".complete" marker exists, and a lock keeps two clones from
# provisioning the same cache at once.
source "$(dirname "$0")/lib.sh"

mkdir -p "$CACHE"
exec 9>"$CACHE/.provision.lock"
flock 9

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2) but is not on PATH"; }

provision_kafka() {
  [[ -f "$KAFKA_HOME/.complete" ]] && return
  need mvn "Maven resolves the Kafka jars from Maven Central"
  say "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central"
  rm -rf "$KAFKA_HOME"
  with_progress "kafka: resolving jars" mvn -B -q -f "$ROOT/stack/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_HOME/libs" -DincludeScope=runtime
  touch "$KAFKA_HOME/.complete"
}

provision_apicurio() {
  [[ -f "$APICURIO_HOME/.complete" ]] && return
  need curl "downloads the Apicurio Registry app"
  local base="https://repo1.maven.org/maven2/io/apicurio/apicurio-registry-app/$APICURIO_VERSION"
  local file="apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  say "registry: downloading $file from Maven Central"
  rm -rf "$APICURIO_HOME" && mkdir -p "$APICURIO_HOME"
  with_progress "registry: download" curl -fsSL --retry 3 -o "$CACHE/$file.part" "$base/$file"
  local want got
  want="$(curl -fsSL --retry 3 "$base/$file.sha1" | cut -c1-40)"
  got="$(sha1sum "$CACHE/$file.part" | cut -c1-40)"
  [[ "$want" == "$got" ]] || die "registry: checksum mismatch for $file (want $want, got $got)"
  tar -xzf "$CACHE/$file.part" -C "$APICURIO_HOME"
  rm -f "$CACHE/$file.part"
  [[ -n "$(find "$APICURIO_HOME" -name quarkus-run.jar -print -quit)" ]] || die "registry: quarkus-run.jar not found in $file"
  touch "$APICURIO_HOME/.complete"
}

provision_temporal() {
  [[ -x "$TEMPORAL_BIN" ]] && return
  need go "builds the temporal CLI"
  say "temporal: building github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION (a few minutes the first time)"
  with_progress "temporal: go install" env GOBIN="$(dirname "$TEMPORAL_BIN")" GOFLAGS=-mod=mod \
    go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
}

provision_toxiproxy() {
  [[ -x "$TOXIPROXY_BIN" ]] && return
  need go "builds Toxiproxy (the network fault proxy of the three-broker mode)"
  say "proxy: building github.com/Shopify/toxiproxy/v2/cmd/server@v$TOXIPROXY_VERSION"
  local dir
  dir="$(dirname "$TOXIPROXY_BIN")"
  with_progress "proxy: go install" env GOBIN="$dir" GOFLAGS=-mod=mod \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@v$TOXIPROXY_VERSION"
  mv "$dir/server" "$TOXIPROXY_BIN"
}

provision_moto() {
  [[ -f "$MOTO_VENV/.complete" ]] && return
  need python3 "runs the Secrets Manager emulator (moto)"
  say "secrets: installing moto[server]==$MOTO_VERSION into $MOTO_VENV"
  rm -rf "$MOTO_VENV"
  python3 -m venv "$MOTO_VENV"
  with_progress "secrets: pip install moto" "$MOTO_VENV/bin/pip" install -q "moto[server]==$MOTO_VERSION"
  touch "$MOTO_VENV/.complete"
}

provision_pykafka() {
  [[ -f "$PYKAFKA_VENV/.complete" ]] && return
  need python3 "runs the Python consumer the tests decode events with (confluent-kafka)"
  say "python: installing confluent-kafka[avro,schemaregistry]==$PY_CONFLUENT_KAFKA_VERSION into $PYKAFKA_VENV"
  rm -rf "$PYKAFKA_VENV"
  python3 -m venv "$PYKAFKA_VENV"
  with_progress "python: pip install confluent-kafka" "$PYKAFKA_VENV/bin/pip" install -q \
    "confluent-kafka[avro,schemaregistry]==$PY_CONFLUENT_KAFKA_VERSION"
  touch "$PYKAFKA_VENV/.complete"
}

what="${1:-all}"
case "$what" in
  all) provision_kafka; provision_apicurio; provision_temporal; provision_moto; provision_pykafka; provision_toxiproxy ;;
  kafka) provision_kafka ;;
  registry) provision_apicurio ;;
  temporal) provision_temporal ;;
  secrets) provision_moto ;;
  proxy) provision_toxiproxy ;;
  python) provision_pykafka ;;
  *) die "unknown service '$what' (expected all, kafka, registry, temporal, secrets, proxy, python)" ;;
esac
