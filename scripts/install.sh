#!/usr/bin/env bash
# npm run setup: the project's install step (stack.sh up runs it when node_modules is missing or
# older than package-lock.json, so `npm start` and `npm test` do it on a fresh clone).
#   1. npm ci without install scripts: from npm's cache on a machine that ran it before, seconds
#   2. the install scripts the project relies on, run on their own: patch-package (the root
#      postinstall: patches/), and esbuild's, @swc/core's and protobufjs's own checks
#   3. the optional librdkafka backend's native binding, from the stack's cache or built once per
#      machine (scripts/librdkafka-binding.sh); if it cannot be built, kafkajs still works, and the
#      test suite (which runs both backends) fails loudly
# One line per step, with its time; a failing step prints the tail of its output.
set -euo pipefail
source "$(dirname "$0")/../stack/lib.sh"
cd "$ROOT"

quiet_step() {
  local what="$1" started=$SECONDS log
  shift
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "$what failed; the tail of its output is above"
  fi
  rm -f "$log"
  say "$what: $((SECONDS - started)) s"
}

quiet_step "npm ci" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
quiet_step "npm install scripts (patch-package, esbuild, @swc/core, protobufjs)" \
  bash -c 'npx --no-install patch-package --error-on-fail && npm rebuild --no-audit --no-fund esbuild @swc/core protobufjs'
bash scripts/librdkafka-binding.sh
