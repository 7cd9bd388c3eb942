#!/usr/bin/env bash
# Issue 28 from outside: during `pairing-load hostile` (4 phases of 20 s), h2load checks health
# and reads a project at 20 calls a second for 9 s of each phase. h2load connects from
# 127.0.0.1, the attackers' address: health is exempt from the per-address limit, GetProject is
# not (a refusal is still HTTP 200, so h2load times it as an answer). Needs h2load and grpcurl.
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$(dirname "$0")/../.."
target/release/pairing-load hostile --phase 20s --attackers 8 --seed 11 \
  --require-probe-p99-ms 50 --require-rss-growth-mib 256 > "$dir/hostile.log" 2>&1 &
until grep -q "server ready" "$dir/hostile.log"; do sleep 0.5; done
pid=$(pgrep -n -f "pairing-aid --listen 127.0.0.1:0")
# Of the server's two listening ports (gRPC, metrics), the one whose health check answers.
port=
for p in $(ss -ltnpH | grep "pid=$pid," | awk '{print $4}' | sed 's/.*://'); do
  if grpcurl -plaintext -max-time 2 127.0.0.1:$p grpc.health.v1.Health/Check >/dev/null 2>&1; then port=$p; fi
done
echo "server pid $pid, gRPC port $port"
printf '\0\0\0\0\0' > "$dir/health.bin"
python3 - "$dir/get.bin" <<'PY'
import struct, sys
name = b"projects/shenzhen-kashgar-2021-04"
m = b"\x0a" + bytes([len(name)]) + name
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(m)) + m)
PY
t0=$(date +%s)
i=0
for phase in typed damaged metadata http2; do
  sleep $(( t0 + i * 20 + 5 - $(date +%s) ))
  i=$((i + 1))
  h2load -c 1 -m 1 -n 180 --rps 20 -d "$dir/health.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' http://127.0.0.1:$port/grpc.health.v1.Health/Check > "$dir/h.$phase" 2>&1 &
  h2load -c 1 -m 1 -n 180 --rps 20 -d "$dir/get.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' http://127.0.0.1:$port/pairing.v1.ProjectService/GetProject > "$dir/g.$phase" 2>&1 &
  wait $(jobs -p | tail -2)
  for f in h g; do
    echo "$phase $f: $(grep -E '^requests:|^status codes:|^time for request:' "$dir/$f.$phase" | tr -s ' ' | tr '\n' ';')"
  done
done
wait
grep -E "^phase|verdict" "$dir/hostile.log"
