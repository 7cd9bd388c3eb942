#!/usr/bin/env bash
# Instructions the server executes per call, by what the call crosses (as call_cost.sh: the
# trivial tonic echo, a health check, GetParty, GetProject), counted by valgrind's callgrind
# while h2load sends a fixed number of calls. Counts, not seconds: the same for the same build
# and requests whatever else the machine is doing, so an A/B of two builds needs no quiet
# machine (callgrind runs one thread at a time; time under it means nothing). Needs valgrind,
# h2load (Debian nghttp2-client) and a release build.
# Usage: benches/outside/call_instructions.sh [CALLS] [CONNECTIONS] [STREAMS]
set -euo pipefail
cd "$(dirname "$0")/../.."
calls=${1:-2000}
connections=${2:-2}
streams=${3:-4}
dir=$(mktemp -d)
source benches/outside/beside_echo.sh
start_beside_echo 50077 50078 valgrind --tool=callgrind --instr-atstart=no \
  "--callgrind-out-file=$dir/callgrind.%p"
send() {  # calls label pid body url
  h2load -c "$connections" -m "$streams" -n "$1" -d "$dir/$4.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$5" >"$dir/h2load"
  grep -q "$1 succeeded" "$dir/h2load" || { cat "$dir/h2load"; exit 1; }
}
count() {  # label pid body url
  send 200 "$@"  # warm up: connections, allocator caches
  callgrind_control --zero "$2" >/dev/null 2>&1
  callgrind_control --instr=on "$2" >/dev/null 2>&1
  send "$calls" "$@"
  callgrind_control --instr=off "$2" >/dev/null 2>&1
  callgrind_control --dump="$1" "$2" >/dev/null 2>&1
  awk -v calls="$calls" -v label="$1" '/^totals:/ {
    printf "  %-10s %8.0f instructions per call\n", label, $2 / calls }' \
    "$(grep -l "^desc: Trigger: dump $1\$" "$dir"/callgrind.*)"
}
echo "instructions per call ($connections x $streams, $calls calls each, after 200 to warm up):"
ours=http://127.0.0.1:50077
count echo32 "$echo_pid" echo32 http://127.0.0.1:50078/loadtest.echo.v1.EchoService/Echo
count health "$server_pid" health "$ours/grpc.health.v1.Health/Check"
count GetParty "$server_pid" party "$ours/pairing.v1.PartyService/GetParty"
count GetProject "$server_pid" project "$ours/pairing.v1.ProjectService/GetProject"
