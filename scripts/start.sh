#!/usr/bin/env bash
# The main job from a fresh clone: installs what is missing, starts the local stack, creates the
# topics, registers the schema and builds the workflow bundle (at once), starts the worker, applies
# the schedule, triggers one run at once, prints its summary, the UI link and what landed in Kafka,
# then keeps the worker running (Ctrl-C stops it cleanly; `npm run stack:down` stops the services).
# One line per step, with its time; a step that fails prints its output.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
mkdir -p .stack/logs
# Runs a step quietly; prints "[start] <what>: N s", or its output when it fails.
step() {
  local what="$1" t=$SECONDS log
  shift
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "[start] $what failed (above)" >&2
    exit 1
  fi
  rm -f "$log"
  printf '[start] %s: %s s\n' "$what" "$((SECONDS - t))"
}

bash stack/stack.sh up
set -a
# shellcheck disable=SC1091
source .stack/env
set +a

bundle="$PWD/.stack/build/workflows.bundle.js"
# Independent of each other: the topics and the schema (Kafka, the registry) and the bundle (CPU).
step "topics and schema" bash -c 'npm run -s topics -- ensure && npm run -s schema -- register' &
kafka_ready=$!
step "workflow bundle" npm run -s bundle:workflows -- "$bundle"
wait "$kafka_ready"
export WORKFLOW_BUNDLE="$bundle"

: >.stack/logs/worker.log
UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-16}" node --max-old-space-size="${WORKER_HEAP_MB:-256}" --import tsx src/worker.ts > >(tee -a .stack/logs/worker.log | grep --line-buffered -E '"level":"(warn|error)"' >&2) 2>&1 &
worker=$!
stop_worker() {
  trap - INT TERM
  if kill -0 "$worker" 2>/dev/null; then
    echo
    echo "Stopping the worker (in-flight runs finish first)…"
    kill -TERM "$worker" 2>/dev/null || true
    wait "$worker" || true
  fi
  echo "Worker stopped. The services keep running: npm run stack:down stops them."
}
trap 'stop_worker; exit 130' INT TERM
worker_ready() {
  for _ in $(seq 240); do
    grep -q '"message":"worker ready"' .stack/logs/worker.log 2>/dev/null && return 0
    kill -0 "$worker" 2>/dev/null || { echo "the worker exited; see .stack/logs/worker.log" >&2; return 1; }
    sleep 0.25
  done
  echo "the worker did not become ready in 60s; see .stack/logs/worker.log" >&2
  return 1
}
# The schedule is applied while the worker starts: it fires its first run in 5 minutes at the soonest.
step "schedule produce-order-events (every 5 minutes)" npm run -s schedule -- apply &
applied=$!
step "worker (task queue ${TEMPORAL_TASK_QUEUE:-order-events}; log .stack/logs/worker.log)" worker_ready
wait "$applied"

printf '\n==> A first run, now\n'
npm run -s schedule -- trigger --wait

printf '\n==> What landed in Kafka (npm run verify)\n'
npm run -s verify -- --minutes 5 --limit 10

printf '\nReady in %s s. Temporal UI: %s/namespaces/default/schedules/produce-order-events\n' \
  "$((SECONDS - started))" "${TEMPORAL_UI_URL:-http://127.0.0.1:8233}"
echo "The worker keeps running and the schedule fires every 5 minutes. Ctrl-C stops the worker."
wait "$worker"
