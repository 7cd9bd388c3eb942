#!/usr/bin/env bash
# ReconcileReportedFigures as issue #28 measured it, from outside with grpcurl: the demo data,
# PROJECTS synthetic projects and FIGURES more reported figures (copies of the demo's, in random
# areas and spans); then one call alone, four at once beside health checks, and the same with a
# token at 1M projects if asked. Usage: benches/outside/reconcile.sh [PROJECTS] [FIGURES]
set -euo pipefail
cd "$(dirname "$0")/../.."
projects=${1:-1828}
figures=${2:-1000}
port=50072
token=bench-writer-token-0123456789
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
target/release/pairing-aid --database "$dir/rec.db" --listen 127.0.0.1:$port \
  --metrics-listen 127.0.0.1:0 --synthetic-projects "$projects" \
  --tokens "bench write $token" 2>"$dir/log" &
until grep -q "listening on" "$dir/log"; do sleep 1; done
python3 - "$figures" > "$dir/figures.json" <<'PY'
import json, random, sys
random.seed(28)
areas = ["areas/xinjiang", "areas/kashgar", "areas/hotan", "areas/aksu", "areas/kashgar-city",
         "areas/shufu", "areas/yarkant", "areas/taxkorgan", "areas/hotan-county", "areas/ili"]
indicators = ["indicators/assistance-funds", "indicators/assistance-funds-usd",
              "indicators/people-housing-improved"]
observations = []
for i in range(int(sys.argv[1])):
    first, span = random.randint(2010, 2022), random.randint(1, 5)
    observations.append({
        "name": f"observations/bench-reconcile-{i:05}",
        "indicator": random.choice(indicators),
        "area": random.choice(areas),
        "period": f"{first}/{first + span}",
        "value": str(random.randint(1, 500)),
        "qualifier": "QUALIFIER_ABOUT",
        "status": "DATA_STATUS_REPORTED",
        "provenance": {"source_title": "benchmark copy", "publisher": "pairing-aid",
                       "quoted_passage": "", "note": "a copy for the reconciliation benchmark"},
    })
print(json.dumps({"observations": observations}))
PY
grpcurl -plaintext -max-msg-sz 67108864 -H "authorization: Bearer $token" -d @ \
  127.0.0.1:$port pairing.v1.RecordService/BatchUpsertObservations < "$dir/figures.json" >/dev/null
reconcile() {
  start=$(date +%s%N)
  grpcurl -plaintext -max-msg-sz 67108864 "$@" -d '{}' 127.0.0.1:$port \
    pairing.v1.AnalyticsService/ReconcileReportedFigures > "$dir/out.json" 2>"$dir/err" || true
  echo "$(( ($(date +%s%N) - start) / 1000000 )) ms, $(grep -c '"reported"' "$dir/out.json" || true) figures $(head -c 120 "$dir/err")"
}
echo "$projects synthetic projects beside the demo data, $figures more reported figures"
echo "one call alone, anonymous: $(reconcile)"
echo "one call alone, with a token: $(reconcile -H "authorization: Bearer $token")"
printf '\0\0\0\0\0' > "$dir/health.bin"   # an empty HealthCheckRequest, gRPC-framed
health() {
  h2load -c 1 -m 1 -n "$1" --rps 20 -d "$dir/health.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$port/grpc.health.v1.Health/Check" \
    | grep -E "^requests:|^time for request:" | tr -s ' ' | tr '\n' ';'
}
echo "grpcurl's own start-up, for scale: a health check end to end takes $(
  start=$(date +%s%N); grpcurl -plaintext 127.0.0.1:$port grpc.health.v1.Health/Check >/dev/null
  echo $(( ($(date +%s%N) - start) / 1000000 ))) ms"
echo "health checks alone (h2load, 20 a second): $(health 20)"
echo "four at once, anonymous, with health checks (h2load, 20 a second) meanwhile:"
calls=()
for i in 1 2 3 4; do (echo "  call $i: $(reconcile)") & calls+=($!); done
echo "  health beside them: $(health 20)"
wait "${calls[@]}"
