#!/usr/bin/env bash
# Sweep: load the all-in-one playground, the split apps (4 gateways + api +
# a local Redis) and pixelbench's in-process baseline at every point of
# CLIENTS × RATES, one pixelbench run each, and write every result as JSON
# plus a Markdown table (summary.md) for docs/pixelbench.md.
#
# Loopback only. Bounded: each point lasts about clients/ramp + DURATION +
# drain (at most ~25 s), every process it starts is stopped when its point
# ends and again on exit, and it waits (at most WAIT_QUIET seconds) for the
# machine to be quiet before it starts, since other work on the machine
# distorts the figures.
#
#   scripts/sweep.sh                           # the full sweep, ~6 minutes
#   CLIENTS=1000 RATES=1000 TARGETS=split scripts/sweep.sh
#   PROFILE=1000x1000 scripts/sweep.sh         # also CPU profiles at that point
#
# Settings (environment):
#   CLIENTS      "100 1000 5000"          connections per point
#   RATES        "100 1000"               pixels per second in total per point
#   TARGETS      "baseline playground split"
#   DURATION     10s                      pixelbench -duration
#   RAMP         1000                     pixelbench -ramp (connections/s)
#   V2           ""                       1: clients ask for pixel.v2 (batched
#                frames); result names get a -v2 suffix
#   PIXEL_RATE   1000                     servers' per-connection pixel rate
#                (the default 20/s would refuse writes at 100 clients × 1000
#                px/s; the limiter is not what this measures). Burst is 2×.
#   OUT          /tmp/pixel-sweep-<time>  where results go
#   PROFILE      ""                       a CLIENTSxRATE point: adds pixelbench
#                -cpuprofile and, if perf is installed, a perf profile of the
#                server processes, with a text report next to the JSON
#   MAX_LOAD     1.5                      1-minute load average to wait for
#   WAIT_QUIET   300                      longest wait for it, in seconds
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"

CLIENTS="${CLIENTS:-100 1000 5000}"
RATES="${RATES:-100 1000}"
TARGETS="${TARGETS:-baseline playground split}"
DURATION="${DURATION:-10s}"
RAMP="${RAMP:-1000}"
PIXEL_RATE="${PIXEL_RATE:-1000}"
PIXEL_BURST=$((2 * PIXEL_RATE))
OUT="${OUT:-/tmp/pixel-sweep-$(date +%Y%m%d-%H%M%S)}"
PROFILE="${PROFILE:-}"
V2="${V2:-}"
suffix=""
[[ -n "$V2" ]] && suffix="-v2"
MAX_LOAD="${MAX_LOAD:-1.5}"
WAIT_QUIET="${WAIT_QUIET:-300}"
GATEWAYS=4

mkdir -p "$OUT/bin"
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- processes: every one started is remembered and stopped by its pid -----
pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# A port outside the ephemeral range (32768-60999), where 5000 client
# sockets would otherwise collide with it, that nothing listens on.
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}

wait_http() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "no answer from $1"
  return 1
}

# cpu_seconds sums process_cpu_seconds_total over the given base URLs.
cpu_seconds() {
  local total=0 u v
  for u in "$@"; do
    v="$(curl -fsS --max-time 5 "$u/metrics" | awk '$1 == "process_cpu_seconds_total" {print $2}')" || v=0
    total="$(awk -v a="$total" -v b="${v:-0}" 'BEGIN {print a + b}')"
  done
  echo "$total"
}

# --- wait for a quiet machine ------------------------------------------------
waited=0
while :; do
  load="$(cut -d' ' -f1 /proc/loadavg)"
  if awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN {exit !(l <= m)}'; then
    break
  fi
  if ((waited >= WAIT_QUIET)); then
    log "load average still $load after ${waited}s; going ahead (figures will be pessimistic)"
    break
  fi
  log "load average $load > $MAX_LOAD; waiting"
  sleep 15
  waited=$((waited + 15))
done

# --- build once ------------------------------------------------------------
log "building into $OUT/bin"
for app in playground gateway api pixelbench; do
  go build -o "$OUT/bin/$app" "./apps/$app"
done
bin="$OUT/bin"

{
  echo "started: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "go: $(go version)"
  echo "load before: $(cat /proc/loadavg)"
  echo "settings: CLIENTS='$CLIENTS' RATES='$RATES' TARGETS='$TARGETS' DURATION=$DURATION RAMP=$RAMP V2=$V2 PIXEL_RATE=$PIXEL_RATE PIXEL_BURST=$PIXEL_BURST"
} >"$OUT/machine.txt"

# --- targets ---------------------------------------------------------------
# Each start_* sets urls (pixelbench -url) and servers (base URLs whose CPU
# is measured) and records its pids.
urls=""
servers=()

start_playground() {
  local port
  port="$(free_port)"
  rm -rf "$OUT/playground-data"
  PORT="$port" DATA_DIR="$OUT/playground-data" PIXEL_RATE="$PIXEL_RATE" PIXEL_BURST="$PIXEL_BURST" IP_PIXEL_RATE=0 LOG_LEVEL=warn \
    "$bin/playground" 2>>"$OUT/playground.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/health"
  urls="ws://127.0.0.1:$port/ws"
  servers=("http://127.0.0.1:$port")
}

start_split() {
  local rport port i
  rport="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --loglevel warning \
    >>"$OUT/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    redis-cli -p "$rport" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  urls=""
  servers=()
  for i in $(seq 1 "$GATEWAYS"); do
    port="$(free_port)"
    PORT="$port" REDIS_URL="redis://127.0.0.1:$rport/0" PIXEL_RATE="$PIXEL_RATE" PIXEL_BURST="$PIXEL_BURST" IP_PIXEL_RATE=0 LOG_LEVEL=warn \
      "$bin/gateway" 2>>"$OUT/gateway-$i.log" &
    pids+=($!)
    wait_http "http://127.0.0.1:$port/health"
    urls="${urls:+$urls,}ws://127.0.0.1:$port/ws"
    servers+=("http://127.0.0.1:$port")
  done
  port="$(free_port)"
  PORT="$port" REDIS_URL="redis://127.0.0.1:$rport/0" LOG_LEVEL=warn "$bin/api" 2>>"$OUT/api.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/health"
}

# --- the sweep -------------------------------------------------------------
for target in $TARGETS; do
  for clients in $CLIENTS; do
    for rate in $RATES; do
      name="$target-${clients}c-${rate}r$suffix"
      args=(-clients "$clients" -rate "$rate" -duration "$DURATION" -ramp "$RAMP" -progress 0 -json "$OUT/$name.json")
      [[ -n "$V2" ]] && args+=(-v2)
      profiling=""
      [[ "$PROFILE" == "${clients}x${rate}" ]] && profiling=1
      [[ -n "$profiling" ]] && args+=(-cpuprofile "$OUT/$name.bench.pprof")
      case "$target" in
        baseline) args+=(-baseline); servers=() ;;
        playground) start_playground; args+=(-url "$urls") ;;
        split) start_split; args+=(-url "$urls") ;;
        *) log "unknown target $target"; exit 2 ;;
      esac
      log "$name: pixelbench ${args[*]}"
      echo "$bin/pixelbench ${args[*]}" >"$OUT/$name.cmd"
      cpu0=0
      ((${#servers[@]})) && cpu0="$(cpu_seconds "${servers[@]}")"
      perf_pid=""
      if [[ -n "$profiling" && ${#servers[@]} -gt 0 ]] && command -v perf >/dev/null 2>&1; then
        server_pids="$(IFS=,; echo "${pids[*]}")"
        perf record -F 199 -g -p "$server_pids" -o "$OUT/$name.perf.data" >/dev/null 2>&1 &
        perf_pid=$!
      fi
      start=$(date +%s.%N)
      "$bin/pixelbench" "${args[@]}" >"$OUT/$name.txt" 2>"$OUT/$name.log" || log "$name: pixelbench exited $?"
      wall="$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {print e - s}')"
      if [[ -n "$perf_pid" ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf report -i "$OUT/$name.perf.data" --stdio --no-children -g none --sort comm,symbol --percent-limit 0.5 \
          2>/dev/null >"$OUT/$name.perf.txt" || true
      fi
      if [[ -n "$profiling" ]]; then
        go tool pprof -top -nodecount=40 "$bin/pixelbench" "$OUT/$name.bench.pprof" >"$OUT/$name.bench.top.txt" 2>/dev/null || true
      fi
      if ((${#servers[@]})); then
        cpu1="$(cpu_seconds "${servers[@]}")"
        awk -v a="$cpu0" -v b="$cpu1" -v w="$wall" 'BEGIN {printf "%.2f\n", (b - a) / w}' >"$OUT/$name.servercpu"
      fi
      cat "$OUT/$name.txt"
      stop_all
    done
  done
done

# --- summary ---------------------------------------------------------------
label() {
  case "$1" in
    baseline) echo "baseline" ;;
    playground) echo "playground (embedded store)" ;;
    split) echo "$GATEWAYS gateways + api, Redis" ;;
  esac
}
if command -v jq >/dev/null 2>&1; then
  {
    echo "| target | clients | rate px/s | v2 | churn/s | deliveries/s | ratio to baseline | completeness | connect p99 ms | e2e p50 ms | e2e p99 ms | e2e max ms | errors | server CPU (cores) |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for target in $TARGETS; do
      for clients in $CLIENTS; do
        for rate in $RATES; do
          name="$target-${clients}c-${rate}r$suffix"
          f="$OUT/$name.json"
          [[ -f "$f" ]] || { echo "| $(label "$target") | $clients | $rate | no | 0 | (no result) | | | | | | | | |"; continue; }
          base="$OUT/baseline-${clients}c-${rate}r$suffix.json"
          ratio=""
          if [[ -f "$base" ]]; then
            ratio="$(jq -r --slurpfile b "$base" '(.deliveries.per_second / ($b[0].deliveries.per_second | if . == 0 then 1 else . end)) | . * 100 | round / 100' "$f")"
          fi
          cpu="$(cat "$OUT/$name.servercpu" 2>/dev/null || echo "")"
          jq -r --arg t "$(label "$target")" --arg ratio "$ratio" --arg cpu "$cpu" '
            def r1: . * 10 | round / 10;
            def errs: (.errors_by_code // {}) as $e
              | ([$e | to_entries[] | "\(.key)=\(.value)"] | join(" ")) as $s
              | ((.connections.drop_codes // {}) | to_entries | map("drop \(.key)=\(.value)") | join(" ")) as $d
              | ([$s, $d] | map(select(. != "")) | join(", ")) | if . == "" then "none" else . end;
            "| \($t) | \(.config.clients) | \(.config.rate) | \(.config.v2 | if . then "yes" else "no" end) | \(.config.churn) | \(.deliveries.per_second | round) | \($ratio) | \(.deliveries.completeness * 100 | . * 100 | floor / 100)% | \(.connections.connect_time.p99_ms | r1) | \(.latency.end_to_end.p50_ms | r1) | \(.latency.end_to_end.p99_ms | r1) | \(.latency.end_to_end.max_ms | r1) | \(errs) | \($cpu) |"' "$f"
        done
      done
    done
  } >"$OUT/summary.md"
  cat "$OUT/summary.md"
else
  log "jq not found: no summary.md (the JSON files are in $OUT)"
fi
echo "load after: $(cat /proc/loadavg)" >>"$OUT/machine.txt"
log "results in $OUT"
