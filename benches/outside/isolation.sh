#!/usr/bin/env bash
# GetProject (h2load) and health checks (grpcurl, end to end) alone, then beside four heavy
# grpcurl callers each looping a filtered ListProjects over the whole record: the isolation
# figures as an operator measures them, from outside. Needs h2load (Debian nghttp2-client)
# and grpcurl. Usage: benches/outside/isolation.sh [PROJECTS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
projects=${1:-1000000}
seconds=${2:-20}
port=50071
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
target/release/pairing-aid --database "$dir/iso.db" --listen 127.0.0.1:$port \
  --metrics-listen 127.0.0.1:0 --synthetic-projects "$projects" \
  --anonymous-budget-ms 30000 2>"$dir/log" &   # the heavy grpcurl callers have no token
until grep -q "listening on" "$dir/log"; do sleep 1; done
name=$(grpcurl -plaintext -d '{"page_size": 1}' 127.0.0.1:$port \
  pairing.v1.ProjectService/ListProjects | python3 -c 'import json,sys; print(json.load(sys.stdin)["projects"][0]["name"])')
python3 - "$name" > "$dir/get.bin" <<'PY'
import struct, sys
name = sys.argv[1].encode()
message = b"\x0a" + bytes([len(name)]) + name          # GetProjectRequest.name, field 1
sys.stdout.buffer.write(b"\x00" + struct.pack(">I", len(message)) + message)
PY
measure() {
  h2load -c 1 -m 8 -D "$seconds" -d "$dir/get.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$port/pairing.v1.ProjectService/GetProject" \
    | grep -E "^finished in|^requests:|^time for request:" | sed "s/^/  h2load GetProject 1x8: /"
  for i in $(seq 20); do
    start=$(date +%s%N)
    grpcurl -plaintext -max-time 1 127.0.0.1:$port grpc.health.v1.Health/Check >/dev/null \
      && echo $(( ($(date +%s%N) - start) / 1000000 )) || echo failed
  done | sort -n | tr '\n' ' ' | sed 's/^/  grpcurl health, ms (sorted): /'; echo
}
echo "alone ($projects projects):"
measure
for i in 1 2 3 4; do
  (while true; do
     grpcurl -plaintext -max-time 30 -d '{"filter": "field = EDUCATION AND year >= 2015", "page_size": 50}' \
       127.0.0.1:$port pairing.v1.ProjectService/ListProjects >/dev/null 2>>"$dir/heavy-$i" || true
   done) &
done
sleep 3
echo "beside four heavy callers looping filtered ListProjects:"
measure
echo "  heavy refusals seen by the grpcurl callers: $(cat "$dir"/heavy-* | grep -c ResourceExhausted || true)"
