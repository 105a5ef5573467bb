#!/usr/bin/env bash
# The optional librdkafka backend's native binding (@confluentinc/kafka-javascript), built once per
# machine and kept in the stack's cache outside the clone: `npm ci` runs without install scripts
# (scripts/install.sh), and this puts the binding in place.
#
#   The cache key is the package's version, the Node ABI, the platform and libc, the linking mode,
#   and the system libraries the binding links (each one's resolved file, size and time), so a new
#   Node, a new package or an upgraded libssl builds it again.
#   A cached binding that does not load is said so, dropped and built again.
#   The build is librdkafka's own (`npm rebuild`, CKJS_LINKING=dynamic against Debian's -dev
#   packages; a few minutes). If it fails, the kafkajs default still works and this says so.
source "$(dirname "$0")/../stack/lib.sh"
cd "$ROOT"
PKG=node_modules/@confluentinc/kafka-javascript
FILES=(build/Release/confluent-kafka-javascript.node build/deps/librdkafka.so.1 build/deps/librdkafka++.so.1)
# What the binding links from the system (its ldd, less librdkafka itself and the C runtime).
LIBS=(libssl.so.3 libcrypto.so.3 libsasl2.so.2 libzstd.so.1 liblz4.so.1 libcurl.so.4 libz.so.1 libstdc++.so.6)

[[ -d "$PKG" ]] || { say "librdkafka backend: the optional package is not installed (kafkajs works)"; exit 0; }

binding_key() {
  local runtime libs lib path
  runtime="$(node -p "const h = process.report.getReport().header; [require('./$PKG/package.json').version, 'abi' + process.versions.modules, process.platform, process.arch, h.glibcVersionRuntime ? 'glibc' + h.glibcVersionRuntime : 'musl'].join('-')")"
  libs=""
  for lib in "${LIBS[@]}"; do
    path="$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l { print $NF; exit }')"
    libs+="$lib:${path:+$(stat -L -c '%s:%Y' "$path")};"
  done
  echo "$runtime-${CKJS_LINKING:-dynamic}-$(printf '%s' "$libs" | sha256sum | cut -c1-12)"
}

# Loads the binding in a fresh node; prints why not when it cannot.
loads() {
  local out
  out="$(node -e "require('@confluentinc/kafka-javascript')" 2>&1)" && return 0
  printf '%s\n' "$out" | grep -m1 -E 'Error' || printf '%s\n' "$out" | head -n 1
  return 1
}

restore() {
  local f
  for f in "${FILES[@]}"; do
    mkdir -p "$PKG/$(dirname "$f")"
    cp -f "$1/$f" "$PKG/$f"
  done
  ln -sf librdkafka.so.1 "$PKG/build/deps/librdkafka.so"
  ln -sf librdkafka++.so.1 "$PKG/build/deps/librdkafka++.so"
}

store() {
  local tmp f
  tmp="$(mktemp -d "$CACHE/.binding-XXXXXX")"
  for f in "${FILES[@]}"; do
    mkdir -p "$tmp/$(dirname "$f")"
    cp "$PKG/$f" "$tmp/$f"
  done
  touch "$tmp/.complete"
  rm -rf "$1" && mkdir -p "$(dirname "$1")" && mv "$tmp" "$1"
}

mkdir -p "$CACHE"
key="$(binding_key)"
cached="$CACHE/librdkafka-binding/$key"
started=$SECONDS
if [[ -f "$cached/.complete" ]]; then
  restore "$cached"
  if why="$(loads)"; then
    say "librdkafka backend: cached binding ($key) in $((SECONDS - started)) s"
    exit 0
  fi
  say "librdkafka backend: the cached binding does not load ($why); building it again"
  rm -rf "$cached" "$PKG/build"
fi

bash "$ROOT/scripts/install-system-packages.sh" build ||
  say "librdkafka backend: could not install the build packages; the build may fail (kafkajs still works)"
log="$CACHE/librdkafka-build.log"
if CKJS_LINKING="${CKJS_LINKING:-dynamic}" npm rebuild --no-audit --no-fund @confluentinc/kafka-javascript >"$log" 2>&1 &&
  why="$(loads)"; then
  store "$cached"
  say "librdkafka backend: built in $((SECONDS - started)) s, cached as $key"
else
  say "librdkafka backend: NOT available here (${why:-the build failed}; see $log). The kafkajs default works"
fi
