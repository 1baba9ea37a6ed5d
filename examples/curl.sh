#!/usr/bin/env bash
# curl against a running Fleece server. Usage: FLEECE_BASE_URL=http://127.0.0.1:3000 examples/curl.sh
set -euo pipefail
base=${FLEECE_BASE_URL:-http://127.0.0.1:3000}

echo "# health"
curl -fsS "$base/api/health"
echo

echo "# an unknown route answers a problem document"
curl -sS "$base/api/v1/does-not-exist"
echo
