#!/usr/bin/env bash
# Debian packages the test suite uses: docker-compose (parses docker-compose.yml; no engine
# needed) and chromium (the Temporal UI browser test). Skips what is already installed.
set -euo pipefail
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
((${#missing[@]} == 0)) && exit 0
sudo=''
[[ $(id -u) -eq 0 ]] || sudo='sudo'
echo "[setup] installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
