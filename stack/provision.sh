#!/usr/bin/env bash
# Fetches or builds every service the stack runs, into the shared cache. Idempotent: each
# piece is skipped once its ".complete" marker exists, and a lock keeps two clones from
# provisioning the same cache at once. `all` runs the pieces at once: the downloads (Maven, the
# registry's tarball, pip) wait on the network while the Go builds use the cores; one line each.
source "$(dirname "$0")/lib.sh"

mkdir -p "$CACHE"
exec 9>"$CACHE/.provision.lock"
flock 9

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2) but is not on PATH"; }

provision_kafka() {
  [[ -f "$KAFKA_HOME/.complete" ]] && return
  need mvn "Maven resolves the Kafka jars from Maven Central"
  rm -rf "$KAFKA_HOME"
  with_progress "kafka: jars $KAFKA_VERSION from Maven Central" mvn -B -q -f "$ROOT/stack/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_HOME/libs" -DincludeScope=runtime
  touch "$KAFKA_HOME/.complete"
}

provision_apicurio() {
  [[ -f "$APICURIO_HOME/.complete" ]] && return
  need curl "downloads the Apicurio Registry app"
  local base="https://repo1.maven.org/maven2/io/apicurio/apicurio-registry-app/$APICURIO_VERSION"
  local file="apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  rm -rf "$APICURIO_HOME" && mkdir -p "$APICURIO_HOME"
  with_progress "registry: Apicurio $APICURIO_VERSION from Maven Central" curl -fsSL --retry 3 -o "$CACHE/$file.part" "$base/$file"
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
  with_progress "temporal: go install temporal CLI v$TEMPORAL_CLI_VERSION" env GOBIN="$(dirname "$TEMPORAL_BIN")" GOFLAGS=-mod=mod \
    go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
}

provision_toxiproxy() {
  [[ -x "$TOXIPROXY_BIN" ]] && return
  need go "builds Toxiproxy (the network fault proxy of the three-broker mode)"
  local dir
  dir="$(dirname "$TOXIPROXY_BIN")"
  with_progress "proxy: go install Toxiproxy v$TOXIPROXY_VERSION" env GOBIN="$dir" GOFLAGS=-mod=mod \
    go install "github.com/Shopify/toxiproxy/v2/cmd/server@v$TOXIPROXY_VERSION"
  mv "$dir/server" "$TOXIPROXY_BIN"
}

provision_moto() {
  [[ -f "$MOTO_VENV/.complete" ]] && return
  need python3 "runs the Secrets Manager emulator (moto)"
  rm -rf "$MOTO_VENV"
  python3 -m venv "$MOTO_VENV"
  with_progress "secrets: pip install moto $MOTO_VERSION" "$MOTO_VENV/bin/pip" install -q "moto[server]==$MOTO_VERSION"
  touch "$MOTO_VENV/.complete"
}

provision_pykafka() {
  [[ -f "$PYKAFKA_VENV/.complete" ]] && return
  need python3 "runs the Python consumer the tests decode events with (confluent-kafka)"
  rm -rf "$PYKAFKA_VENV"
  python3 -m venv "$PYKAFKA_VENV"
  with_progress "python: pip install confluent-kafka $PY_CONFLUENT_KAFKA_VERSION" "$PYKAFKA_VENV/bin/pip" install -q \
    "confluent-kafka[avro,schemaregistry]==$PY_CONFLUENT_KAFKA_VERSION"
  touch "$PYKAFKA_VENV/.complete"
}

# Runs the given pieces at once; fails (after all have ended) if any failed.
in_parallel() {
  local piece pids=() rc=0
  for piece in "$@"; do
    "provision_$piece" &
    pids+=($!)
  done
  for piece in "${pids[@]}"; do wait "$piece" || rc=1; done
  return $rc
}

what="${1:-all}"
case "$what" in
  # What `npm start` needs; `test` adds the Python client; the three-broker mode adds Toxiproxy.
  all) in_parallel temporal kafka apicurio moto ;;
  test) in_parallel temporal kafka apicurio moto pykafka ;;
  cluster) in_parallel temporal kafka apicurio moto pykafka toxiproxy ;;
  kafka) provision_kafka ;;
  registry) provision_apicurio ;;
  temporal) provision_temporal ;;
  secrets) provision_moto ;;
  proxy) provision_toxiproxy ;;
  python) provision_pykafka ;;
  *) die "unknown service '$what' (expected all, test, cluster, kafka, registry, temporal, secrets, proxy, python)" ;;
esac
