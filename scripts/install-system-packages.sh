#!/usr/bin/env bash
# Debian packages, by group; installs only what is missing, with apt-get (as root or via sudo).
#   test   what the test suite uses: docker-compose (parses docker-compose.yml; no engine needed),
#          chromium (the Temporal UI browser test), openssl, postgresql (the outbox source's database)
#   build  what building the optional librdkafka backend (@confluentinc/kafka-javascript) from
#          source against Debian's libraries needs (CKJS_LINKING=dynamic; see scripts/install.sh)
# With no group given: test.
set -euo pipefail
groups=("${@:-test}")
want=()
for group in "${groups[@]}"; do
  case "$group" in
    test) want+=(docker-compose chromium openssl postgresql) ;;
    build) want+=(g++ make python3 pkg-config libssl-dev zlib1g-dev libsasl2-dev libzstd-dev liblz4-dev libcurl4-openssl-dev) ;;
    *) echo "install-system-packages.sh: unknown group $group (test, build)" >&2; exit 2 ;;
  esac
done
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0
sudo=''
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "[setup] missing Debian packages (${missing[*]}) and no sudo to install them" >&2; exit 1; }
  sudo='sudo'
fi
command -v apt-get >/dev/null 2>&1 || { echo "[setup] missing packages (${missing[*]}) and no apt-get to install them" >&2; exit 1; }
echo "[setup] installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
