#!/usr/bin/env bash
# npm run setup: the project's install step (stack.sh up runs it when node_modules is missing or
# older than package-lock.json, so `npm start` and `npm test` do it on a fresh clone).
#   1. npm ci without install scripts, then the install scripts the project relies on, run on
#      their own: patch-package (the root postinstall: patches/), and esbuild's, @swc/core's and
#      protobufjs's own checks. On a machine that installed this lockfile before, the installed tree
#      is copied from the stack's cache instead (keyed by the lockfile, Node, platform: seconds)
#   2. the optional librdkafka backend's native binding, from the stack's cache or built once per
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

# The installed tree, kept in the stack's cache by the lockfile, Node and platform: a later clone
# copies it (seconds) instead of extracting every package again (npm ci: about 45 s here).
tree_key() {
  { cat package-lock.json; node -p "[process.version, process.platform, process.arch].join('-')"; echo "${CKJS_LINKING:-dynamic}"; } |
    sha256sum | cut -c1-16
}
key="$(tree_key)"
cached="$CACHE/node-modules/$key"
if [[ -f "$cached/.complete" ]]; then
  quiet_step "npm packages from the cache ($key)" bash -c "rm -rf node_modules && cp -a '$cached/node_modules' node_modules"
  touch node_modules/.package-lock.json # newer than this clone's lockfile: installed
else
  quiet_step "npm ci" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  quiet_step "npm install scripts (patch-package, esbuild, @swc/core, protobufjs)" \
    bash -c 'npx --no-install patch-package --error-on-fail && npm rebuild --no-audit --no-fund esbuild @swc/core protobufjs'
fi
# Always: the binding's own key covers what the tree's does not (the system libraries).
bash scripts/librdkafka-binding.sh
if [[ ! -f "$cached/.complete" ]]; then
  mkdir -p "$CACHE/node-modules"
  tmp="$(mktemp -d "$CACHE/node-modules/.new-XXXXXX")"
  cp -a node_modules "$tmp/node_modules" && touch "$tmp/.complete" && rm -rf "$cached" && mv "$tmp" "$cached"
  # Two trees at most (about 0.5 GB each): the newest.
  find "$CACHE/node-modules" -mindepth 1 -maxdepth 1 -type d -name '[0-9a-f]*' -printf '%T@ %p\n' | sort -rn |
    tail -n +3 | cut -d' ' -f2- | xargs -r rm -rf
fi
