#!/usr/bin/env bash
# The main job from a fresh clone: installs what is missing, starts the local stack, creates the
# topics, registers the schema, starts the worker, applies the schedule, triggers one run at
# once, prints its summary, the UI link and what landed in Kafka, then keeps the worker running
# (Ctrl-C stops it cleanly; `npm run stack:down` stops the services).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Local services (first run downloads and builds them: a few minutes)"
bash stack/stack.sh up
set -a
# shellcheck disable=SC1091
source .stack/env
set +a

step "Topics, schema and the workflow bundle"
npm run -s topics -- ensure
npm run -s schema -- register

npm run -s bundle:workflows -- .stack/build/workflows.bundle.js
export WORKFLOW_BUNDLE="$PWD/.stack/build/workflows.bundle.js"

mkdir -p .stack/logs && : >.stack/logs/worker.log
step "Worker (task queue ${TEMPORAL_TASK_QUEUE:-order-events}); its log: .stack/logs/worker.log"
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
for _ in $(seq 120); do
  grep -q '"message":"worker ready"' .stack/logs/worker.log 2>/dev/null && break
  kill -0 "$worker" 2>/dev/null || { echo "the worker exited; see .stack/logs/worker.log" >&2; exit 1; }
  sleep 0.5
done
grep -q '"message":"worker ready"' .stack/logs/worker.log || { echo "the worker did not become ready in 60s" >&2; exit 1; }
echo "worker ready"

step "Schedule produce-order-events (every 5 minutes)"
npm run -s schedule -- apply

step "A first run, now"
npm run -s schedule -- trigger --wait

step "What landed in Kafka (npm run verify)"
npm run -s verify -- --minutes 5 --limit 10

printf '\nTemporal UI: %s/namespaces/default/schedules/produce-order-events\n' "${TEMPORAL_UI_URL:-http://127.0.0.1:8233}"
echo "The worker keeps running and the schedule fires every 5 minutes. Ctrl-C stops the worker."
wait "$worker"
