#!/bin/sh
# A local CA and a broker certificate for the SASL_SSL listener, in DIR (ca.pem, broker.p12 with
# TLS_STORE_PASSWORD). Used by stack.sh and by docker-compose's `certs` service. Idempotent.
#   gen-certs.sh DIR [EXTRA_SAN]     e.g. EXTRA_SAN=DNS:kafka inside compose
set -eu
dir="$1"
extra="${2:-}"
[ -f "$dir/broker.p12" ] && exit 0
mkdir -p "$dir"
cd "$dir"
# The private keys are created mode 0600 whatever the caller's umask (no moment when they are
# readable by others; a key left by an interrupted run is removed, as rewriting keeps its mode).
(
  umask 077
  rm -f ca.key broker.key
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=order-events local CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
)
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost%s\nextendedKeyUsage=serverAuth\n' "${extra:+,$extra}" >broker.ext
openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile broker.ext -out broker.pem 2>/dev/null
openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
  -passout "pass:$TLS_STORE_PASSWORD" -out broker.p12
chmod 644 ca.pem broker.p12
