#!/usr/bin/env bash
# Fleece over plain HTTP with curl (and jq for reading JSON): health, a problem document, then, with an API
# key, the caller, an agent, a JSON execution, a streamed one (Server-Sent Events), and the executions list.
#
#   FLEECE_BASE_URL=http://127.0.0.1:3000 FLEECE_API_KEY=flc_… examples/curl.sh
#
# The key needs more than the default `read` scope: `fleece keys create --name examples --scopes
# read,write,agents:execute`.
# Without FLEECE_API_KEY only the anonymous part runs. Run by packages/cli/test/e2e/examples.e2e.test.ts.
set -euo pipefail
base=${FLEECE_BASE_URL:-http://127.0.0.1:3000}

echo "# health (no credential needed)"
curl -fsS "$base/api/health"
echo

echo "# an unknown route answers an RFC 9457 problem document"
curl -sS "$base/api/v1/does-not-exist"
echo

if [ -z "${FLEECE_API_KEY:-}" ]; then
  echo "# set FLEECE_API_KEY to run the rest" >&2
  exit 0
fi
auth=(-H "Authorization: Bearer $FLEECE_API_KEY")
json=(-H 'Content-Type: application/json')

echo "# who am I, on which plan"
curl -fsS "${auth[@]}" "$base/api/v1/me" | jq '{email: .user.email, plan: .plan.id}'

echo "# create an agent"
agent=$(curl -fsS "${auth[@]}" "${json[@]}" -X POST "$base/api/v1/agents" \
  -d '{"name": "curl-example", "instructions": "Answer in one sentence."}' | jq -r .id)
echo "$agent"

echo "# run it and wait for the result; the Idempotency-Key makes a retry of this request safe"
key="curl-example-$(date +%s)-$$"
curl -fsS "${auth[@]}" "${json[@]}" -H "Idempotency-Key: $key" -X POST "$base/api/v1/agents/$agent/execute" \
  -d '{"input": "Why is the sky blue?"}' | jq '{id, status, output}'

echo "# the same request again: the same execution, not a second run (200 instead of 201)"
curl -sS -o /dev/null -w '%{http_code}\n' "${auth[@]}" "${json[@]}" -H "Idempotency-Key: $key" \
  -X POST "$base/api/v1/agents/$agent/execute" -d '{"input": "Why is the sky blue?"}'

echo "# run it as Server-Sent Events (-N: print each event as it arrives)"
curl -fsSN "${auth[@]}" "${json[@]}" -H 'Accept: text/event-stream' -X POST "$base/api/v1/agents/$agent/execute" \
  -d '{"input": "Name three colours."}'

echo "# your latest executions of that agent"
curl -fsS "${auth[@]}" "$base/api/v1/executions?agentId=$agent&limit=5" | jq -r '.data[] | "\(.id) \(.status)"'

echo "# rate-limit headers on every limited response"
curl -fsS -o /dev/null -D - "${auth[@]}" "$base/api/v1/me" | grep -i '^x-ratelimit-'
