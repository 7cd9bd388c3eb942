#!/usr/bin/env bash
# Filtered listings at scale, as issue #21 measures them, from outside with h2load (one call at
# a time): ListProjects with a filter, a page of 50 with total_size, in name order and sorted.
# Needs h2load (Debian nghttp2-client) and a release build.
# Usage: benches/outside/listing.sh [PROJECTS] [CALLS]
set -euo pipefail
cd "$(dirname "$0")/../.."
projects=${1:-1000000}
calls=${2:-50}
port=50075
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
target/release/pairing-aid --database "$dir/list.db" --listen 127.0.0.1:$port \
  --metrics-listen 127.0.0.1:0 --synthetic-projects "$projects" --anonymous-budget-ms 60000 \
  2>"$dir/log" &
until grep -q "listening on" "$dir/log"; do sleep 1; done
measure() {  # label filter order_by
  python3 - "$dir/request.bin" "$2" "$3" <<'PY'
import struct, sys
def string(field, text):
    data = text.encode()
    length, prefix = len(data), b""
    while True:
        byte = length & 0x7F
        length >>= 7
        prefix += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    return bytes([field << 3 | 2]) + prefix + data
message = b"\x08\x32" + string(3, sys.argv[2]) + (string(4, sys.argv[3]) if sys.argv[3] else b"")
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
PY
  result=$(h2load -c 1 -m 1 -n "$calls" -d "$dir/request.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$port/pairing.v1.ProjectService/ListProjects" \
    | grep -E "^requests:|^time for request:" | tr -s ' ' | tr '\n' ';')
  echo "$1: $result"
}
echo "$projects synthetic projects beside the demo data; $calls calls each, one at a time"
measure "field = EDUCATION AND year >= 2015, name order" 'field = EDUCATION AND year >= 2015' ''
measure "the same, order_by title" 'field = EDUCATION AND year >= 2015' 'title'
measure "title:\"water\", name order" 'title:"water"' ''
measure "area = \"areas/kashgar\" AND livelihood = true" 'area = "areas/kashgar" AND livelihood = true' ''
measure "description:\"x\" (read from every project)" 'description:"x"' ''
