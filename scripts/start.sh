#!/usr/bin/env bash
# The main job from a fresh clone: installs what is missing, brings the local stack up and
# checks it. (The worker, schedule and first run join this command with the Temporal issue.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash stack/stack.sh up
bash stack/stack.sh status
echo
echo "The local stack is up and healthy. Temporal UI: http://127.0.0.1:8233"
echo "Stop it with: npm run stack:down"
