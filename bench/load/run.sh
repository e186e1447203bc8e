#!/usr/bin/env bash
# Load benchmark: wrk against the upstream, pilotfish, nginx and HAProxy (see bench/README.md).
#
# Every target proxies to the same upstream (Debian's nginx answering `return 200` with a
# 128-byte body) and is measured with the same wrk connection count, thread count and duration,
# after a warm-up. On a 2-core machine the process under test is pinned to CPU 0 and wrk plus
# the upstream to CPU 1, so the proxy never competes with the load generator for a core.
# shellcheck disable=SC2317  # functions run through the EXIT trap and "run_$target"
set -uo pipefail

usage() {
  cat <<'EOF'
usage: bench/load/run.sh [options]
  --connections N   wrk connections (default 32; env PF_BENCH_CONNECTIONS)
  --duration S      measured seconds per target (default 10; env PF_BENCH_DURATION)
  --threads T       wrk threads (default 1; env PF_BENCH_THREADS)
  --warmup S        warm-up seconds before each measured run (default 2)
  --pilotfish PATH  pilotfish binary (default ./build/bootstrap/pilotfish; env PILOTFISH_BIN)
  --pilotfish-b PATH  a second pilotfish build, run as target pilotfish-b with pilotfish's
                    config right after pilotfish in every round: an A/B of two builds in one
                    run (the report gives pilotfish-b / pilotfish req/s and p99)
  --only LIST       comma-separated subset of: direct,ceiling,pilotfish,nginx,haproxy (the
                    default); ceiling: wrk against the upstream where both stay on the load
                    CPU, as they do in every proxy run: the most any proxy could be offered;
                    pilotfish-observed: pilotfish with Istio's metrics (istio.stats filter) and an
                    access log to a file (Istio's default format) on top of its stats, and
                    pilotfish-bare: stats rejected (stats_matcher reject_all), no logs; with both,
                    the report gives observed / bare req/s;
                    pilotfish-policy: Istio's default retry policy on the route, outlier
                    detection and circuit breakers on the cluster; the report gives
                    policy / pilotfish req/s (the cost of that machinery when nothing fails)
  --rounds N        run every target N times, interleaved (round 1 runs them all, then round
                    2, ...), and report each target's median run by req/s (default 1); on a
                    shared machine a burst of noise then hits one run, not one target
  --callgrind       run each proxy under valgrind's callgrind and report the user-space
                    instructions it executes per request (exact and repeatable, whatever the
                    machine's noise; kernel work is not counted); req/s and CPU figures are then
                    those of a program slowed ~50x and mean nothing; not with target direct
  --json FILE       also write the results as JSON to FILE
  --no-pin          do not pin processes to CPUs with taskset
  --keep            keep the temp directory (configs, logs, raw wrk output) and print its path
  --smoke           harness self-check: 1 s runs, 1 s warm-up, 4 connections
  -h, --help        this text
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)

connections=${PF_BENCH_CONNECTIONS:-32}
duration=${PF_BENCH_DURATION:-10}
threads=${PF_BENCH_THREADS:-1}
warmup=2
rounds=1
pilotfish=${PILOTFISH_BIN:-$repo_root/build/bootstrap/pilotfish}
pilotfish_b=""
only="direct,ceiling,pilotfish,nginx,haproxy"
json_out=""
pin=1
smoke=0
keep=0
callgrind=0

die() { echo "run.sh: $*" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --connections) need_value "$@"; connections=$2; shift 2 ;;
    --duration) need_value "$@"; duration=$2; shift 2 ;;
    --threads) need_value "$@"; threads=$2; shift 2 ;;
    --warmup) need_value "$@"; warmup=$2; shift 2 ;;
    --rounds) need_value "$@"; rounds=$2; shift 2 ;;
    --pilotfish) need_value "$@"; pilotfish=$2; shift 2 ;;
    --pilotfish-b) need_value "$@"; pilotfish_b=$2; shift 2 ;;
    --only) need_value "$@"; only=$2; shift 2 ;;
    --json) need_value "$@"; json_out=$2; shift 2 ;;
    --no-pin) pin=0; shift ;;
    --keep) keep=1; shift ;;
    --smoke) smoke=1; shift ;;
    --callgrind) callgrind=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
if ((smoke)); then
  duration=1 warmup=1 connections=4
fi
for v in connections duration threads warmup rounds; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "--$v must be a positive integer, got '${!v}'"
done
((threads <= connections)) || die "--threads ($threads) must not exceed --connections ($connections)"
[[ -z $json_out || $json_out == /* ]] || json_out="$PWD/$json_out"

all_targets=(direct ceiling pilotfish pilotfish-b pilotfish-observed pilotfish-bare pilotfish-policy nginx haproxy)
targets=()
IFS=, read -ra wanted <<<"$only"
[[ -z $pilotfish_b ]] || wanted+=(pilotfish-b)
for t in "${all_targets[@]}"; do
  for w in "${wanted[@]}"; do [[ $w == "$t" ]] && targets+=("$t"); done
done
for w in "${wanted[@]}"; do
  [[ " ${all_targets[*]} " == *" $w "* ]] || die "--only: unknown target '$w'"
done
((${#targets[@]} > 0)) || die "--only selected no target"
if ((callgrind)); then
  for t in direct ceiling; do
    [[ " ${targets[*]} " != *" $t "* ]] || die "--callgrind measures proxies: drop target $t"
  done
  if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
    die "--callgrind needs valgrind and callgrind_control (apt-get install valgrind)"
  fi
fi

for tool in wrk nginx python3 curl; do
  command -v "$tool" >/dev/null || die "$tool is required (tools/setup.sh installs it)"
done

# With --callgrind every proxy starts under callgrind, counting nothing until the measured run
# (zeroed after the warm-up, dumped at its end); it starts slowly, so readiness waits longer.
under_test=() ready_tries=50
if ((callgrind)); then
  under_test=(valgrind --tool=callgrind -q --callgrind-out-file="%q{PF_CG_DIR}/cg.%p")
  ready_tries=600
fi

# CPU pinning: the process under test on CPU 0, wrk and the upstream on CPU 1.
pin_proxy=() pin_load=()
pinning="none"
if ((pin)) && command -v taskset >/dev/null && (($(nproc) >= 2)); then
  pin_proxy=(taskset -c 0) pin_load=(taskset -c 1) load_cpu=1
  pinning="process under test on CPU 0; wrk and upstream nginx on CPU 1"
elif ((pin)); then
  echo "run.sh: fewer than 2 CPUs or no taskset: running unpinned" >&2
fi

# Other work on the machine skews every figure; say so up front (and in the JSON).
read -r loadavg _ </proc/loadavg
if awk -v l="$loadavg" 'BEGIN { exit !(l > 0.5) }'; then
  echo "run.sh: warning: load average is $loadavg before the run; figures will be noisy" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pf-bench.XXXXXX") || die "mktemp failed"
export PF_CG_DIR=$work
pids=()  # every process we started, killed on exit

stop_pid() {
  local pid=$1 i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 30; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  forget_pid "$pid"
}

# Once reaped, a pid leaves the list so cleanup cannot signal a process that reused it.
forget_pid() {
  local p keep_pids=()
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep_pids+=("$p"); done
  pids=("${keep_pids[@]}")
}

cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  if ((keep)); then
    echo "run.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

log() { echo "== $*" >&2; }

# "UTIME STIME": user and kernel clock ticks summed over the given pids (threads included).
cpu_ticks() {
  local user=0 sys=0 pid u s
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] || continue
    # Fields after "pid (comm) ": state is $1, so utime (field 14) is $12 and stime $13.
    read -r u s < <(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12, $13}')
    user=$((user + u)) sys=$((sys + s))
  done
  echo "$user $sys"
}

# "BUSY TOTAL": busy and total clock ticks of one CPU so far, from /proc/stat (idle and iowait
# are not busy). Used to see whether the load side (wrk and the upstream) ran out of CPU.
cpu_busy_ticks() {
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' \
    /proc/stat
}

# Sum of a /proc/PID/status field (kB) over the given pids.
status_kb() {
  local key=$1 total=0 pid v
  shift
  for pid in "$@"; do
    v=$(awk -v k="$key:" '$1 == k {print $2}' "/proc/$pid/status" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

children_of() { pgrep -P "$1" | tr '\n' ' '; }

# wait_ready NAME PID URL: waits up to 5 s for an HTTP answer on URL. On failure sets
# skip_reason and returns 1. A proxy must relay the upstream's 200 and 128-byte body.
skip_reason=""
wait_ready() {
  local name=$1 pid=$2 url=$3 i code rc
  for ((i = 0; i < ready_tries; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      rc=$?
      local last
      last=$(tail -n 1 "$work/$name.log" 2>/dev/null)
      skip_reason="$name exited with status $rc before answering (${last:-no output})"
      return 1
    fi
    code=$(curl -s -o "$work/$name.probe" -w '%{http_code}' --max-time 1 "$url" 2>/dev/null)
    if [[ $code != 000 && -n $code ]]; then
      if [[ $code != 200 || $(stat -c %s "$work/$name.probe") != 128 ]]; then
        skip_reason="$name answered GET / with status $code and $(stat -c %s "$work/$name.probe") body bytes, expected 200 and the upstream's 128 bytes"
        return 1
      fi
      return 0
    fi
    sleep 0.1
  done
  local last
  last=$(tail -n 1 "$work/$name.log" 2>/dev/null)
  skip_reason="$name did not answer on $url within $((ready_tries / 10)) s${last:+ (last log line: $last)}"
  return 1
}

# --- the upstream: Debian's nginx, 1 worker, a fixed 128-byte body -----------------------------
body=$(printf '0123456789abcdef%.0s' {1..8})  # 128 bytes

# The parts of an nginx config shared by the upstream and the nginx proxy: pid, logs and temp
# paths stay in a private directory so nothing touches /var.
nginx_common() {
  local dir=$1
  cat <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
EOF
}
nginx_temp_paths() {
  local dir=$1
  cat <<EOF
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
EOF
}

up_dir=$work/upstream
mkdir -p "$up_dir"
up_port=$(free_port)
{
  nginx_common "$up_dir"
  cat <<EOF
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
$(nginx_temp_paths "$up_dir")
  server {
    listen 127.0.0.1:$up_port;
    location / {
      default_type text/plain;
      return 200 "$body";
    }
  }
}
EOF
} >"$up_dir/nginx.conf"
log "upstream: nginx on 127.0.0.1:$up_port"
"${pin_load[@]}" nginx -p "$up_dir" -e "$up_dir/error.log" -c "$up_dir/nginx.conf" \
  >"$work/upstream.log" 2>&1 &
up_pid=$!
pids+=("$up_pid")
if ! wait_ready upstream "$up_pid" "http://127.0.0.1:$up_port/"; then
  echo "run.sh: the upstream nginx did not start: $skip_reason" >&2
  cat "$up_dir/error.log" >&2 2>/dev/null
  exit 1
fi

# --- wrk ----------------------------------------------------------------------------------------
cat >"$work/report.lua" <<'EOF'
-- Prints one machine-readable line at the end of the run (latencies in microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "PFBENCH requests=%d duration_us=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f " ..
    "errors=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9),
    e.connect + e.read + e.write + e.status + e.timeout,
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

results=$work/results.tsv
: >"$results"
pilotfish_idle_rss=""
run_failed=0

# run_wrk OUTPUT ARGS...: wrk in the background, so a signal ends the wait (and the run) at once.
run_wrk() {
  local out=$1 rc
  shift
  "${pin_load[@]}" wrk -t "$threads" -c "$connections" "$@" >"$out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait "$pid"
  rc=$?
  forget_pid "$pid"
  return "$rc"
}

# measure TARGET PORT PROCESS_DESCRIPTION PID...: warm-up, then the measured run, with CPU and
# peak RSS of the given pids.
measure() {
  local target=$1 port=$2 what=$3
  shift 3
  local url="http://127.0.0.1:$port/" out=$work/$target.wrk
  log "$target: warm-up ${warmup}s"
  run_wrk "$work/$target.warmup" -d "${warmup}s" "$url"
  local before after rc load_before load_after load_field=""
  before=$(cpu_ticks "$@")
  ((${#pin_load[@]})) && load_before=$(cpu_busy_ticks "$load_cpu")
  ((callgrind)) && callgrind_control -z "$@" >/dev/null
  log "$target: measuring ${duration}s, $connections connections, $threads thread(s)"
  run_wrk "$out" -d "${duration}s" --timeout 5s -s "$work/report.lua" "$url"
  rc=$?
  after=$(cpu_ticks "$@")
  local ir_field=""
  if ((callgrind)); then
    # The dump holds what ran since the zero: each process's "totals:" line, summed.
    callgrind_control -d "$@" >/dev/null
    local ir=0 p t
    for p in "$@"; do
      t=$(awk '/^totals:/ {print $2}' "$work/cg.$p".* 2>/dev/null | tail -n 1)
      ir=$((ir + ${t:-0}))
      rm -f "$work/cg.$p".*
    done
    ir_field=" user_instructions=$ir"
  fi
  if ((${#pin_load[@]})); then
    load_after=$(cpu_busy_ticks "$load_cpu")
    load_field=" load_busy=$((${load_after% *} - ${load_before% *}))"
    load_field+=" load_total=$((${load_after#* } - ${load_before#* }))"
  fi
  local hwm
  hwm=$(status_kb VmHWM "$@")
  local line reason="" p
  line=$(grep '^PFBENCH ' "$out")
  for p in "$@"; do
    kill -0 "$p" 2>/dev/null || reason="process $p exited during the run"
  done
  if [[ $rc -ne 0 || -z $line ]]; then
    reason="wrk exited with $rc: $(tail -n 1 "$out")${reason:+; $reason}"
  fi
  if [[ -n $reason ]]; then
    log "$target: FAILED: $reason"
    printf '%s\tfailed\t%s\n' "$target" "$reason" >>"$results"
    # pilotfish is work in progress: its failures are reported, the harness itself is fine.
    [[ $target == pilotfish* ]] || run_failed=1
    return
  fi
  printf '%s\tok\t%s user_ticks=%s sys_ticks=%s hwm_kb=%s%s\t%s\n' "$target" "${line#PFBENCH }" \
    "$((${after% *} - ${before% *}))" "$((${after#* } - ${before#* }))" "$hwm" "$load_field$ir_field" \
    "$what" >>"$results"
}

skip() {
  log "$1: SKIPPED: $2"
  echo "SKIPPED: $1: $2"
  printf '%s\tskipped\t%s\n' "$1" "$2" >>"$results"
}

run_direct() {
  # The upstream moves to CPU 0 for this run so it is measured exactly like a proxy.
  local workers p
  workers=$(children_of "$up_pid")
  if ((${#pin_proxy[@]})); then
    for p in $up_pid $workers; do taskset -pc 0 "$p" >/dev/null; done
  fi
  # shellcheck disable=SC2086
  measure direct "$up_port" "upstream nginx worker" $workers
  if ((${#pin_load[@]})); then
    for p in $up_pid $workers; do taskset -pc 1 "$p" >/dev/null; done
  fi
}

run_ceiling() {
  # wrk and the upstream where every proxy run has them, on the load CPU together, with nothing
  # in between: no proxy run can be offered more requests per second than this.
  if ((${#pin_load[@]} == 0)); then
    skip ceiling "needs CPU pinning: unpinned, the load side has no CPU of its own"
    return
  fi
  local up_workers
  mapfile -t up_workers < <(pgrep -P "$up_pid")
  measure ceiling "$up_port" "upstream nginx worker (on the load CPU with wrk)" "${up_workers[@]}"
}

run_nginx() {
  local dir=$work/nginx port
  mkdir -p "$dir"
  port=$(free_port)
  {
    nginx_common "$dir"
    # callgrind cannot be driven in a forked worker: there the master does the work itself.
    ((callgrind)) && echo "master_process off;"
    cat <<EOF
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
$(nginx_temp_paths "$dir")
  upstream backend {
    server 127.0.0.1:$up_port;
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  } >"$dir/nginx.conf"
  "${pin_proxy[@]}" "${under_test[@]}" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
    >"$work/nginx.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  if ! wait_ready nginx "$pid" "http://127.0.0.1:$port/"; then
    skip nginx "$skip_reason"
  else
    local workers
    workers=$(children_of "$pid")
    if ((callgrind)); then
      measure nginx "$port" "nginx, one process (master_process off)" "$pid"
    else
      # shellcheck disable=SC2086
      measure nginx "$port" "nginx worker process (master idle, not counted)" $workers
    fi
  fi
  stop_pid "$pid"
}

run_haproxy() {
  if ! command -v haproxy >/dev/null; then
    skip haproxy "haproxy is not installed"
    return
  fi
  local port
  port=$(free_port)
  cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always

frontend fe
  bind 127.0.0.1:$port
  default_backend be

backend be
  server upstream 127.0.0.1:$up_port
EOF
  # -db: foreground, no master-worker: one process does all the work. maxconn stays at 4096:
  # HAProxy wants about 2 x maxconn file descriptors and refuses to start above the hard limit.
  "${pin_proxy[@]}" "${under_test[@]}" haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  if ! wait_ready haproxy "$pid" "http://127.0.0.1:$port/"; then
    skip haproxy "$skip_reason"
  else
    measure haproxy "$port" "haproxy process (single, no master-worker)" "$pid"
  fi
  stop_pid "$pid"
}

# Istio's default access log format (meshConfig accessLogFormat), for pilotfish-observed.
istio_log_format='[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%'

run_pilotfish() { run_pilotfish_as pilotfish; }
run_pilotfish_b() { run_pilotfish_as pilotfish-b; }
run_pilotfish_observed() { run_pilotfish_as pilotfish-observed; }
run_pilotfish_bare() { run_pilotfish_as pilotfish-bare; }
run_pilotfish_policy() { run_pilotfish_as pilotfish-policy; }

# run_pilotfish_as TARGET: "pilotfish" (stats only: they are always on) or "pilotfish-observed"
# (plus an access log file in Istio's format, flushed every second as Istio runs Envoy).
run_pilotfish_as() {
  local target=$1 binary=$pilotfish
  [[ $target != pilotfish-b ]] || binary=$pilotfish_b
  [[ $binary == */* ]] || binary=$(command -v "$binary" || echo "$binary")
  if [[ ! -x $binary ]]; then
    skip "$target" "binary not found or not executable: $binary (build: cd build && ninja -j2 pilotfish)"
    return
  fi
  local port access_log="" extra_args=() istio_filter="" top_level=""
  local route_action="route: { cluster: upstream }" cluster_policy=""
  port=$(free_port)
  if [[ $target == pilotfish-policy ]]; then
    # What istiod writes for a service with a DestinationRule (outlier detection, connection
    # pool limits) and its default retry policy: every request goes through the retry state,
    # the breakers and the outlier detector, but nothing fails.
    route_action="route:
                  cluster: upstream
                  timeout: 15s
                  retry_policy:
                    retry_on: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes
                    num_retries: 2
                    retriable_status_codes: [503]
                    retry_host_predicate:
                    - name: envoy.retry_host_predicates.previous_hosts
                      typed_config:
                        \"@type\": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
                    host_selection_retry_max_attempts: 5"
    cluster_policy="
    circuit_breakers:
      thresholds:
      - { max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }
    outlier_detection:
      consecutive_5xx: 5
      interval: 1s
      base_ejection_time: 30s
      max_ejection_percent: 100
      enforcing_success_rate: 0"
  fi
  if [[ $target == pilotfish-bare ]]; then
    top_level="stats_config:
  stats_matcher: { reject_all: true }"
  fi
  if [[ $target == pilotfish-observed ]]; then
    # As an Istio sidecar's outbound listener: node identity, the stats filter before the router.
    top_level="node:
  id: sidecar~127.0.0.1~bench-v1.default~default.svc.cluster.local
  metadata:
    WORKLOAD_NAME: bench-v1
    NAMESPACE: default
    CLUSTER_ID: Kubernetes
    LABELS: { app: bench, version: v1 }"
    istio_filter="
          - name: istio.stats
            typed_config:
              \"@type\": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/stats.PluginConfig
              value: {}"
    access_log="
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: $work/access.log
              log_format:
                text_format_source:
                  inline_string: |
                    $istio_log_format"
    extra_args=(--file-flush-interval-msec 1000)
  fi
  cat >"$work/$target.yaml" <<EOF
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: { address: 127.0.0.1, port_value: $port }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http$access_log
          route_config:
            name: local_route
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                $route_action
          http_filters:$istio_filter
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: upstream
    type: STATIC
    lb_policy: ROUND_ROBIN$cluster_policy
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: $up_port }
$top_level
EOF
  if [[ $target == pilotfish-observed ]]; then
    sed -i 's/^    filter_chains:/    traffic_direction: OUTBOUND\n    filter_chains:/' "$work/$target.yaml"
  fi
  "${pin_proxy[@]}" "${under_test[@]}" "$binary" -c "$work/$target.yaml" --concurrency 1 -l warning \
    "${extra_args[@]}" >"$work/$target.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  if ! wait_ready "$target" "$pid" "http://127.0.0.1:$port/"; then
    skip "$target" "$skip_reason"
  else
    if [[ $target == pilotfish ]]; then
      pilotfish_idle_rss=$(status_kb VmRSS "$pid")
      log "pilotfish: idle RSS ${pilotfish_idle_rss} kB"
    fi
    measure "$target" "$port" "pilotfish process (all threads)" "$pid"
  fi
  stop_pid "$pid"
  if [[ -n $access_log ]]; then
    log "$target: access log $(wc -l <"$work/access.log") lines, $(du -h "$work/access.log" | cut -f1)"
    rm -f "$work/access.log"
  fi
}

for ((round = 1; round <= rounds; round++)); do
  ((rounds == 1)) || log "round $round of $rounds"
  for t in "${targets[@]}"; do "run_${t//-/_}"; done
done

# --- report -------------------------------------------------------------------------------------
python3 - "$results" "$json_out" "$(getconf CLK_TCK)" "$connections" "$duration" "$threads" \
  "$warmup" "$pinning" "$pilotfish_idle_rss" "$smoke" "$loadavg" "$rounds" <<'PY'
import datetime, json, os, sys

path, json_out, clk_tck = sys.argv[1], sys.argv[2], int(sys.argv[3])
connections, duration, threads, warmup = map(int, sys.argv[4:8])
pinning, idle_rss, smoke = sys.argv[8], sys.argv[9], sys.argv[10] == "1"
loadavg = float(sys.argv[11])
rounds = int(sys.argv[12])

runs = {}  # target -> every run's result, in order
for line in open(path):
    target, status, rest = line.rstrip("\n").split("\t", 2)
    if status != "ok":
        runs.setdefault(target, []).append({"status": status, "reason": rest})
        continue
    fields, what = rest.split("\t")
    kv = dict(f.split("=") for f in fields.split())
    n = int(kv["requests"])
    user_s, sys_s = int(kv["user_ticks"]) / clk_tck, int(kv["sys_ticks"]) / clk_tck
    cpu_s = user_s + sys_s
    load_total = int(kv.get("load_total", 0))
    runs.setdefault(target, []).append({
        "status": "ok",
        "requests": n,
        "rps": n / (int(kv["duration_us"]) / 1e6),
        "p50_us": float(kv["p50_us"]), "p90_us": float(kv["p90_us"]),
        "p99_us": float(kv["p99_us"]), "p999_us": float(kv["p999_us"]),
        "errors": int(kv["errors"]),
        "errors_by_kind": {k: int(kv[k]) for k in ("connect", "read", "write", "status", "timeout")},
        "cpu_s": cpu_s,
        # Share of one core the measured processes used: near 1.0 the proxy was the bottleneck.
        "proxy_cpu_busy": cpu_s / (int(kv["duration_us"]) / 1e6),
        "cpu_s_per_100k": cpu_s / n * 1e5 if n else None,
        "user_s_per_100k": user_s / n * 1e5 if n else None,
        "sys_s_per_100k": sys_s / n * 1e5 if n else None,
        # Share of the load CPU (wrk + upstream) that was busy; None when unpinned.
        "load_cpu_busy": int(kv["load_busy"]) / load_total if load_total else None,
        # --callgrind: user-space instructions per request, all measured processes together.
        "user_instructions_per_request":
            int(kv["user_instructions"]) / n if "user_instructions" in kv and n else None,
        "peak_rss_kb": int(kv["hwm_kb"]),
        "processes": what,
    })

# One result per target: its first failure, or else its median run by req/s (with every run's
# req/s and CPU figures alongside when there were several rounds).
results = {}
for target, rs in runs.items():
    bad = [r for r in rs if r["status"] != "ok"]
    if bad:
        results[target] = bad[0]
        continue
    ordered = sorted(rs, key=lambda r: r["rps"])
    med = dict(ordered[(len(ordered) - 1) // 2])
    if len(rs) > 1:
        med["rounds"] = [{k: r[k] for k in ("rps", "cpu_s_per_100k", "user_s_per_100k",
                                             "sys_s_per_100k", "proxy_cpu_busy", "load_cpu_busy",
                                             "p99_us", "user_instructions_per_request")}
                         for r in rs]
    results[target] = med

def ms(us): return f"{us / 1000:.3f}"

print()
print(f"pilotfish load benchmark: {connections} connections, {threads} wrk thread(s), "
      f"{duration}s measured after {warmup}s warm-up{' (smoke)' if smoke else ''}")
print(f"upstream: nginx return 200, 128-byte body; CPU pinning: {pinning}")
if rounds > 1:
    print(f"{rounds} interleaved rounds: each row is the target's median run by req/s")
print()
cols = ["target", "req/s", "p50 ms", "p99 ms", "errors", "CPU s/100k req", "user", "kernel",
        "CPU", "load CPU", "peak RSS MiB", "measured processes"]
counted = any(r.get("user_instructions_per_request") for r in results.values())
if counted:
    cols.insert(10, "user instr/req")
rows = []
for t in ("direct", "ceiling", "pilotfish", "pilotfish-b", "pilotfish-observed", "pilotfish-bare",
          "pilotfish-policy", "nginx", "haproxy"):
    r = results.get(t)
    if r is None:
        continue
    if r["status"] != "ok":
        rows.append([t, r["status"].upper() + ": " + r["reason"]])
        continue
    def per_100k(key): return "-" if r[key] is None else f"{r[key]:.3f}"
    load = "-" if r["load_cpu_busy"] is None else f"{100 * r['load_cpu_busy']:.0f}%"
    rows.append([t, f"{r['rps']:.0f}", ms(r["p50_us"]), ms(r["p99_us"]), str(r["errors"]),
                 per_100k("cpu_s_per_100k"), per_100k("user_s_per_100k"),
                 per_100k("sys_s_per_100k"), f"{100 * r['proxy_cpu_busy']:.0f}%", load,
                 f"{r['peak_rss_kb'] / 1024:.1f}", r["processes"]])
    if counted:
        ir = r.get("user_instructions_per_request")
        rows[-1].insert(10, "-" if ir is None else f"{ir:.0f}")
widths = [max([len(c)] + [len(row[i]) for row in rows if len(row) > 2 or i == 0])
          for i, c in enumerate(cols)]
right = set(range(1, len(cols) - 1))
def fmt(row):
    if len(row) == 2:
        return f"{row[0]:<{widths[0]}}  {row[1]}"
    return "  ".join((f"{v:>{w}}" if i in right else f"{v:<{w}}")
                     for i, (v, w) in enumerate(zip(row, widths))).rstrip()
print(fmt(cols))
print("  ".join("-" * w for w in widths))
for row in rows:
    print(fmt(row))
print()
if "direct" in results:
    print("direct: the upstream nginx worker alone (moved to CPU 0 for its run); its CPU and RSS "
          "are the upstream's.")
if "ceiling" in results:
    print("ceiling: wrk against the upstream with both on the load CPU, as in the proxy runs: the "
          "most req/s any proxy could be offered here; its CPU figures are the upstream's.")
print("user / kernel: the CPU s/100k split; CPU: the share of one core the measured processes "
      "used (near 100%: the process under test was the bottleneck); load CPU: how busy the CPU "
      "running wrk and the upstream was.")
if counted:
    print("callgrind run: user instr/req is exact; every other figure is of programs slowed "
          "~50x by valgrind and is not a performance figure.")
busy = {t: r["load_cpu_busy"] for t, r in results.items()
        if t not in ("direct", "ceiling") and r.get("status") == "ok"
        and r.get("load_cpu_busy") is not None}
if busy and max(busy.values()) >= 0.9:
    print(f"note: the load CPU was {100 * min(busy.values()):.0f}-{100 * max(busy.values()):.0f}% "
          "busy during the proxy runs: wrk and the upstream were near their own limit, so req/s "
          "ratios understate how the proxies differ; the CPU-per-request ratios below do not.")

ratios = {}
pf = results.get("pilotfish", {})
if idle_rss:
    print(f"pilotfish idle RSS (after start, before load): {int(idle_rss) / 1024:.1f} MiB")
def peer_ratios(name, label, value, peers=("nginx", "haproxy")):
    """ratios["pilotfish_<name>_vs_<peer>"] = value(pilotfish) / value(peer) for each peer that
    ran, printed after label(peer); None and "n/a" when either side has no value."""
    for peer in peers:
        if peer not in results:
            continue
        a, b = value(pf), value(results[peer])
        r = a / b if a and b else None
        ratios[f"pilotfish_{name}_vs_{peer}"] = r
        print(f"{label(peer)} " + ("n/a" if r is None else f"{r:.2f}"))

def ok_rps(r): return r["rps"] if r.get("status") == "ok" else None
peer_ratios("rps", lambda peer: f"pilotfish req/s / {peer + ' req/s:':<14}", ok_rps,
            peers=("direct", "nginx", "haproxy"))
# Requests per CPU-second, relative: how much more a core running pilotfish serves than a core
# running the peer, independent of whether the load side kept up.
peer_ratios("per_cpu", lambda peer: f"pilotfish req per CPU-second / {peer + ':':<8}",
            lambda r: 1 / r["cpu_s_per_100k"] if r.get("cpu_s_per_100k") else None)
if counted:
    peer_ratios("user_instructions",
                lambda peer: f"pilotfish user instructions per request / {peer + ':':<8}",
                lambda r: r.get("user_instructions_per_request"))
# With several rounds, the same ratios round by round (median of the per-round ratios): each
# round runs the targets back to back, so this cancels machine noise that drifts more slowly
# than one round, which the ratio of two independent medians does not.
def median(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if xs else None
if rounds > 1 and pf.get("status") == "ok":
    for peer in ("nginx", "haproxy"):
        p = results.get(peer, {})
        if p.get("status") != "ok":
            continue
        pairs = list(zip(pf["rounds"], p["rounds"]))
        for key, name, value in (
                ("rps", "req/s", lambda r: r["rps"]),
                ("per_cpu", "req per CPU-second",
                 lambda r: 1 / r["cpu_s_per_100k"] if r["cpu_s_per_100k"] else None),
                ("p99", "p99", lambda r: r["p99_us"])):
            r = median([value(a) / value(b) for a, b in pairs if value(a) and value(b)])
            ratios[f"pilotfish_{key}_paired_vs_{peer}"] = r
            print(f"pilotfish / {peer} {name}, median of {len(pairs)} rounds: "
                  + ("n/a" if r is None else f"{r:.2f}"))

def variant_ratio(key, target, base, what, base_required=False):
    """target req/s over base req/s when target ran (and base, if required); n/a if either
    failed or base did not run."""
    if target not in results or (base_required and base not in results):
        return
    t, b = results[target], results.get(base, {})
    label = f"{target} req/s / {base} req/s:"
    if t.get("status") == "ok" and b.get("status") == "ok":
        ratios[key] = t["rps"] / b["rps"]
        print(f"{label} {ratios[key]:.3f} ({what})")
    else:
        ratios[key] = None
        print(f"{label} n/a")

# Each proxy's req/s as a share of the ceiling, and what issue 2's req/s targets (1.0x nginx,
# 1.2x HAProxy) would ask of pilotfish against it.
ceiling = ok_rps(results.get("ceiling", {"status": "missing"}))
if ceiling:
    for t in ("pilotfish", "nginx", "haproxy"):
        rps = ok_rps(results.get(t, {"status": "missing"}))
        if rps:
            ratios[f"{t.replace('-', '_')}_rps_vs_ceiling"] = rps / ceiling
            print(f"{t + ' req/s / ceiling req/s:':<32} {rps / ceiling:.2f}")
    for peer, factor in (("nginx", 1.0), ("haproxy", 1.2)):
        rps = ok_rps(results.get(peer, {"status": "missing"}))
        if rps:
            ratios[f"target_{peer}_rps_vs_ceiling"] = factor * rps / ceiling
            print(f"target {factor:.1f} x {peer} req/s = {factor * rps:.0f} = "
                  f"{factor * rps / ceiling:.2f} x ceiling")
variant_ratio("pilotfish_b_rps_vs_pilotfish", "pilotfish-b", "pilotfish",
              "the --pilotfish-b build against the --pilotfish one")
if results.get("pilotfish-b", {}).get("status") == "ok" and pf.get("status") == "ok":
    # The two builds run back to back in every round: compare them round by round (the median
    # of the per-round ratios), which cancels noise that drifts slower than one round.
    pb = results["pilotfish-b"]
    pairs = list(zip(pf.get("rounds", [pf]), pb.get("rounds", [pb])))
    def paired(key):
        rs = sorted(b[key] / a[key] for a, b in pairs if a[key] and b[key])
        return rs[(len(rs) - 1) // 2] if rs else None
    for key, name in (("rps", "req/s"), ("p99_us", "p99")):
        r = paired(key)
        ratios[f"pilotfish_b_{key}_paired_vs_pilotfish"] = r
        print(f"pilotfish-b / pilotfish {name}, median of {len(pairs)} round(s): "
              + ("n/a" if r is None else f"{r:.3f}"))
variant_ratio("pilotfish_observed_rps_vs_pilotfish", "pilotfish-observed", "pilotfish",
              "access log to a file in Istio's format; stats on in both")
variant_ratio("pilotfish_observed_rps_vs_bare", "pilotfish-observed", "pilotfish-bare",
              "stats + Istio metrics + access log vs all disabled", base_required=True)
variant_ratio("pilotfish_policy_rps_vs_pilotfish", "pilotfish-policy", "pilotfish",
              "retry policy, breakers and outlier detection, nothing failing")
if "nginx" in results:
    ng = results["nginx"]
    if pf.get("status") == "ok" and ng.get("status") == "ok" and ng["p99_us"] > 0:
        ratios["pilotfish_p99_vs_nginx"] = pf["p99_us"] / ng["p99_us"]
        print(f"pilotfish p99 / nginx p99:        {pf['p99_us'] / ng['p99_us']:.2f}")
    else:
        ratios["pilotfish_p99_vs_nginx"] = None
        print("pilotfish p99 / nginx p99:        n/a")

if json_out:
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": os.uname().nodename, "cpus": os.cpu_count(),
        "config": {"connections": connections, "duration_s": duration, "threads": threads,
                   "warmup_s": warmup, "pinning": pinning, "upstream": "nginx return 200, 128 B",
                   "smoke": smoke, "loadavg_before": loadavg, "rounds": rounds,
                   "callgrind": counted},
        "targets": results,
        "pilotfish_idle_rss_kb": int(idle_rss) if idle_rss else None,
        "ratios": ratios,
    }
    with open(json_out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"\nJSON written to {json_out}")
PY
report_rc=$?

ok=$(awk -F'\t' '$2 == "ok"' "$results" | wc -l)
if ((report_rc != 0 || run_failed)); then exit 1; fi
if ((ok == 0)); then
  echo "run.sh: no target was measured" >&2
  exit 1
fi
exit 0
