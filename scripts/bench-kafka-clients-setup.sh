#!/usr/bin/env bash
# Installs the clients that bench:kafka-clients measures and that are NOT in package.json:
#   - @confluentinc/kafka-javascript (librdkafka bound to Node): its install script downloads a prebuilt binary from
#     outside the npm registry, which fails offline, so it is built from source against Debian's libraries
#     (CKJS_LINKING=dynamic: link the system's zstd, lz4, curl and sasl instead of fetching them); 2.5 minutes with the
#     prebuilt download skipped (npm_config_build_from_source), 5.5 with it, on 2 shared cores.
#   - kcat (Debian), the librdkafka command-line client the bench uses as its ceiling.
# `npm install --no-save` leaves package.json and the lock alone; a later `npm ci` removes the package again, and the
# bench then reports the client as skipped (not installed), never silently.
# @platformatic/kafka is a development dependency (npm ci installs it); kafkajs is the pipeline's own client.
# Needs root (apt-get) and a C++ toolchain (make, g++, python3 for node-gyp).
set -euo pipefail

CKJS_VERSION="1.10.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ "${SKIP_APT:-}" != 1 ]]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq kcat libzstd-dev libcurl4-openssl-dev liblz4-dev libsasl2-dev libssl-dev zlib1g-dev make g++ python3 >/dev/null
fi

cd "$ROOT"
if node -e "process.exit(require('@confluentinc/kafka-javascript/package.json').version === '$CKJS_VERSION' ? 0 : 1)" 2>/dev/null; then
  echo "bench-kafka-clients-setup: @confluentinc/kafka-javascript@$CKJS_VERSION already installed"
else
  echo "bench-kafka-clients-setup: building @confluentinc/kafka-javascript@$CKJS_VERSION from source (about a minute)" >&2
  CKJS_LINKING=dynamic npm_config_build_from_source=true npm install --no-save --no-audit --no-fund "@confluentinc/kafka-javascript@$CKJS_VERSION"
fi
node -e "require('@confluentinc/kafka-javascript'); console.log('bench-kafka-clients-setup: @confluentinc/kafka-javascript', require('@confluentinc/kafka-javascript/package.json').version, 'loads')"
kcat -V | grep -m1 Version
