#!/usr/bin/env bash
# The local stack: Kafka (KRaft), Apicurio Registry (Confluent API), the Temporal dev server
# with its UI and moto's Secrets Manager, each run from package-registry downloads, and Debian's
# PostgreSQL (the outbox source's database); in the three-broker mode also Toxiproxy, between
# the clients and every broker (and Temporal).
#
#   stack.sh up | down | status | logs [service] [-f] | env
#
# Every process is started in its own session with ORDER_EVENTS_STACK=<state dir> in its
# environment; "down" stops only pids recorded here that still carry that marker.
source "$(dirname "$0")/lib.sh"

# Kafka runs as one node ("kafka") or, with STACK_KAFKA_BROKERS=3, as a three-node KRaft cluster
# ("kafka-1".."kafka-3", each broker + controller). The mode last brought up is remembered, so
# status, down and env need no setting.
MODE_FILE="$STATE/kafka-brokers"
KAFKA_BROKERS="${STACK_KAFKA_BROKERS:-$(cat "$MODE_FILE" 2>/dev/null || echo 1)}"
case "$KAFKA_BROKERS" in
  1) KAFKA_NODES=(kafka) ;;
  3) KAFKA_NODES=(kafka-1 kafka-2 kafka-3) ;;
  *) echo "[stack] ERROR: STACK_KAFKA_BROKERS must be 1 or 3, got '$KAFKA_BROKERS'" >&2; exit 2 ;;
esac
ALL_KAFKA=(kafka kafka-1 kafka-2 kafka-3)
# In the three-broker mode every SASL_SSL connection (the product's: bootstrap, leaders,
# coordinators) goes through Toxiproxy ("proxy"), so the failover suite can add latency, cut
# bandwidth, black-hole or reset a broker's links; the PLAINTEXT listeners (tests' own
# read_committed consumers, inter-broker traffic) do not. Each broker binds SASL_SSL on its
# advertised port + 10 and advertises the proxy's address.
if ((${#KAFKA_NODES[@]} == 3)); then PROXY=(proxy); else PROXY=(); fi
SERVICES=(secrets postgres "${PROXY[@]}" "${KAFKA_NODES[@]}" registry temporal)
# STACK_ONLY=postgres brings up PostgreSQL alone (no npm install, no downloads): what the test of a
# clone in a private directory needs.
[[ "${STACK_ONLY:-}" != postgres ]] || SERVICES=(postgres)
PIDS="$STATE/pids"
LOGS="$STATE/logs"
DATA="$STATE/data"
TLS="$STATE/tls"
CREDS="$STATE/credentials.env"
HEALTH_TIMEOUT="${STACK_HEALTH_TIMEOUT:-120}"

# Node n of the cluster (1 for the single node) listens on the base ports + 100 × (n - 1).
node_of() { [[ "$1" == kafka ]] && echo 1 || echo "${1#kafka-}"; }
node_port() { echo $(($1 + 100 * ($(node_of "$2") - 1))); }
# The port a broker's SASL_SSL listener binds: its advertised port, or + 10 behind the proxy.
sasl_bind_port() { echo $(($(node_port "$KAFKA_SASL_PORT" "$1") + (${#PROXY[@]} ? 10 : 0))); }
sasl_bootstrap() {
  local n out=()
  for n in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(node_port "$KAFKA_SASL_PORT" "$n")"); done
  (IFS=,; echo "${out[*]}")
}
plaintext_bootstrap() {
  local n out=()
  for n in "${KAFKA_NODES[@]}"; do out+=("127.0.0.1:$(node_port "$KAFKA_PORT" "$n")"); done
  (IFS=,; echo "${out[*]}")
}

address_of() {
  case "$1" in
    kafka*) echo "127.0.0.1:$(node_port "$KAFKA_PORT" "$1") (PLAINTEXT), 127.0.0.1:$(node_port "$KAFKA_SASL_PORT" "$1") (SASL_SSL)" ;;
    registry) echo "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7" ;;
    temporal) echo "127.0.0.1:$TEMPORAL_PORT, UI http://127.0.0.1:$TEMPORAL_UI_PORT" ;;
    secrets) echo "http://127.0.0.1:$SECRETS_PORT" ;;
    postgres) echo "127.0.0.1:$POSTGRES_PORT, database order_events" ;;
    proxy) echo "API http://127.0.0.1:$PROXY_PORT; Temporal via 127.0.0.1:$TEMPORAL_PROXY_PORT" ;;
  esac
}

# The settings (see lib.sh) holding each service's ports.
port_settings_of() {
  case "$1" in
    kafka*) echo "STACK_KAFKA_PORT STACK_KAFKA_SASL_PORT STACK_KAFKA_CONTROLLER_PORT" ;;
    registry) echo "STACK_REGISTRY_PORT STACK_REGISTRY_MANAGEMENT_PORT" ;;
    temporal) echo "STACK_TEMPORAL_PORT STACK_TEMPORAL_UI_PORT" ;;
    secrets) echo "STACK_SECRETS_PORT" ;;
    postgres) echo "STACK_POSTGRES_PORT" ;;
    proxy) echo "STACK_PROXY_PORT STACK_TEMPORAL_PROXY_PORT" ;;
  esac
}

# --- process bookkeeping -------------------------------------------------------------

pid_of() { [[ -f "$PIDS/$1.pid" ]] && cat "$PIDS/$1.pid" || true; }

# True when the recorded pid is alive and is ours (guards against pid reuse after a reboot).
is_running() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "ORDER_EVENTS_STACK=$STATE"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

launch() {
  local name="$1"
  shift
  local setting port
  for setting in $(port_settings_of "$name"); do
    port="${!setting}"
    [[ "$name" == kafka* ]] && port="$(node_port "$port" "$name")"
    [[ "$name" == kafka* && "$setting" == STACK_KAFKA_SASL_PORT ]] && port="$(sasl_bind_port "$name")"
    port_in_use "$port" && die "$name: port $port on 127.0.0.1 is already in use by a process this stack did not start. Stop that process, or set $setting to a free port."
  done
  mkdir -p "$PIDS" "$LOGS"
  printf '\n=== %s starting %s ===\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
  ORDER_EVENTS_STACK="$STATE" setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

stop_service() {
  local name="$1" pid i
  pid="$(pid_of "$name")"
  if ! is_running "$name"; then
    rm -f "$PIDS/$name.pid"
    return
  fi
  say "$name: stopping (pid $pid)"
  # PostgreSQL's TERM waits for every client to leave; INT is its fast shutdown.
  local sig=TERM
  [[ "$name" == postgres ]] && sig=INT
  kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name: did not stop within 30s, killing"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/$name.pid"
}

# --- health checks: each is a real request with a timeout ----------------------------

health_kafka() {
  node "$ROOT/stack/kafka-health.mjs" "127.0.0.1:$(node_port "$KAFKA_PORT" "${1:-kafka}")" "${#KAFKA_NODES[@]}" >/dev/null 2>&1
}
health_of() { if [[ "$1" == kafka* ]]; then health_kafka "$1"; else "health_$1"; fi; }
health_registry() {
  curl -fsS -m 5 "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" 2>/dev/null | grep -q '^\['
}
health_temporal() {
  "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" --command-timeout 5s 2>/dev/null | grep -q SERVING &&
    curl -fsS -m 5 "http://127.0.0.1:$TEMPORAL_UI_PORT/api/v1/settings" >/dev/null 2>&1
}
health_proxy() {
  curl -fsS -m 5 "http://127.0.0.1:$PROXY_PORT/proxies" 2>/dev/null | grep -q '"kafka-1"'
}
health_postgres() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -t 5 2>/dev/null
}
health_secrets() {
  curl -fsS -m 5 -X POST "http://127.0.0.1:$SECRETS_PORT/" \
    -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: secretsmanager.ListSecrets' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=health/20260101/eu-west-2/secretsmanager/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' 2>/dev/null | grep -q SecretList
}

wait_healthy() {
  local name="$1" deadline=$((SECONDS + HEALTH_TIMEOUT))
  until health_of "$name"; do
    if ! is_running "$name"; then
      tail -n 40 "$LOGS/$name.log" >&2 || true
      die "$name exited during start-up; the tail of $LOGS/$name.log is above"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$LOGS/$name.log" >&2 || true
      die "$name did not become healthy within ${HEALTH_TIMEOUT}s at $(address_of "$name"); the tail of $LOGS/$name.log is above"
    fi
    sleep 1
  done
}

# --- one-time per-clone material: credentials and TLS ---------------------------------

ensure_credentials() {
  [[ -f "$CREDS" ]] && return
  mkdir -p "$STATE"
  umask 077
  cat >"$CREDS" <<CREDS_EOF
KAFKA_API_KEY=order-events-producer
KAFKA_API_SECRET=$(openssl rand -hex 16)
REGISTRY_API_KEY=order-events-registry
REGISTRY_API_SECRET=$(openssl rand -hex 16)
TLS_STORE_PASSWORD=$(openssl rand -hex 16)
CREDS_EOF
}

# Added after the first release of this file: a clone's existing credentials gain it once.
ensure_postgres_password() {
  grep -q '^POSTGRES_PASSWORD=' "$CREDS" || echo "POSTGRES_PASSWORD=$(openssl rand -hex 16)" >>"$CREDS"
}

ensure_tls() {
  [[ -f "$TLS/broker.p12" ]] && return
  say "tls: generating a local CA and a broker certificate for 127.0.0.1 / localhost"
  TLS_STORE_PASSWORD="$TLS_STORE_PASSWORD" sh "$ROOT/stack/gen-certs.sh" "$TLS"
}

# --- services -------------------------------------------------------------------------

start_kafka_node() {
  local name="$1" n conf="$STATE/$1" data="$DATA/$1" voters="" i heap
  n="$(node_of "$name")"
  mkdir -p "$conf" "$data"
  for ((i = 1; i <= ${#KAFKA_NODES[@]}; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:$((KAFKA_CONTROLLER_PORT + 100 * (i - 1)))"
  done
  # Cluster mode is sized as production clusters are: replication 3, two in sync to acknowledge.
  local rf=1 isr=1 heap="-Xms256m -Xmx1g"
  if ((${#KAFKA_NODES[@]} == 3)); then rf=3 isr=2 heap="-Xms128m -Xmx512m"; fi
  cat >"$conf/server.properties" <<PROPS_EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(node_port "$KAFKA_PORT" "$name"),SASL_SSL://127.0.0.1:$(sasl_bind_port "$name"),CONTROLLER://127.0.0.1:$(node_port "$KAFKA_CONTROLLER_PORT" "$name")
advertised.listeners=PLAINTEXT://127.0.0.1:$(node_port "$KAFKA_PORT" "$name"),SASL_SSL://127.0.0.1:$(node_port "$KAFKA_SASL_PORT" "$name")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_API_KEY="$KAFKA_API_SECRET";
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS/broker.p12
ssl.keystore.password=$TLS_STORE_PASSWORD
ssl.key.password=$TLS_STORE_PASSWORD
log.dirs=$data
num.partitions=1
auto.create.topics.enable=false
default.replication.factor=$rf
min.insync.replicas=$isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
PROPS_EOF
  chmod 600 "$conf/server.properties"
  cat >"$conf/log4j2.properties" <<'LOG_EOF'
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=out
logger.kafka.name=kafka
logger.kafka.level=WARN
logger.apache.name=org.apache.kafka
logger.apache.level=WARN
LOG_EOF
  local cp="$KAFKA_HOME/libs/*"
  if [[ ! -f "$data/meta.properties" ]]; then
    say "$name: formatting a new KRaft log directory"
    "$JAVA" -cp "$cp" -Dlog4j2.configurationFile="$conf/log4j2.properties" kafka.tools.StorageTool \
      format --cluster-id "$(cluster_id)" --config "$conf/server.properties" >>"$LOGS/$name.log" 2>&1 ||
      { tail -n 20 "$LOGS/$name.log" >&2; die "$name: formatting $data failed"; }
  fi
  # shellcheck disable=SC2086
  launch "$name" "$JAVA" $heap -cp "$cp" -Dlog4j2.configurationFile="$conf/log4j2.properties" \
    kafka.Kafka "$conf/server.properties"
}

# One cluster id per mode, shared by the nodes of the cluster.
cluster_id() {
  local file="$STATE/kafka-cluster-id-${#KAFKA_NODES[@]}"
  [[ -f "$file" ]] || "$JAVA" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null >"$file"
  cat "$file"
}

start_service() { if [[ "$1" == kafka* ]]; then start_kafka_node "$1"; else "start_$1"; fi; }

start_registry() {
  mkdir -p "$DATA/registry"
  # H2 on disk, so schema ids survive a restart (records already in Kafka reference them).
  APICURIO_DATASOURCE_URL="jdbc:h2:file:$DATA/registry/registry" \
    QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT="$REGISTRY_PORT" \
    QUARKUS_MANAGEMENT_HOST=127.0.0.1 QUARKUS_MANAGEMENT_PORT="$STACK_REGISTRY_MANAGEMENT_PORT" \
    APICURIO_REST_DELETION_ARTIFACT_ENABLED=true APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED=true \
    launch registry "$REGISTRY_JAVA" -Xmx512m -jar "$APICURIO_HOME/quarkus-run.jar"
}

start_temporal() {
  # WAL + synchronous=normal: history survives restarts without an fsync on every workflow step.
  # Eager activity execution: the worker that schedules an activity may start it without a poll.
  mkdir -p "$DATA"
  launch temporal "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --db-filename "$DATA/temporal.db" --log-format json --log-level warn \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --dynamic-config-value system.enableActivityEagerExecution=true
}

# Toxiproxy with one proxy per broker (its advertised SASL_SSL port → the port it binds) and one
# for Temporal; faults are added and removed through its API (test/support/network-faults.ts).
start_proxy() {
  local n i entries=()
  for n in "${KAFKA_NODES[@]}"; do
    entries+=("{\"name\":\"$n\",\"listen\":\"127.0.0.1:$(node_port "$KAFKA_SASL_PORT" "$n")\",\"upstream\":\"127.0.0.1:$(sasl_bind_port "$n")\",\"enabled\":true}")
  done
  entries+=("{\"name\":\"temporal\",\"listen\":\"127.0.0.1:$TEMPORAL_PROXY_PORT\",\"upstream\":\"127.0.0.1:$TEMPORAL_PORT\",\"enabled\":true}")
  mkdir -p "$STATE"
  (IFS=,; echo "[${entries[*]}]") >"$STATE/proxies.json"
  launch proxy "$TOXIPROXY_BIN" -host 127.0.0.1 -port "$PROXY_PORT" -config "$STATE/proxies.json"
}

# PostgreSQL refuses to run as root: as root, the server runs as the package's `postgres` user
# (else `nobody`), through setpriv, which execs, so the recorded pid is the postmaster's.
pg_user() {
  [[ $(id -u) -ne 0 ]] && return
  if id -u postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}
# That user cannot enter a clone in root's home (0700) or in a `mktemp -d` directory, so as root the
# server's data and socket live where it can reach them, keyed by the clone (STACK_POSTGRES_HOME
# moves the parent); `stack.sh down --purge` removes them. Otherwise they stay in the clone.
pg_home() {
  if [[ -z "$(pg_user)" ]]; then
    echo "$STATE/postgres"
  else
    local key
    key="$(printf '%s' "$ROOT" | sha256sum | cut -c1-16)"
    echo "${STACK_POSTGRES_HOME:-/var/tmp/order-events-postgres}/$(basename "$ROOT" | tr -c 'A-Za-z0-9_.\n-' _)-$key"
  fi
}
PG_HOME="$(pg_home)"
# The command prefix that runs a program as that user (none when not root).
as_pg() {
  local user
  user="$(pg_user)"
  [[ -z "$user" ]] || echo "setpriv --reuid=$user --regid=$(id -g "$user") --init-groups --"
}
PG_DATA="$PG_HOME/data"
PG_RUN="$PG_HOME/run"
start_postgres() {
  [[ -n "$PG_BIN" ]] || die "postgres: no PostgreSQL under /usr/lib/postgresql; install Debian's postgresql package (bash scripts/install-system-packages.sh)"
  mkdir -p "$PG_DATA" "$PG_RUN" "$LOGS"
  if [[ -n "$(pg_user)" ]]; then
    chmod 755 "$(dirname "$PG_HOME")" "$PG_HOME"
    chown "$(pg_user)" "$PG_DATA" "$PG_RUN"
    echo "$PG_HOME" >"$STATE/postgres-home"
  fi
  chmod 700 "$PG_DATA"
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    say "postgres: creating the cluster in $PG_DATA"
    # shellcheck disable=SC2046 # the prefix is words on purpose
    $(as_pg) "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >>"$LOGS/postgres.log" 2>&1 ||
      die "postgres: initdb failed; see $LOGS/postgres.log"
  fi
  clear_stale_postgres_lock
  # shellcheck disable=SC2046 # the prefix is words on purpose
  launch postgres $(as_pg) "$PG_BIN/postgres" -D "$PG_DATA" -p "$POSTGRES_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$PG_RUN" -c fsync=on \
    -c wal_level=logical -c max_replication_slots=64 -c max_wal_senders=16 -c max_slot_wal_keep_size=4GB
}
# A killed postmaster leaves postmaster.pid and its socket's lock file behind. PostgreSQL ignores
# them when their pid is gone, but not when it is a zombie: on a machine whose init does not reap
# orphans, a SIGKILLed postmaster stays one, and the server would refuse to start. The stack starts
# postgres only when its recorded postmaster is not running, so a lock naming a dead or zombie pid
# is stale: it is removed, once the old server's processes have left its shared memory (PostgreSQL's
# own shared-memory check still refuses to start beside a live one).
clear_stale_postgres_lock() {
  local lock="$PG_DATA/postmaster.pid" pid state shmid i
  [[ -f "$lock" ]] || return 0
  pid="$(sed -n 1p "$lock")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)"
  [[ -z "$state" || "$state" == Z ]] || return 0
  shmid="$(sed -n 7p "$lock" | awk '{ print $2 }')"
  for ((i = 0; i < 30; i++)); do
    [[ -n "$shmid" ]] && awk -v id="$shmid" '$2 == id && $7 > 0 { f = 1 } END { exit !f }' /proc/sysvipc/shm 2>/dev/null || break
    sleep 1
  done
  say "postgres: removing the lock files of a postmaster that is gone (pid $pid)"
  rm -f "$lock"
  [[ "$(sed -n 1p "$PG_RUN/.s.PGSQL.$POSTGRES_PORT.lock" 2>/dev/null)" != "$pid" ]] || rm -f "$PG_RUN/.s.PGSQL.$POSTGRES_PORT.lock"
}
# The role and database the outbox secret names (idempotent; over the local socket as superuser).
ensure_postgres_database() {
  local psql=("$PG_BIN/psql" -h "$PG_RUN" -p "$POSTGRES_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'order_events'" | grep -q 1 ||
    "${psql[@]}" -c "CREATE ROLE order_events LOGIN"
  # REPLICATION: the outbox relay reads the table through a logical replication slot (docs/event-sources.md).
  "${psql[@]}" -c "ALTER ROLE order_events REPLICATION PASSWORD '$POSTGRES_PASSWORD'"
  "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'order_events'" | grep -q 1 ||
    "${psql[@]}" -c "CREATE DATABASE order_events OWNER order_events"
}

start_secrets() {
  launch secrets "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$SECRETS_PORT"
}

seed_secrets() {
  STACK_SECRETS_ENDPOINT="http://127.0.0.1:$SECRETS_PORT" \
    KAFKA_BOOTSTRAP="$(sasl_bootstrap)" \
    REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7" \
    KAFKA_API_KEY="$KAFKA_API_KEY" KAFKA_API_SECRET="$KAFKA_API_SECRET" \
    REGISTRY_API_KEY="$REGISTRY_API_KEY" REGISTRY_API_SECRET="$REGISTRY_API_SECRET" \
    POSTGRES_PORT="$POSTGRES_PORT" POSTGRES_PASSWORD="$POSTGRES_PASSWORD" \
    "$MOTO_VENV/bin/python" "$ROOT/stack/seed_secrets.py"
}

ensure_node_modules() {
  if [[ ! -f "$ROOT/node_modules/.package-lock.json" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    bash "$ROOT/scripts/install.sh"
  fi
}

# --- commands ---------------------------------------------------------------------------

cmd_up() {
  [[ -n "$REGISTRY_JAVA" ]] ||
    die "registry: Apicurio Registry $APICURIO_VERSION needs Java 21 or newer and none was found; install one or set REGISTRY_JAVA_HOME"
  # npm's install runs beside the downloads and builds, and beside the services' start: only the
  # health checks (Kafka's is a Node script) wait for it.
  local npm_install=''
  if [[ "${STACK_ONLY:-}" != postgres ]]; then
    ensure_node_modules &
    npm_install=$!
    local pieces=all
    ((KAFKA_BROKERS == 1)) || pieces=cluster
    [[ "${STACK_FOR_TESTS:-}" != 1 || "$pieces" == cluster ]] || pieces=test
    pieces="${STACK_PROVISION:-$pieces}"
    bash "$ROOT/stack/provision.sh" "$pieces" || { wait "$npm_install" || true; die "provisioning failed (above)"; }
  fi
  ensure_credentials
  ensure_postgres_password
  # shellcheck disable=SC1090
  source "$CREDS"
  ensure_tls
  local name started=() up_since=$SECONDS
  # The other mode's brokers hold the same ports: stop them first.
  for name in "${ALL_KAFKA[@]}" proxy; do
    [[ " ${SERVICES[*]} " == *" $name "* ]] || stop_service "$name"
  done
  echo "$KAFKA_BROKERS" >"$MODE_FILE"
  for name in "${SERVICES[@]}"; do
    if is_running "$name"; then
      say "$name: already running (pid $(pid_of "$name"))"
    else
      start_service "$name"
      started+=("$name")
    fi
  done
  if [[ -n "$npm_install" ]]; then wait "$npm_install" || die "installing the npm packages failed (above)"; fi
  for name in "${SERVICES[@]}"; do
    wait_healthy "$name"
    [[ " ${started[*]} " != *" $name "* ]] || say "$name: up at $(address_of "$name") ($((SECONDS - up_since)) s)"
  done
  ensure_postgres_database
  [[ "${STACK_ONLY:-}" == postgres ]] || seed_secrets
  write_env
  say "stack is up; settings for clients are in .stack/env (source it, or see README)"
}

# The settings a client on this machine needs, in the form the app and the AWS SDK read.
write_env() {
  cat >"$STATE/env" <<ENV_EOF
export AWS_REGION=eu-west-2
export AWS_ACCESS_KEY_ID=local-stack
export AWS_SECRET_ACCESS_KEY=local-stack
export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$SECRETS_PORT
export KAFKA_SSL_CA_FILE=$TLS/ca.pem
export KAFKA_PLAINTEXT_BROKERS=$(plaintext_bootstrap)
export STACK_KAFKA_BROKERS=$KAFKA_BROKERS
export KAFKA_TOPIC_REPLICATION_FACTOR=${#KAFKA_NODES[@]}
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
export TEMPORAL_CLI=$TEMPORAL_BIN
export STACK_PYTHON_KAFKA=$PYKAFKA_VENV/bin/python
export KAFKA_LIBS=$KAFKA_HOME/libs
# The SDK warns on Node 20 that its 2027 releases need Node 22; a notice, silenced locally.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export STACK_PIDS=$PIDS
# PostgreSQL: the app reads the secret; tests and the outbox bench connect with the URL.
export POSTGRES_SECRET_NAME=order-events/postgres
export STACK_POSTGRES_PORT=$POSTGRES_PORT
export STACK_POSTGRES_URL=postgres://order_events:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/order_events
ENV_EOF
  if ((${#PROXY[@]})); then
    cat >>"$STATE/env" <<ENV_EOF
export STACK_PROXY_URL=http://127.0.0.1:$PROXY_PORT
export TEMPORAL_PROXY_ADDRESS=127.0.0.1:$TEMPORAL_PROXY_PORT
ENV_EOF
  fi
}

cmd_down() {
  local i all=(secrets postgres proxy "${ALL_KAFKA[@]}" registry temporal)
  for ((i = ${#all[@]} - 1; i >= 0; i--)); do
    stop_service "${all[$i]}"
  done
  if [[ "${1:-}" == --purge ]]; then
    # The clone's data outside it (PostgreSQL's, as root), then its own runtime state.
    [[ "$PG_HOME" == "$STATE"/* ]] || rm -rf "$PG_HOME"
    rm -rf "$STATE"
    say "stack is down; its data is removed ($STATE${PG_HOME:+, $PG_HOME})"
    return
  fi
  say "stack is down"
}

cmd_status() {
  local name state health rc=0
  printf '%-9s %-8s %-8s %-9s %s\n' SERVICE STATE PID HEALTH ADDRESS
  for name in "${SERVICES[@]}"; do
    if is_running "$name"; then
      state=running
      if health_of "$name"; then health=healthy; else health=unhealthy; rc=1; fi
    else
      state=stopped health=-
      rc=1
    fi
    printf '%-9s %-8s %-8s %-9s %s\n' "$name" "$state" "$(is_running "$name" && pid_of "$name" || echo -)" "$health" "$(address_of "$name")"
  done
  return $rc
}

cmd_logs() {
  local name="${1:-}" follow="${2:-}"
  if [[ -z "$name" ]]; then
    echo "usage: stack.sh logs <$(
      IFS='|'
      echo "${SERVICES[*]}"
    )> [-f]" >&2
    ls -1 "$LOGS" 2>/dev/null >&2 || true
    return 2
  fi
  [[ -f "$LOGS/$name.log" ]] || die "no log for '$name' at $LOGS/$name.log"
  if [[ "$follow" == "-f" ]]; then tail -n 100 -f "$LOGS/$name.log"; else tail -n 200 "$LOGS/$name.log"; fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "${2:-}" ;;
  status) cmd_status ;;
  logs) cmd_logs "${2:-}" "${3:-}" ;;
  env) [[ -f "$STATE/env" ]] && cat "$STATE/env" || die "the stack has not been started yet (run: npm run stack:up)" ;;
  *) echo "usage: stack.sh up|down|status|logs <service> [-f]|env" >&2; exit 2 ;;
esac
