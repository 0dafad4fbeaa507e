#!/usr/bin/env bash
# Start a moto S3 server on a free loopback port with one bucket, for scripts (the Rust tests
# start their own). Prints `export …` lines for the AWS_* environment and MOTO_PID.
# Usage: eval "$(scripts/moto-up.sh LOGFILE [BUCKET])"; stop with: kill "$MOTO_PID"
set -euo pipefail
log=${1:-/dev/null} bucket=${2:-framefan}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" > "$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 "$pid" 2>/dev/null || { echo "moto-up: moto_server exited; see $log" >&2; exit 1; }
  sleep 0.1
done
curl -sf -X PUT "http://127.0.0.1:$port/$bucket" > /dev/null \
  || { kill "$pid"; echo "moto-up: could not create bucket $bucket (3-63 lowercase characters)" >&2; exit 1; }
cat <<ENV
export MOTO_PID=$pid
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ALLOW_HTTP=true
ENV
