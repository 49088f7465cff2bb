#!/usr/bin/env bash
# Start the issuer (port 5000) and the verifier (port 5001) for local development:
# SQLite database and development keys under var/, demo data loaded. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export ISSUER_URL="${ISSUER_URL:-http://127.0.0.1:5000}"
export ISSUER_VERIFIER_URL="${ISSUER_VERIFIER_URL:-http://127.0.0.1:5001}"
# A short status-list ttl for trying things out: a revocation reaches the verify page within
# this many seconds (production default: 300).
export ISSUER_STATUS_LIST_TTL="${ISSUER_STATUS_LIST_TTL:-10}"
mkdir -p var

for port in 5000 5001; do
  if ! "$BIN/python" -c "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1]))); s.close()" "$port" 2>/dev/null; then
    echo "port $port is already in use: stop whatever listens there (an earlier 'make run'?) and try again" >&2
    exit 1
  fi
done

"$BIN/issuer" init
"$BIN/issuer" demo --admin-token > var/demo.txt
# A demo console account, created once; its password is kept in var/ (never committed).
if [ ! -s var/demo-staff.txt ]; then
  STAFF_PASSWORD="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(12))')"
  if echo "$STAFF_PASSWORD" | "$BIN/issuer" staff create --email admin@demo.example --role admin --password-stdin; then
    printf 'console login:    %s/console  (admin@demo.example / %s)\n' "$ISSUER_URL" "$STAFF_PASSWORD" > var/demo-staff.txt
  else
    echo "console login:    $ISSUER_URL/console  (admin@demo.example exists; create another with 'issuer staff create')" > var/demo-staff.txt
  fi
  chmod 600 var/demo-staff.txt
fi
cat var/demo-staff.txt >> var/demo.txt

"$BIN/issuer" serve --host 127.0.0.1 --port 5000 > var/issuer.log 2>&1 &
ISSUER_PID=$!
"$BIN/verifier" serve --host 127.0.0.1 --port 5001 > var/verifier.log 2>&1 &
VERIFIER_PID=$!
trap 'kill $ISSUER_PID $VERIFIER_PID 2>/dev/null; wait 2>/dev/null; echo; echo "stopped"' INT TERM EXIT

up() { "$BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; }
for pair in "issuer:$ISSUER_URL/.well-known/jwks.json:$ISSUER_PID" "verifier:$ISSUER_VERIFIER_URL/:$VERIFIER_PID"; do
  name=${pair%%:*}; rest=${pair#*:}; pid=${rest##*:}; url=${rest%:*}
  for _ in $(seq 1 75); do
    up "$url" && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the $name did not start; last lines of var/$name.log:" >&2
      tail -n 5 "var/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  up "$url" || { echo "the $name is not answering at $url (see var/$name.log)" >&2; exit 1; }
done

cat <<TXT

  botox-credentials is running (logs in var/issuer.log and var/verifier.log)

  Issuer:    $ISSUER_URL
  Verifier:  $ISSUER_VERIFIER_URL   (paste or upload a credential here)
  Status lists are cached for ${ISSUER_STATUS_LIST_TTL} s (ISSUER_STATUS_LIST_TTL): revoke or suspend,
  then scan or reload the verify page; it shows the change within ${ISSUER_STATUS_LIST_TTL} s.

$(sed 's/^/  /' var/demo.txt)

  Click the holder page to see the demo credential and its QR code, or the verify page
  to see what a patient sees after scanning it. Try the API with the admin token:
    curl -H "Authorization: Bearer <admin token>" $ISSUER_URL/api/v1/programs

  Press Ctrl-C to stop both services.
TXT
wait
