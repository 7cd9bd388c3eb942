# Sourced by the h2load scripts: starts the release server on the demo data (kept in DIR) and
# the trivial tonic echo beside it, and returns once both serve; `server_pid` and `echo_pid`
# name them. The caller's EXIT trap stops them.
start_beside_echo() {  # DIR PORT ECHO_PORT
  target/release/pairing-aid --database "$1/demo.db" --listen "127.0.0.1:$2" \
    --metrics-listen 127.0.0.1:0 2>"$1/log" &
  server_pid=$!
  target/release/pairing-load echo-server --listen "127.0.0.1:$3" >"$1/echo" &
  echo_pid=$!
  until grep -q "listening on" "$1/log" && grep -q "listening on" "$1/echo"; do sleep 1; done
}
