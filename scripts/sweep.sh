#!/usr/bin/env bash
# Sweep: load the all-in-one playground, the split apps (4 gateways + api +
# a local Redis) and pixelbench's baseline at every point of CLIENTS ×
# RATES, one pixelbench run each, and write every result as JSON plus a
# Markdown table (summary.md) for docs/pixelbench.md.
#
# The servers (the baseline too, as its own process: pixelbench
# -serve-baseline) run pinned to SERVER_CPUS and pixelbench to BENCH_CPUS
# with taskset, so load and servers do not fight over one core. Beside
# deliveries/s and latency the summary gives the servers' CPU time per
# delivery: the CPU time of every server process (/proc/<pid>/stat: utime +
# stime; Redis and the api included) over the run, divided by the
# deliveries the servers counted themselves (pixel_ws_events_out_total
# from their /metrics; for the baseline, which has no metrics, and servers
# built before that metric, pixelbench's count); <point>.cpubyprocess
# splits it by process (which gateway, the api, Redis).
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
#   SERVER_CPUS  0                        taskset CPU list for every server process
#   REDIS_CPUS   $SERVER_CPUS             taskset CPU list for the split target's Redis
#                (e.g. BENCH_CPUS' core: Redis as a service of its own, not on the
#                gateways' core; its CPU is still counted as the servers')
#   BENCH_CPUS   1                        taskset CPU list for pixelbench ("" for
#                both: no pinning, as before)
#   CANVAS       ""                       a canvas name: pixelbench -canvas (created
#                through the REST API), the per-canvas design; not for baseline
#   BASELINE_WRITES batched               pixelbench -baseline-writes (frame: one
#                write per frame, the baseline before batching)
#   SERVER_BIN   ""                       a directory holding playground, gateway and
#                api binaries to load instead of building them (another commit's,
#                for a before/after); pixelbench is always built from this tree
#   GATEWAYS     4                        gateways of the split target (1: one
#                gateway on Redis, with the api)
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
GATEWAYS="${GATEWAYS:-4}"
SERVER_CPUS="${SERVER_CPUS-0}"
REDIS_CPUS="${REDIS_CPUS-$SERVER_CPUS}"
BENCH_CPUS="${BENCH_CPUS-1}"
CANVAS="${CANVAS:-}"
BASELINE_WRITES="${BASELINE_WRITES:-batched}"
server_pin=()
bench_pin=()
redis_pin=()
if [[ -n "$SERVER_CPUS" && -n "$BENCH_CPUS" ]]; then
  command -v taskset >/dev/null || { echo "taskset not found (util-linux); set SERVER_CPUS= BENCH_CPUS= to run unpinned" >&2; exit 2; }
  server_pin=(taskset -c "$SERVER_CPUS")
  bench_pin=(taskset -c "$BENCH_CPUS")
  [[ -n "$REDIS_CPUS" ]] && redis_pin=(taskset -c "$REDIS_CPUS")
fi

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

# cpu_seconds sums the CPU time (user + system, in seconds) of the given
# pids from /proc/<pid>/stat. The fields after the command name (which may
# hold spaces, so it is cut at its closing parenthesis) are utime and stime
# at 12 and 13.
cpu_seconds() {
  local total=0 pid ticks
  local hz
  hz="$(getconf CLK_TCK)"
  for pid in "$@"; do
    ticks="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')" || ticks=0
    total="$(awk -v a="$total" -v t="${ticks:-0}" -v hz="$hz" 'BEGIN {print a + t / hz}')"
  done
  echo "$total"
}

# events_out sums pixel_ws_events_out_total (deliveries counted by the
# servers) over the given base URLs.
events_out() {
  local total=0 u v
  for u in "$@"; do
    v="$(curl -fsS --max-time 5 "$u/metrics" | awk '$1 == "pixel_ws_events_out_total" {print $2}')" || v=0
    total="$(awk -v a="$total" -v b="${v:-0}" 'BEGIN {printf "%.0f", a + b}')"
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
  if [[ -n "${SERVER_BIN:-}" && "$app" != pixelbench ]]; then
    cp "$SERVER_BIN/$app" "$OUT/bin/$app"
  else
    go build -o "$OUT/bin/$app" "./apps/$app"
  fi
done
bin="$OUT/bin"

{
  echo "started: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "pinning: servers ${server_pin[*]:-(none)}, Redis ${redis_pin[*]:-(none)}, pixelbench ${bench_pin[*]:-(none)}"
  echo "go: $(go version)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)'); servers: ${SERVER_BIN:-built from this tree}"
  echo "load before: $(cat /proc/loadavg)"
  echo "settings: CLIENTS='$CLIENTS' RATES='$RATES' TARGETS='$TARGETS' DURATION=$DURATION RAMP=$RAMP V2=$V2 PIXEL_RATE=$PIXEL_RATE PIXEL_BURST=$PIXEL_BURST CANVAS=$CANVAS BASELINE_WRITES=$BASELINE_WRITES GATEWAYS=$GATEWAYS"
} >"$OUT/machine.txt"

# --- targets ---------------------------------------------------------------
# Each start_* sets urls (pixelbench -url), servers (base URLs whose
# metrics count deliveries) and server_pids (whose CPU time is measured),
# and records its pids.
urls=""
servers=()
server_pids=()
server_names=()

start_baseline() {
  local port
  port="$(free_port)"
  "${server_pin[@]}" "$bin/pixelbench" -serve-baseline "127.0.0.1:$port" -baseline-writes "$BASELINE_WRITES" 2>>"$OUT/baseline.log" &
  pids+=($!)
  server_pids=($!)
  server_names=(baseline)
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  urls="ws://127.0.0.1:$port/ws"
  servers=()
}

start_playground() {
  local port
  port="$(free_port)"
  rm -rf "$OUT/playground-data"
  PORT="$port" DATA_DIR="$OUT/playground-data" PIXEL_RATE="$PIXEL_RATE" PIXEL_BURST="$PIXEL_BURST" IP_PIXEL_RATE=0 LOG_LEVEL=warn \
    "${server_pin[@]}" "$bin/playground" 2>>"$OUT/playground.log" &
  pids+=($!)
  server_pids=($!)
  server_names=(playground)
  wait_http "http://127.0.0.1:$port/health"
  urls="ws://127.0.0.1:$port/ws"
  servers=("http://127.0.0.1:$port")
}

start_split() {
  local rport port i
  rport="$(free_port)"
  "${redis_pin[@]}" redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --loglevel warning \
    >>"$OUT/redis.log" 2>&1 &
  pids+=($!)
  server_pids=($!)
  server_names=(redis)
  for _ in $(seq 1 100); do
    redis-cli -p "$rport" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  urls=""
  servers=()
  for i in $(seq 1 "$GATEWAYS"); do
    port="$(free_port)"
    PORT="$port" REDIS_URL="redis://127.0.0.1:$rport/0" PIXEL_RATE="$PIXEL_RATE" PIXEL_BURST="$PIXEL_BURST" IP_PIXEL_RATE=0 LOG_LEVEL=warn \
      "${server_pin[@]}" "$bin/gateway" 2>>"$OUT/gateway-$i.log" &
    pids+=($!)
    server_pids+=($!)
    server_names+=("gateway-$i")
    wait_http "http://127.0.0.1:$port/health"
    urls="${urls:+$urls,}ws://127.0.0.1:$port/ws"
    servers+=("http://127.0.0.1:$port")
  done
  port="$(free_port)"
  PORT="$port" REDIS_URL="redis://127.0.0.1:$rport/0" PIXEL_RATE="$PIXEL_RATE" PIXEL_BURST="$PIXEL_BURST" LOG_LEVEL=warn \
    "${server_pin[@]}" "$bin/api" 2>>"$OUT/api.log" &
  pids+=($!)
  server_pids+=($!)
  server_names+=(api)
  wait_http "http://127.0.0.1:$port/health"
  api="http://127.0.0.1:$port"
}

# --- the sweep -------------------------------------------------------------
for target in $TARGETS; do
  for clients in $CLIENTS; do
    for rate in $RATES; do
      name="$target-${clients}c-${rate}r$suffix"
      args=(-clients "$clients" -rate "$rate" -duration "$DURATION" -ramp "$RAMP" -progress 0 -json "$OUT/$name.json")
      [[ -n "$V2" ]] && args+=(-v2)
      api=""
      profiling=""
      [[ "$PROFILE" == "${clients}x${rate}" ]] && profiling=1
      [[ -n "$profiling" ]] && args+=(-cpuprofile "$OUT/$name.bench.pprof")
      case "$target" in
        baseline) start_baseline; args+=(-url "$urls") ;;
        playground) start_playground; args+=(-url "$urls") ;;
        split) start_split; args+=(-url "$urls") ;;
        *) log "unknown target $target"; exit 2 ;;
      esac
      if [[ -n "$CANVAS" && "$target" != baseline ]]; then
        args+=(-canvas "$CANVAS")
        [[ -n "$api" ]] && args+=(-api "$api")
      fi
      log "$name: pixelbench ${args[*]}"
      echo "${bench_pin[*]} $bin/pixelbench ${args[*]}  # servers: ${server_pin[*]}" >"$OUT/$name.cmd"
      cpu0="$(cpu_seconds "${server_pids[@]}")"
      by0=()
      for pid in "${server_pids[@]}"; do by0+=("$(cpu_seconds "$pid")"); done
      ev0=0
      ((${#servers[@]})) && ev0="$(events_out "${servers[@]}")"
      perf_pid=""
      if [[ -n "$profiling" ]] && command -v perf >/dev/null 2>&1; then
        perf record -F 199 -g -p "$(IFS=,; echo "${server_pids[*]}")" -o "$OUT/$name.perf.data" >/dev/null 2>&1 &
        perf_pid=$!
      fi
      start=$(date +%s.%N)
      "${bench_pin[@]}" "$bin/pixelbench" "${args[@]}" >"$OUT/$name.txt" 2>"$OUT/$name.log" || log "$name: pixelbench exited $?"
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
      cpu1="$(cpu_seconds "${server_pids[@]}")"
      for i in "${!server_pids[@]}"; do
        awk -v n="${server_names[$i]:-server}" -v a="${by0[$i]}" -v b="$(cpu_seconds "${server_pids[$i]}")" -v w="$wall" \
          'BEGIN {printf "%s %.2f cores\n", n, (b - a) / w}'
      done >"$OUT/$name.cpubyprocess"
      ev1=0
      ((${#servers[@]})) && ev1="$(events_out "${servers[@]}")"
      if ((ev1 <= ev0)); then
        # The baseline, or a server built before it counted deliveries:
        # pixelbench's count instead.
        ev0=0
        ev1="$(jq -r '.deliveries.total' "$OUT/$name.json" 2>/dev/null || echo 0)"
      fi
      awk -v a="$cpu0" -v b="$cpu1" -v w="$wall" 'BEGIN {printf "%.2f\n", (b - a) / w}' >"$OUT/$name.servercpu"
      awk -v a="$cpu0" -v b="$cpu1" -v e0="$ev0" -v e1="$ev1" 'BEGIN {d = e1 - e0; if (d > 0) printf "%.2f\n", (b - a) * 1e6 / d; else print ""}' >"$OUT/$name.cpuperdelivery"
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
    split) if ((GATEWAYS == 1)); then echo "1 gateway + api, Redis"; else echo "$GATEWAYS gateways + api, Redis"; fi ;;
  esac
}
if command -v jq >/dev/null 2>&1; then
  {
    echo "| target | clients | rate px/s | v2 | churn/s | deliveries/s | ratio to baseline | completeness | connect p99 ms | e2e p50 ms | e2e p99 ms | e2e max ms | errors | server CPU (cores) | server CPU µs/delivery |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for target in $TARGETS; do
      for clients in $CLIENTS; do
        for rate in $RATES; do
          name="$target-${clients}c-${rate}r$suffix"
          f="$OUT/$name.json"
          [[ -f "$f" ]] || { echo "| $(label "$target") | $clients | $rate | no | 0 | (no result) | | | | | | | | | |"; continue; }
          base="$OUT/baseline-${clients}c-${rate}r$suffix.json"
          ratio=""
          if [[ -f "$base" ]]; then
            ratio="$(jq -r --slurpfile b "$base" '(.deliveries.per_second / ($b[0].deliveries.per_second | if . == 0 then 1 else . end)) | . * 100 | round / 100' "$f")"
          fi
          cpu="$(cat "$OUT/$name.servercpu" 2>/dev/null || echo "")"
          perdel="$(cat "$OUT/$name.cpuperdelivery" 2>/dev/null || echo "")"
          jq -r --arg t "$(label "$target")" --arg ratio "$ratio" --arg cpu "$cpu" --arg perdel "$perdel" '
            def r1: . * 10 | round / 10;
            def errs: (.errors_by_code // {}) as $e
              | ([$e | to_entries[] | "\(.key)=\(.value)"] | join(" ")) as $s
              | ((.connections.drop_codes // {}) | to_entries | map("drop \(.key)=\(.value)") | join(" ")) as $d
              | ([$s, $d] | map(select(. != "")) | join(", ")) | if . == "" then "none" else . end;
            "| \($t) | \(.config.clients) | \(.config.rate) | \(.config.v2 | if . then "yes" else "no" end) | \(.config.churn) | \(.deliveries.per_second | round) | \($ratio) | \(.deliveries.completeness * 100 | . * 100 | floor / 100)% | \(.connections.connect_time.p99_ms | r1) | \(.latency.end_to_end.p50_ms | r1) | \(.latency.end_to_end.p99_ms | r1) | \(.latency.end_to_end.max_ms | r1) | \(errs) | \($cpu) | \($perdel) |"' "$f"
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
