#!/usr/bin/env bash
# What GetProject's gap to the echo is made of, at one h2load shape, in alternating rounds of
# one run: the trivial tonic echo with a 32-byte payload (the yardstick) and with 600 bytes
# each way (the answer's size), a health check (every layer of our server, no handler) and
# GetProject. With a second server binary as the fifth argument, GetProject on it too, started
# beside the first on the same demo data: an A/B of two builds, each round's calls on both.
# Every call type runs after a round on another process, as in shapes.sh, so none finds its
# server's caches warmed by the call before. Needs h2load (Debian nghttp2-client) and a release
# build.
# Usage: benches/outside/decompose.sh [SECONDS PER SLICE] [ROUNDS] [CONNECTIONS] [STREAMS]
#        [SECOND SERVER BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-3}
rounds=${2:-7}
connections=${3:-4}
streams=${4:-1}
second=${5:-}
source benches/outside/beside_echo.sh
start_beside_echo 50079 50080
calls=(echo32 health echo600 GetProject)
if [[ -n $second ]]; then
  "$second" --database "$dir/second.db" --listen 127.0.0.1:50081 --metrics-listen 127.0.0.1:0 \
    2>"$dir/second.log" &
  until grep -q "listening on" "$dir/second.log"; do sleep 1; done
  calls+=(second)
fi
rate() {  # body url -> requests/s
  local measured
  measured=$(h2load_rate "$seconds" "$connections" "$streams" "$1" "$2")
  echo "${measured%% *}"
}
declare -A total
for round in $(seq "$rounds"); do
  line="  round $round:"
  for call in "${calls[@]}"; do
    case $call in
      echo32 | echo600) value=$(rate "$call" http://127.0.0.1:50080/loadtest.echo.v1.EchoService/Echo) ;;
      health) value=$(rate health http://127.0.0.1:50079/grpc.health.v1.Health/Check) ;;
      GetProject) value=$(rate project http://127.0.0.1:50079/pairing.v1.ProjectService/GetProject) ;;
      second) value=$(rate project http://127.0.0.1:50081/pairing.v1.ProjectService/GetProject) ;;
    esac
    total[$call]=$(python3 -c "print(${total[$call]:-0} + $value)")
    line+=" $call $value"
  done
  echo "$line req/s"
done
summary="${connections}x$streams, of the run, against echo32:"
for call in "${calls[@]}"; do
  summary+=" $call $(python3 -c "print(f'{${total[$call]} / ${total[echo32]}:.3f}')")"
done
echo "$summary"
