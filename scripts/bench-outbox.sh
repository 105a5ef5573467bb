#!/usr/bin/env bash
# npm run bench:outbox -- [options]: brings the stack up (or reuses it), then runs bench/outbox.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash stack/stack.sh up >&2
set -a
# shellcheck disable=SC1091
source .stack/env
set +a
exec node --import tsx bench/outbox.ts "$@"
