#!/usr/bin/env bash
# Server CPU per call, by what the call crosses: the trivial tonic echo (32-byte payload, and
# 600 bytes, a project's size, each way), a health check (our layers, no handler), GetParty
# (layers, authentication and a small answer) and GetProject (the same with a 600-byte
# answer). `perf stat` counts the server's task-clock, context switches and system calls while
# h2load sends a fixed number of calls, so the figures do not depend on the load generator's
# share of the two cores the way throughput does. Needs h2load (Debian nghttp2-client), perf
# and a release build.
# Usage: benches/outside/call_cost.sh [CALLS] [ROUNDS] [CONNECTIONS] [STREAMS]
set -euo pipefail
cd "$(dirname "$0")/../.."
calls=${1:-100000}
rounds=${2:-3}
connections=${3:-2}
streams=${4:-4}
source benches/outside/beside_echo.sh
start_beside_echo 50075 50076
measure() {  # label pid body url
  perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p "$2" -o "$dir/perf" -- \
    h2load -c "$connections" -m "$streams" -n "$calls" -d "$dir/$3.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$4" >"$dir/h2load"
  python3 - "$1" "$calls" "$dir" <<'PY'
import csv, re, sys
label, calls, dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = {row[2]: float(row[0]) for row in csv.reader(open(f"{dir}/perf"))
          if len(row) > 2 and row[0][:1].isdigit()}
rate = re.search(r"finished in [^,]+, ([\d.]+) req/s", open(f"{dir}/h2load").read()).group(1)
print(f"  {label:<10} {float(rate):>9,.0f} calls/s  server CPU {counts['task-clock'] * 1000 / calls:5.1f} us/call"
      f"  context switches {counts['context-switches'] / calls:.2f}"
      f"  system calls {counts['raw_syscalls:sys_enter'] / calls:.2f}")
PY
}
ours=http://127.0.0.1:50075
for round in $(seq "$rounds"); do
  echo "round $round (${connections} x ${streams}, $calls calls each):"
  measure echo32 "$echo_pid" echo32 http://127.0.0.1:50076/loadtest.echo.v1.EchoService/Echo
  measure echo600 "$echo_pid" echo600 http://127.0.0.1:50076/loadtest.echo.v1.EchoService/Echo
  measure health "$server_pid" health "$ours/grpc.health.v1.Health/Check"
  measure GetParty "$server_pid" party "$ours/pairing.v1.PartyService/GetParty"
  measure GetProject "$server_pid" project "$ours/pairing.v1.ProjectService/GetProject"
done
