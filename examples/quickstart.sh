#!/usr/bin/env bash
# The main job of Fleece, from nothing to a deleted account, on the embedded database:
#
#   1. start the server with the README's command;          6. export the account, check the trailer's SHA-256;
#   2. fleece login --device, approved by a magic link;      7. an audit tail in a second process shows it all,
#   3. grant AI-processing consent; an admin sets Pro;          and fleece audit verify passes;
#   4. fleece keys create;                                   8. revoke the key: the next call exits 3;
#   5. with only FLEECE_API_KEY: create an agent, run it     9. delete the account (the purge follows after
#      streaming, a two-step flow (trigger, wait), list;        FLEECE_DELETION_GRACE_DAYS).
#
# Run from a clone after `pnpm install`:   bash examples/quickstart.sh
# Everything it makes lives in a temporary directory (server data, log, CLI credentials), removed at the end
# unless FLEECE_QUICKSTART_KEEP=1. Sign-in uses the development outbox: the magic link is read from the
# server log, as a developer would click it. Needs curl and jq.
#
# Settings (environment): PORT (3000), FLEECE_QUICKSTART_EMAIL (you@example.com), FLEECE_QUICKSTART_DIR,
# FLEECE_SERVER_START (the server command; default `pnpm start`, which builds first), FLEECE_CLI (default
# `node packages/cli/dist/bin.js`, built here when missing).
# packages/cli/test/e2e/quickstart.e2e.test.ts runs this script against the built binaries and then runs the
# purge of step 9 with a fake clock.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PORT=${PORT:-3000}
BASE="http://127.0.0.1:$PORT"
EMAIL=${FLEECE_QUICKSTART_EMAIL:-you@example.com}
WORK=${FLEECE_QUICKSTART_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fleece-quickstart.XXXXXX")}
mkdir -p "$WORK"
read -r -a START <<<"${FLEECE_SERVER_START:-pnpm start}"
read -r -a CLI <<<"${FLEECE_CLI:-node packages/cli/dist/bin.js}"
if [ -z "${FLEECE_CLI:-}" ] && [ ! -f packages/cli/dist/bin.js ]; then pnpm --filter @fleece/cli... build >/dev/null; fi

# The CLI keeps its login in this directory only (file storage: this is a throwaway machine).
export XDG_CONFIG_HOME="$WORK/config"
unset FLEECE_API_KEY FLEECE_TOKEN
fleece() { "${CLI[@]}" --server "$BASE" "$@"; }
say() { printf '\n== %s\n' "$*"; }
server_pid=''
tail_pid=''
cleanup() {
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ "${FLEECE_QUICKSTART_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

say "1. start the server (embedded database in $WORK/data)"
FLEECE_DATA_DIR="$WORK/data" PORT="$PORT" FLEECE_ADMIN_EMAILS="$EMAIL" LOG_FORMAT=json \
  "${START[@]}" >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  curl -fsS "$BASE/api/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done
fleece health

say "2. fleece login --device, approved in the 'browser' through the magic link of the dev outbox"
fleece login --device --insecure-storage 2>"$WORK/login.err" &
login_pid=$!
code=''
for _ in $(seq 1 600); do
  code=$(grep -oE 'one-time code: [A-Z]{4}-[A-Z]{4}' "$WORK/login.err" | grep -oE '[A-Z]{4}-[A-Z]{4}' || true)
  [ -n "$code" ] && break
  sleep 0.1
done
[ -n "$code" ] || { cat "$WORK/login.err" >&2; exit 1; }
echo "device code: $code"
jar="$WORK/cookies"
curl -fsS -o /dev/null -H 'Content-Type: application/json' -H "Origin: $BASE" \
  -X POST "$BASE/api/auth/magic-link" -d "{\"email\": \"$EMAIL\"}"
link=''
for _ in $(seq 1 300); do
  link=$(grep '"outbox":"magic_link"' "$WORK/server.log" | jq -r 'select(.link) | .link' | tail -n 1 || true)
  [ -n "$link" ] && break
  sleep 0.1
done
token=${link##*token=}
curl -fsS -o /dev/null -c "$jar" -H 'Content-Type: application/json' -H "Origin: $BASE" \
  -X POST "$BASE/api/auth/magic-link/verify" -d "{\"token\": \"$token\"}"
curl -fsS -o /dev/null -b "$jar" -H 'Content-Type: application/json' -H "Origin: $BASE" \
  -X POST "$BASE/api/auth/device/decision" -d "{\"userCode\": \"$code\", \"decision\": \"approve\"}"
wait "$login_pid"
cat "$WORK/login.err"
fleece whoami

say "7a. a second process tails the audit log live from now on"
# -n 1: it prints the latest event, then follows from exactly there (no gap); wait for that first line so
# everything from step 3 on reaches it live.
"${CLI[@]}" --server "$BASE" audit tail --follow -n 1 --json >"$WORK/audit-tail.ndjson" 2>"$WORK/audit-tail.err" &
tail_pid=$!
for _ in $(seq 1 300); do
  [ -s "$WORK/audit-tail.ndjson" ] && break
  sleep 0.1
done

say "3. grant AI-processing consent; the admin sets the plan to Pro (billing is off)"
session=(-b "$jar" -H 'Content-Type: application/json' -H "Origin: $BASE")
curl -fsS "${session[@]}" -X PUT "$BASE/api/v1/account/consents/ai_processing" -d '{"granted": true}' | jq -c .
user_id=$(curl -fsS -b "$jar" "$BASE/api/v1/me" | jq -r .user.id)
curl -fsS "${session[@]}" -X PATCH "$BASE/api/v1/admin/users/$user_id" -d '{"plan": "pro"}' | jq -c '{email, plan}'

say "4. fleece keys create"
# Least privilege by default (read only, 30 days): ask for what the steps below do with the key.
fleece keys create --name quickstart --expires-in 30d \
  --scopes read,write,agents:execute,flows:trigger,audit:read,export --json >"$WORK/key.json"
key=$(jq -r .key "$WORK/key.json")
key_id=$(jq -r .id "$WORK/key.json")
echo "created $key_id (the secret is shown once; kept in $WORK/key.json for this run)"

say "5. only FLEECE_API_KEY from here, as a CI job would"
api() { FLEECE_API_KEY="$key" "${CLI[@]}" --server "$BASE" "$@"; }
agent=$(api agents create --name summariser --instructions 'Summarise in one sentence.' --json | jq -r .id)
echo "agent $agent"
echo "-- run it, streamed:"
api agents run "$agent" 'Fleece keeps every security claim next to the test that proves it.' --stream
echo "-- a two-step flow, triggered and waited for:"
flow=$(api flows create --name two-step \
  --step "draft:$agent:Draft a release note: {{input}}" \
  --step "review:$agent:Shorten: {{steps.draft.output}}" --json | jq -r .id)
echo "flow $flow"
api flows trigger "$flow" --input 'export is ten times faster' --wait --json | jq -c '{id, status}'
echo "-- executions:"
api executions list

say "6. export the account and check the trailer's SHA-256"
# fleece export verifies the checksum itself before the file gets its name; check it again by hand.
api export --output "$WORK/export.ndjson" --json | jq -c '{format, bytes, records}'
trailer=$(tail -n 1 "$WORK/export.ndjson")
bytes=$(jq -r .bytes <<<"$trailer")
expected=$(jq -r .sha256 <<<"$trailer")
actual=$(head -c "$bytes" "$WORK/export.ndjson" | sha256sum | cut -d' ' -f1)
echo "records: $(jq -c .counts <<<"$trailer")"
[ "$actual" = "$expected" ] && echo "export checksum ok: $actual" || { echo "export checksum MISMATCH" >&2; exit 1; }

say "7b. what the tail saw, and fleece audit verify"
for _ in $(seq 1 300); do
  grep -q '"data.exported"' "$WORK/audit-tail.ndjson" 2>/dev/null && break
  sleep 0.1
done
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
tail_pid=''
jq -r '.action' "$WORK/audit-tail.ndjson" | sort | uniq -c
fleece audit verify --json | jq -c .

say "8. revoke the key; the next call with it exits 3"
fleece keys revoke "$key_id" --yes
set +e
api whoami
revoked_exit=$?
set -e
echo "exit code with the revoked key: $revoked_exit"
[ "$revoked_exit" = 3 ]

say "9. delete the account"
fleece account delete --yes --confirm "$EMAIL" --json | jq -c .
echo "the account is pending deletion; the purge removes it after FLEECE_DELETION_GRACE_DAYS (default 7)"
say "done"
