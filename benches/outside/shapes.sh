#!/usr/bin/env bash
# GetProject against the trivial tonic echo (a 32-byte payload) with h2load, at the shapes
# issue #21 names (connections x streams: 4x32, 2x4, 4x1, and 1x1 for latency), in alternating
# rounds in one run. Needs h2load (Debian nghttp2-client) and a release build. With `echo600`
# as the third argument the echo carries 600 bytes each way, as many as GetProject answers:
# what is left of the gap then is not the answer's size. Each shape's summary gives the ratio
# round by round, of the run (all GetProject calls over all echo calls: the rounds are of one
# length) with the range a bootstrap over the rounds puts it in, and the median round's.
# With `pinned` as the fourth argument both servers run on the first CPU and h2load on the
# second: on a 2-CPU machine h2load otherwise shares a CPU with the server it measures as the
# scheduler places them, which the issue's own runs did (`shared`, the default). `pinned`
# needs taskset (util-linux).
# Usage: benches/outside/shapes.sh [SECONDS PER SLICE] [ROUNDS] [echo32|echo600] [shared|pinned]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-3}
rounds=${2:-5}
echo_body=${3:-echo32}
placement=${4:-shared}
source benches/outside/beside_echo.sh
case $placement in
  shared) start_beside_echo 50073 50074 ;;
  pinned)
    start_beside_echo 50073 50074 taskset -c 0
    # `h2load_rate` calls h2load by name: this function puts every slice on the second CPU.
    h2load() { taskset -c 1 "$(type -P h2load)" "$@"; }
    ;;
  *) echo "placement is shared or pinned, not $placement" >&2; exit 2 ;;
esac
for shape in "4 32" "2 4" "4 1" "1 1"; do
  set -- $shape
  gets=() echoes=()
  for round in $(seq "$rounds"); do
    get=$(h2load_rate "$seconds" "$1" "$2" project http://127.0.0.1:50073/pairing.v1.ProjectService/GetProject)
    echo=$(h2load_rate "$seconds" "$1" "$2" "$echo_body" http://127.0.0.1:50074/loadtest.echo.v1.EchoService/Echo)
    gets+=("${get%% *}") echoes+=("${echo%% *}")
    echo "  $1x$2 round $round: GetProject ${get% *} req/s (mean ${get#* }), echo ${echo% *} req/s (mean ${echo#* })"
  done
  python3 -c '
import random, statistics, sys
shape, body, placement = sys.argv[1:4]
gets, echoes = (list(map(float, a.split())) for a in sys.argv[4:])
ratios = [g / e for g, e in zip(gets, echoes)]
rounds = " ".join(f"{r:.2f}" for r in ratios)
# How far the run ratio moves with which rounds the run happened to get: the speed of the machine
# drifts between rounds (an echo alone varies by a third here), so a ratio of 7 rounds is
# known to a few hundredths, at 4 x 1 on some machines only to a tenth (docs/BENCHMARKS.md,
# issue 21, tenth session). Rounds drawn again with replacement, 2,000 times.
draws = random.Random(0)
resampled = sorted(
    sum(gets[i] for i in pick) / sum(echoes[i] for i in pick)
    for pick in ([draws.randrange(len(gets)) for _ in gets] for _ in range(2000)))
low, high = resampled[50], resampled[1949]
print(f"{shape} ({placement}): GetProject/{body} by round: {rounds}; "
      f"of the run {sum(gets) / sum(echoes):.2f} (95 % of resampled runs {low:.2f}-{high:.2f}), "
      f"median round {statistics.median(ratios):.2f}")' \
    "$1x$2" "$echo_body" "$placement" "${gets[*]}" "${echoes[*]}"
done
