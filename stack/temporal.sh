#!/usr/bin/env bash
# npm run temporal -- <args>: the temporal CLI the stack built (stack/provision.sh), pointed at the
# local server unless TEMPORAL_ADDRESS says otherwise. Usable from any terminal, nothing to source.
set -euo pipefail
# shellcheck source=stack/lib.sh
source "$(dirname "$0")/lib.sh"
[[ -x "$TEMPORAL_BIN" ]] || die "the temporal CLI is not built yet: run npm run stack:up (or npm start) once"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}"
exec "$TEMPORAL_BIN" "$@"
