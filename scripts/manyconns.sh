#!/usr/bin/env bash
# Many open connections on one playground, with pixels still delivered to
# all of them: CONNS connections (default 20,000) from BENCHES pixelbench
# processes (each holds CONNS/BENCHES sockets, within its own open-files
# limit), all on the main canvas, RATE pixels per second in total for
# DURATION. Every bench reports completeness by seq for its own clients,
# counting the other benches' writes too. Loopback only; bounded (about
# CONNS / BENCHES / RAMP + DURATION + drain seconds); everything started is
# stopped on exit.
#
#   scripts/manyconns.sh                       # 20,000 connections
#   CONNS=19000 RATE=4 scripts/manyconns.sh
#
# A process needs one file per socket: the playground CONNS of them, so the
# open-files hard limit (ulimit -Hn) must exceed CONNS (MAX_CONNECTIONS=0
# lifts the server's own cap, which is 90 % of the limit).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS="${CONNS:-20000}"
BENCHES="${BENCHES:-2}"
RATE="${RATE:-4}"
DURATION="${DURATION:-20s}"
RAMP="${RAMP:-1000}"
SERVER_CPUS="${SERVER_CPUS-0}"
BENCH_CPUS="${BENCH_CPUS-1}"
OUT="${OUT:-/tmp/pixel-manyconns-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT/bin"

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hard="$(ulimit -Hn)"
if [[ "$hard" != unlimited ]] && ((hard <= CONNS + 64)); then
  echo "the open-files hard limit is $hard: the playground cannot hold $CONNS sockets (raise ulimit -Hn, or lower CONNS)" >&2
  exit 2
fi
ulimit -n "$hard"
server_pin=() bench_pin=()
if [[ -n "$SERVER_CPUS" && -n "$BENCH_CPUS" ]]; then
  server_pin=(taskset -c "$SERVER_CPUS")
  bench_pin=(taskset -c "$BENCH_CPUS")
fi

go build -o "$OUT/bin/playground" ./apps/playground
go build -o "$OUT/bin/pixelbench" ./apps/pixelbench
port=$((10000 + RANDOM % 20000))
PORT="$port" DATA_DIR="$OUT/data" MAX_CONNECTIONS=0 IP_PIXEL_RATE=0 LOG_LEVEL=warn \
  "${server_pin[@]}" "$OUT/bin/playground" 2>>"$OUT/playground.log" &
pids+=($!)
server=$!
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" 2>/dev/null && break
  sleep 0.1
done

{
  echo "started: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) cores, cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "go: $(go version); commit $(git rev-parse --short HEAD)"
  echo "open files: soft $(ulimit -n), hard $hard; pinning: server ${server_pin[*]:-(none)}, benches ${bench_pin[*]:-(none)}"
  echo "load before: $(cat /proc/loadavg)"
} >"$OUT/machine.txt"

server_cpu() { sed 's/.*) //' "/proc/$server/stat" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($12 + $13) / hz}'; }
cpu0="$(server_cpu)"
start=$(date +%s)
per=$((CONNS / BENCHES))
bench_pids=()
for i in $(seq 1 "$BENCHES"); do
  "${bench_pin[@]}" "$OUT/bin/pixelbench" -url "ws://127.0.0.1:$port/ws" -clients "$per" -rate "$(awk -v r="$RATE" -v b="$BENCHES" 'BEGIN {print r / b}')" \
    -duration "$DURATION" -ramp "$RAMP" -sample 100 -drain 20s -progress 5s -json "$OUT/bench-$i.json" >"$OUT/bench-$i.txt" 2>"$OUT/bench-$i.log" &
  bench_pids+=($!)
  pids+=($!)
done
# The server's view once every bench is sending: its open connections.
peak=0
while kill -0 "${bench_pids[0]}" 2>/dev/null; do
  n="$(curl -fsS --max-time 5 "http://127.0.0.1:$port/health" | jq -r '.connections // 0' 2>/dev/null || echo 0)"
  ((n > peak)) && peak=$n
  sleep 2
done
for pid in "${bench_pids[@]}"; do wait "$pid" || true; done
mem="$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" | awk '$1 == "go_memstats_heap_inuse_bytes" || $1 == "go_memstats_stack_inuse_bytes" {s += $2} END {printf "%.0f MiB", s / 1048576}')"
echo "peak connections on the server: $peak; heap + stacks at the end: $mem; server CPU $(awk -v a="$cpu0" -v b="$(server_cpu)" 'BEGIN {print b - a}') s over $(($(date +%s) - start)) s" | tee -a "$OUT/machine.txt"
echo "load after: $(cat /proc/loadavg)" >>"$OUT/machine.txt"
for i in $(seq 1 "$BENCHES"); do
  echo "--- bench $i"
  cat "$OUT/bench-$i.txt"
done
echo "results in $OUT" >&2
