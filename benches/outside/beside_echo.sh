# Sourced by the h2load scripts: in a temporary directory (`dir`, made unless the caller made
# it; removed on exit with the servers), starts the release server on the demo data and the
# trivial tonic echo beside it, each under the command given after the ports if any (a
# profiler), writes the gRPC-framed request bodies h2load sends (`$dir/NAME.bin`: project,
# party, health, echo32, echo600), and returns once both serve; `server_pid` and `echo_pid`
# name them. `h2load_rate` sends one of those bodies for a timed slice.
start_beside_echo() {  # PORT ECHO_PORT [WRAPPER...]
  local port=$1 echo_port=$2
  shift 2
  dir=${dir:-$(mktemp -d)}
  trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$dir"' EXIT
  "$@" target/release/pairing-aid --database "$dir/demo.db" --listen "127.0.0.1:$port" \
    --metrics-listen 127.0.0.1:0 2>"$dir/log" &
  server_pid=$!
  "$@" target/release/pairing-load echo-server --listen "127.0.0.1:$echo_port" >"$dir/echo" 2>&1 &
  echo_pid=$!
  python3 - "$dir" <<'PY'
import struct, sys
def framed(message):
    return b"\x00" + struct.pack(">I", len(message)) + message
def string_field(value):  # field 1, length-delimited, lengths under 16,384
    length = bytes([len(value)]) if len(value) < 128 else bytes([0x80 | (len(value) & 0x7F), len(value) >> 7])
    return b"\x0a" + length + value
for name, message in {
    "project": string_field(b"projects/shanghai-kashgar-2013-01"),
    "party": string_field(b"parties/shanghai"),
    "health": b"",
    "echo32": string_field(b"x" * 32),
    "echo600": string_field(b"x" * 600),
}.items():
    open(f"{sys.argv[1]}/{name}.bin", "wb").write(framed(message))
PY
  until grep -q "listening on" "$dir/log" && grep -q "listening on" "$dir/echo"; do sleep 1; done
}

# What h2load measures sending `$dir/BODY.bin` to URL as gRPC for SECONDS at CONNECTIONS x
# STREAMS: "requests/s mean-latency".
h2load_rate() {  # SECONDS CONNECTIONS STREAMS BODY URL
  h2load -c "$2" -m "$3" -D "$1" -d "$dir/$4.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "$5" | awk '
      /^finished in/ { gsub(",", ""); rate = $4 }
      /^time for request:/ { mean = $6 }
      END { print rate, mean }'
}
