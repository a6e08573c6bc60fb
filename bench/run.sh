#!/usr/bin/env bash
# bench/run.sh: regapi's benchmarks, side by side against their anchors, in
# one run on loopback. Needs Go (the version in go.mod) and, for wrk, Debian's
# apt-get; everything else is built from the Go module proxy. See
# BENCHMARKS.md for what each figure means and what limits it.
#
# Usage: bench/run.sh            (from any directory)
# Knobs (environment): BENCH_DURATION seconds per throughput run (3),
# BENCH_ROUNDS rounds of throughput and extract runs (5), BENCH_CONNS
# connections (32), BENCH_BIG_MIB size of the large image (256),
# BENCH_BURST concurrent identical cold requests (200), BENCH_LOADGEN
# wrk|go (wrk when it is installed or installable), BENCH_LOG_LEVEL regapi's
# log level (info, as deployed: one access-log line per request),
# BENCH_PROFILE 0 to skip the CPU profiles taken after the measurements,
# BENCH_REV a git revision to build regapi from (default: the working tree;
# a revision compares before and after, or skips others' unfinished edits),
# BENCH_REGAPI_ENV extra NAME=VALUE words for regapi's environment only
# (e.g. "GOMEMLIMIT=64MiB GOGC=50").
#
# Every process it starts is killed on exit; every request goes to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out
BIN=$OUT/bin
DURATION=${BENCH_DURATION:-3}
ROUNDS=${BENCH_ROUNDS:-5}
CONNS=${BENCH_CONNS:-32}
BIG_MIB=${BENCH_BIG_MIB:-256}
BURST=${BENCH_BURST:-200}
LOADGEN=${BENCH_LOADGEN:-}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
PROFILE=${BENCH_PROFILE:-1}
REGAPI_ENV=${BENCH_REGAPI_ENV:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BIN"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/regapi-bench.XXXXXX")
RAW=$WORK/results.env
: >"$RAW"

PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# put KEY VALUE records a result.
put() { printf '%s=%s\n' "$1" "$2" >>"$RAW"; }
# get KEY [FILE] reads a key=value line.
get() { sed -n "s/^$1=//p" "${2:-$RAW}" | tail -n 1; }
# median of numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# div A B prints A/B with two decimals (or n/a).
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b+0 == 0) print "n/a"; else printf "%.2f", a/b }'; }
# now_ns prints a monotonic-enough wall clock in nanoseconds.
now_ns() { date +%s%N; }

# start NAME CMD... runs CMD in the background with its output in WORK.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
	PIDS+=("$!")
	LAST_PID=$!
}
# listening NAME prints the URL a started server announced on stdout.
listening() {
	local i url
	for i in $(seq 1 600); do
		url=$(sed -n 's/.* listening on \(http:[^ ]*\).*/\1/p' "$WORK/$1.out" | head -n 1)
		if [[ -n $url ]]; then
			echo "${url/localhost/127.0.0.1}"
			return
		fi
		kill -0 "$LAST_PID" 2>/dev/null || { cat "$WORK/$1.log" >&2; die "$1 exited"; }
		sleep 0.1
	done
	die "$1 did not announce its address"
}

# ---------------------------------------------------------------- build
modver() { awk -v m="$1" '$1 == m { print $2; exit }' "$ROOT/go.mod"; }
DIST_V=$(modver github.com/distribution/distribution/v3)
GGCR_V=$(modver github.com/google/go-containerregistry)
[[ -n $DIST_V && -n $GGCR_V ]] || die "go.mod lacks distribution/v3 or go-containerregistry"

install_tool() { # NAME PACKAGE VERSION
	local target=$BIN/$1-$3
	if [[ ! -x $target ]]; then
		log "building $1 $3 from the module proxy"
		(cd "$WORK" && GOFLAGS= GOBIN="$WORK/gobin" go install "$2@$3")
		mv "$WORK/gobin/$1" "$target"
	fi
	echo "$target"
}
REGISTRY=$(install_tool registry github.com/distribution/distribution/v3/cmd/registry "$DIST_V")
CRANE=$(install_tool crane github.com/google/go-containerregistry/cmd/crane "$GGCR_V")
REV=${BENCH_REV:-}
if [[ -n $REV ]]; then
	# Resolve once: a branch may move while the script runs.
	REV=$(git -C "$ROOT" rev-parse --verify "$REV^{commit}")
	REGAPI_DESC=$(git -C "$ROOT" rev-parse --short "$REV")
	log "building regapi at $REGAPI_DESC and the bench tools"
	mkdir -p "$WORK/src"
	git -C "$ROOT" archive "$REV" | tar -x -C "$WORK/src"
	(cd "$WORK/src" && go build -o "$BIN/regapi" ./cmd/server)
else
	log "building regapi from the working tree and the bench tools"
	(cd "$ROOT" && go build -o "$BIN/regapi" ./cmd/server)
	REGAPI_DESC=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$ROOT" status --porcelain -- cmd internal go.mod 2>/dev/null) ]]; then
		REGAPI_DESC+="+uncommitted"
	fi
fi
(cd "$ROOT" && go build -o "$BIN/" ./bench/cmd/...)
LOAD=$BIN/load

if [[ -z $LOADGEN ]]; then
	if ! command -v wrk >/dev/null && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
		log "installing wrk"
		(apt-get update -qq && apt-get install -y -qq wrk) >"$WORK/apt.log" 2>&1 || log "wrk install failed; using the Go load generator"
	fi
	if command -v wrk >/dev/null; then LOADGEN=wrk; else LOADGEN=go; fi
fi
put loadgen "$LOADGEN"

# ---------------------------------------------------------------- machine
put date "$STAMP"
put nproc "$(nproc)"
put mem_mib "$(awk '/MemTotal/ { printf "%d", $2/1024 }' /proc/meminfo)"
put go "$(go env GOVERSION)"
put kernel "$(uname -r)"
put registry_version "$DIST_V"
put crane_version "$GGCR_V"
put regapi_commit "$REGAPI_DESC"
put load_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- registry
RPORT=$("$LOAD" freeport)
mkdir -p "$WORK/storage"
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$RPORT
catalog:
  maxentries: 1000
EOF
start registry env OTEL_TRACES_EXPORTER=none "$REGISTRY" serve "$WORK/registry.yml"
REG_PID=$LAST_PID
REG=http://127.0.0.1:$RPORT
"$LOAD" wait -url "$REG/v2/" -timeout 60s || { cat "$WORK/registry.log" >&2; die "registry did not start"; }
log "registry $DIST_V on $REG; seeding the corpus (${BIG_MIB} MiB image)"
"$BIN/seed" --registry "127.0.0.1:$RPORT" --big-mib "$BIG_MIB" >"$WORK/seed.env"
cat "$WORK/seed.env" >>"$RAW"
TAGS=$(get tags_count "$WORK/seed.env")
log "seeded in $(get seed_seconds "$WORK/seed.env") s"

# regapi NAME UPSTREAM_URL [FLAGS...] starts an instance and sets URL_<NAME>,
# PID_<NAME>.
regapi() {
	local name=$1 upstream=$2
	shift 2
	# shellcheck disable=SC2086 # REGAPI_ENV is a list of NAME=VALUE words
	start "regapi-$name" env $REGAPI_ENV "$BIN/regapi" --listen 127.0.0.1:0 --upstream "bench=$upstream" --allow-anonymous --log-level "$LOG_LEVEL" "$@"
	set -- "$name"
	printf -v "PID_$1" '%s' "$LAST_PID"
	local url
	url=$(listening "regapi-$1")
	printf -v "URL_$1" '%s' "$url"
	"$LOAD" wait -url "$url/healthz" -timeout 30s
}
regapi main "$REG"
API=$URL_main/api/v1/repos/bench
ACCEPT_MANIFEST="Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

# ---------------------------------------------------------------- cold manifests
# The relay, a bare reverse proxy in front of the registry, is the floor
# that any second HTTP hop costs: regapi's cold reads are compared with it
# as well as with the registry itself.
start relay "$BIN/relay" --target "$REG"
RELAY=$(listening relay)
log "cold manifest latency: $((TAGS - 1)) distinct tags through regapi, direct and through a bare reverse proxy, order rotating"
"$LOAD" latency -from 0 -to 0 -a "$API/corpus/tags/-/manifests/{tag}" -b "$REG/v2/corpus/tags/manifests/{tag}" -hb "$ACCEPT_MANIFEST" \
	-c "$RELAY/v2/corpus/tags/manifests/{tag}" -hc "$ACCEPT_MANIFEST" >/dev/null
"$LOAD" latency -prefix cold_ -from 1 -to $((TAGS - 1)) \
	-a "$API/corpus/tags/-/manifests/{tag}" \
	-b "$REG/v2/corpus/tags/manifests/{tag}" -hb "$ACCEPT_MANIFEST" \
	-c "$RELAY/v2/corpus/tags/manifests/{tag}" -hc "$ACCEPT_MANIFEST" >>"$RAW"

# ---------------------------------------------------------------- cached throughput
TAGS_API="$API/corpus/tags/-/tags?limit=100"
TAGS_REG="$REG/v2/corpus/tags/tags/list?n=100"
MAN_API="$API/corpus/big/-/manifests/latest"
MAN_REG="$REG/v2/corpus/big/manifests/latest"
start ceiling "$BIN/ceiling" --route "/tags=$TAGS_API" --route "/manifest=$MAN_API"
CEIL_PID=$LAST_PID
CEIL=$(listening ceiling)
# The ceiling's fetch filled regapi's cache; a second request must hit it.
put tags_xcache "$("$LOAD" get -show-header X-Cache -url "$TAGS_API")"
put manifest_xcache "$("$LOAD" get -show-header X-Cache -url "$MAN_API")"

CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID prints the process's user+system CPU time in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# rate PID URL [HEADER] loads URL for DURATION seconds and prints requests
# per second and the CPU time the server PID spent per request, in µs. The
# second figure hardly depends on how much CPU other processes leave over.
rate() {
	local pid=$1 url=$2 header=${3:-} t0 t1 n rps
	t0=$(cpu_ticks "$pid")
	if [[ $LOADGEN == wrk ]]; then
		local args=(-t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s)
		[[ -n $header ]] && args+=(-H "$header")
		wrk "${args[@]}" "$url" >"$WORK/wrk.txt"
		t1=$(cpu_ticks "$pid")
		if grep -q 'Non-2xx\|Socket errors' "$WORK/wrk.txt"; then
			cat "$WORK/wrk.txt" >&2
			die "errors while loading $url"
		fi
		rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/wrk.txt")
		n=$(awk '/ requests in / { print $1 }' "$WORK/wrk.txt")
	else
		local args=(-c "$CONNS" -d "${DURATION}s")
		[[ -n $header ]] && args+=(-H "$header")
		"$LOAD" rate -url "$url" "${args[@]}" >"$WORK/rate.env"
		t1=$(cpu_ticks "$pid")
		[[ $(get errors "$WORK/rate.env") == 0 ]] || die "errors while loading $url"
		rps=$(get rps "$WORK/rate.env")
		n=$(get requests "$WORK/rate.env")
	fi
	echo "$rps $(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')"
}

# Each round measures the three side by side, starting with a different one
# each time; ratios are taken within a round and their median reported, so
# that load from other processes, which drifts over seconds, cancels out as
# far as it can.
for what in tags manifest; do
	if [[ $what == tags ]]; then
		urls=("$CEIL/tags" "$TAGS_API" "$TAGS_REG") hdrs=("" "" "")
	else
		urls=("$CEIL/manifest" "$MAN_API" "$MAN_REG") hdrs=("" "" "$ACCEPT_MANIFEST")
	fi
	log "cached $what throughput: ceiling, regapi, registry; $ROUNDS rounds of ${DURATION}s each, $CONNS connections ($LOADGEN)"
	ceil=() api=() reg=() r_ceil=() r_reg=() c_ceil=() c_api=() c_reg=() e_ceil=() e_reg=()
	pids=("$CEIL_PID" "$PID_main" "$REG_PID")
	for round in $(seq 1 "$ROUNDS"); do
		got=() cpu=()
		for k in 0 1 2; do
			i=$(((k + round) % 3))
			read -r "got[i]" "cpu[i]" < <(rate "${pids[i]}" "${urls[i]}" "${hdrs[i]}")
		done
		ceil+=("${got[0]}") api+=("${got[1]}") reg+=("${got[2]}")
		c_ceil+=("${cpu[0]}") c_api+=("${cpu[1]}") c_reg+=("${cpu[2]}")
		r_ceil+=("$(div "${got[1]}" "${got[0]}")") r_reg+=("$(div "${got[1]}" "${got[2]}")")
		e_ceil+=("$(div "${cpu[0]}" "${cpu[1]}")") e_reg+=("$(div "${cpu[2]}" "${cpu[1]}")")
	done
	put "${what}_rps_ceiling" "$(median "${ceil[@]}")"
	put "${what}_rps_regapi" "$(median "${api[@]}")"
	put "${what}_rps_registry" "$(median "${reg[@]}")"
	put "${what}_ratio_ceiling" "$(median "${r_ceil[@]}")"
	put "${what}_ratio_registry" "$(median "${r_reg[@]}")"
	put "${what}_rps_samples" "ceiling ${ceil[*]}; regapi ${api[*]}; registry ${reg[*]}; regapi/ceiling ${r_ceil[*]}; regapi/registry ${r_reg[*]}"
	put "${what}_cpu_us_ceiling" "$(median "${c_ceil[@]}")"
	put "${what}_cpu_us_regapi" "$(median "${c_api[@]}")"
	put "${what}_cpu_us_registry" "$(median "${c_reg[@]}")"
	put "${what}_cpu_ratio_ceiling" "$(median "${e_ceil[@]}")"
	put "${what}_cpu_ratio_registry" "$(median "${e_reg[@]}")"
	put "${what}_cpu_samples" "ceiling ${c_ceil[*]}; regapi ${c_api[*]}; registry ${c_reg[*]}"
done

# ---------------------------------------------------------------- burst
log "$BURST concurrent identical cold requests through a counting proxy"
start countproxy "$BIN/countproxy" --target "$REG"
PROXY=$(listening countproxy)
regapi burst "$PROXY"
# One request for another tag of the same repository first, so that the
# repository's handshake (the /v2/ ping, once per repository) is not counted
# against the burst: the count is what the burst itself adds.
"$LOAD" get -url "$URL_burst/api/v1/repos/bench/corpus/burst/-/manifests/warm" >/dev/null
"$LOAD" get -url "$PROXY/_count" >"$WORK/count-before.env"
"$LOAD" burst -prefix burst_ -n "$BURST" -warm "$URL_burst/healthz" \
	-url "$URL_burst/api/v1/repos/bench/corpus/burst/-/manifests/cold" >>"$RAW"
"$LOAD" get -url "$PROXY/_count" >"$WORK/count-after.env"
for k in total manifests ping blobs; do
	put "burst_upstream_$k" $(($(get "$k" "$WORK/count-after.env") - $(get "$k" "$WORK/count-before.env")))
done
# What one cold manifest read costs upstream: ten distinct tags, one by one,
# after one (t000) that does the repository's handshake.
"$LOAD" get -url "$URL_burst/api/v1/repos/bench/corpus/tags/-/manifests/t000" >/dev/null
"$LOAD" get -url "$PROXY/_count" >"$WORK/count-after.env"
for i in $(seq 1 10); do
	"$LOAD" get -url "$URL_burst/api/v1/repos/bench/corpus/tags/-/manifests/$(printf 't%03d' "$i")" >/dev/null
done
"$LOAD" get -url "$PROXY/_count" >"$WORK/count-cold.env"
put cold_upstream_per_request "$(div $(($(get total "$WORK/count-cold.env") - $(get total "$WORK/count-after.env"))) 10)"

# ---------------------------------------------------------------- extract
regapi extract "$REG"
EXTRACT_URL=$URL_extract/api/v1/repos/bench/corpus/big/-/extract/latest
BIG_REF=127.0.0.1:$RPORT/corpus/big:latest
log "extract warm-up: crane export | wc -c (untimed, also warms the registry's page cache)"
CRANE_BYTES=$(timeout 300 "$CRANE" export --insecure "$BIG_REF" - | wc -c)
put crane_bytes "$CRANE_BYTES"
IDLE_KIB=$("$LOAD" rss -pid "$PID_extract" | sed -n 's/^vmrss_kib=//p')
put extract_idle_rss_kib "$IDLE_KIB"
crane_mbps=() api_mbps=() peaks=() r_extract=()
crane_run() {
	local t0 t1
	t0=$(now_ns)
	timeout 300 "$CRANE" export --insecure "$BIG_REF" /dev/null
	t1=$(now_ns)
	crane_mbps+=("$(awk -v b="$CRANE_BYTES" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", b / ns * 1000 }')")
}
api_run() {
	"$LOAD" download -url "$EXTRACT_URL" -pid "$PID_extract" >"$WORK/download.env"
	api_mbps+=("$(get mb_per_s "$WORK/download.env")")
	peaks+=("$(get peak_rss_kib "$WORK/download.env")")
	EXTRACT_BYTES=$(get bytes "$WORK/download.env")
}
log "extract of the ${BIG_MIB} MiB image: regapi vs crane export, $ROUNDS rounds, alternating"
for round in $(seq 1 "$ROUNDS"); do
	if ((round % 2)); then crane_run; api_run; else api_run; crane_run; fi
	r_extract+=("$(div "${api_mbps[-1]}" "${crane_mbps[-1]}")")
done
put extract_bytes "$EXTRACT_BYTES"
# Where the memory sits after the runs, from regapi's own /metrics (Go
# runtime collectors): heap in use, idle, returned to the OS, goroutines.
"$LOAD" get -url "$URL_extract/metrics" 2>/dev/null |
	awk '$1 ~ /^(go_goroutines|go_memstats_heap_(inuse|idle|released)_bytes|go_memstats_next_gc_bytes)$/ { printf "extract_after_%s=%d\n", $1, $2 }' >>"$RAW" || true
HWM_KIB=$("$LOAD" rss -pid "$PID_extract" | sed -n 's/^vmhwm_kib=//p')
PEAK_KIB=$(printf '%s\n' "${peaks[@]}" "$HWM_KIB" | sort -n | tail -n 1)
put extract_mbps_regapi "$(median "${api_mbps[@]}")"
put extract_mbps_crane "$(median "${crane_mbps[@]}")"
put extract_ratio_crane "$(median "${r_extract[@]}")"
put extract_mbps_samples "regapi ${api_mbps[*]}; crane ${crane_mbps[*]}; regapi/crane ${r_extract[*]}"
put extract_peak_rss_kib "$PEAK_KIB"
put extract_rss_samples_kib "${peaks[*]}; VmHWM $HWM_KIB"
put extract_rss_above_idle_mib "$(awk -v p="$PEAK_KIB" -v i="$IDLE_KIB" 'BEGIN { printf "%.1f", (p - i) / 1024 }')"

# ---------------------------------------------------------------- files: index and layer cache
# The files targets on corpus/files (4 layers of random bytes, a quarter
# of it data/big.bin in the base layer, /shared in every layer), through
# the counting proxy. Each kind of request gets a fresh instance on an
# empty --layer-cache-dir: its first request builds the file index and
# fills the cache, the repeats must be far faster and reach no blob.
FILES_REF=127.0.0.1:$RPORT/corpus/files:latest
FILES_MIB=$(get files_mib "$WORK/seed.env")
# seconds URL prints how long one GET took, its body read to the end.
seconds() { "$LOAD" download -url "$1" | sed -n 's/^seconds=//p'; }
blob_gets() { "$LOAD" get -url "$PROXY/_count" | sed -n 's/^blobs=//p'; }
log "files of the ${FILES_MIB} MiB image: first request, then $ROUNDS repeats, per kind, each on a fresh instance and layer cache"
for what in listing file extract; do
	regapi "files_$what" "$PROXY" --layer-cache-dir "$WORK/layer-cache-$what" --layer-cache-max-bytes 4GiB
	var=URL_files_$what
	base=${!var}/api/v1/repos/bench/corpus/files/-
	case $what in
	listing) url=$base/files/latest/shared ;;
	file) url=$base/files/latest/data/big.bin ;;
	extract) url=$base/extract/latest ;;
	esac
	first=$(seconds "$url")
	gets0=$(blob_gets)
	reps=()
	for round in $(seq 1 "$ROUNDS"); do reps+=("$(seconds "$url")"); done
	put "files_${what}_first_s" "$first"
	put "files_${what}_repeat_s" "$(median "${reps[@]}")"
	put "files_${what}_speedup" "$(div "$first" "$(median "${reps[@]}")")"
	put "files_${what}_repeat_blob_gets" $(($(blob_gets) - gets0))
	put "files_${what}_samples" "first $first; repeats ${reps[*]}"
done
log "crane export of the files image, $ROUNDS runs"
crane_files=()
for round in $(seq 1 "$ROUNDS"); do
	t0=$(now_ns)
	timeout 300 "$CRANE" export --insecure "$FILES_REF" /dev/null
	t1=$(now_ns)
	crane_files+=("$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.6f", ns / 1e9 }')")
done
put files_crane_s "$(median "${crane_files[@]}")"
put files_extract_ratio_crane "$(div "$(get files_crane_s)" "$(get files_extract_repeat_s)")"
put load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- profiles
# CPU profiles of regapi under each load, taken after the measurements so
# that profiling does not slow them: cached tags and manifest, cold manifests (an
# instance with the cache off, so that every request takes the miss path)
# and extract. Each gets a pprof file and its top functions as text.
PROF=$OUT/profiles-$STAMP
if [[ $PROFILE == 1 ]]; then
	log "CPU profiles of regapi (cached tags, cold manifests, extract) into bench/out/profiles-$STAMP"
	mkdir -p "$PROF"
	printf 'cache:\n  disabled: true\n' >"$WORK/nocache.yml"
	MPORT_CACHED=$("$LOAD" freeport)
	regapi prof "$REG" --metrics-listen "127.0.0.1:$MPORT_CACHED" --pprof
	MPORT_NOCACHE=$("$LOAD" freeport)
	regapi nocache "$REG" --config "$WORK/nocache.yml" --metrics-listen "127.0.0.1:$MPORT_NOCACHE" --pprof
	# profile NAME PORT CMD...: a CPU profile of DURATION seconds while CMD runs.
	profile() {
		local name=$1 port=$2
		shift 2
		"$LOAD" get -timeout $((DURATION + 30))s -url "http://127.0.0.1:$port/debug/pprof/profile?seconds=$DURATION" >"$PROF/$name.pprof" &
		local pp=$!
		"$@" >/dev/null
		wait "$pp"
		go tool pprof -top -nodecount=30 "$BIN/regapi" "$PROF/$name.pprof" >"$PROF/$name.top.txt" 2>/dev/null || true
		go tool pprof -top -cum -nodecount=60 "$BIN/regapi" "$PROF/$name.pprof" >"$PROF/$name.cum.txt" 2>/dev/null || true
	}
	"$LOAD" get -url "$URL_prof/api/v1/repos/bench/corpus/tags/-/tags?limit=100" >/dev/null
	profile cached-tags "$MPORT_CACHED" rate "$PID_prof" "$URL_prof/api/v1/repos/bench/corpus/tags/-/tags?limit=100"
	"$LOAD" get -url "$URL_prof/api/v1/repos/bench/corpus/big/-/manifests/latest" >/dev/null
	profile cached-manifest "$MPORT_CACHED" rate "$PID_prof" "$URL_prof/api/v1/repos/bench/corpus/big/-/manifests/latest"
	profile cold-manifest "$MPORT_NOCACHE" rate "$PID_nocache" "$URL_nocache/api/v1/repos/bench/corpus/tags/-/manifests/t001"
	profile extract "$MPORT_CACHED" "$LOAD" download -url "$URL_prof/api/v1/repos/bench/corpus/big/-/extract/latest"
	# The live heap one second into an extract: what holds memory mid-stream.
	"$LOAD" download -url "$URL_prof/api/v1/repos/bench/corpus/big/-/extract/latest" >/dev/null &
	dl=$!
	sleep 1
	"$LOAD" get -url "http://127.0.0.1:$MPORT_CACHED/debug/pprof/heap" >"$PROF/extract-heap.pprof"
	wait "$dl"
	go tool pprof -sample_index=inuse_space -top -nodecount=30 "$BIN/regapi" "$PROF/extract-heap.pprof" >"$PROF/extract-heap.top.txt" 2>/dev/null || true
	cp "$BIN/regapi" "$PROF/regapi.bin"
fi

# ---------------------------------------------------------------- report
# row NAME VALUE ANCHOR_VALUE RATIO TARGET_OP TARGET: one table line.
row() {
	local met
	met=$(awk -v r="$4" -v op="$5" -v t="$6" 'BEGIN {
		if (r == "n/a" || op == "") { print "-"; exit }
		ok = (op == ">=" ? r+0 >= t+0 : op == "<=" ? r+0 <= t+0 : r+0 == t+0)
		print (ok ? "yes" : "NO") }')
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "${5:+$5 $6}" "$met"
}
report() {
	local r
	echo "# regapi benchmarks, $STAMP"
	echo
	echo "Machine: $(get nproc) cores, $(get mem_mib) MiB, $(get go), Linux $(get kernel); load average $(get load_start) at start, $(get load_end) at end."
	echo "Anchors: distribution registry $(get registry_version) (filesystem storage), crane $(get crane_version), regapi $(get regapi_commit); load generator $(get loadgen), $CONNS connections, ${DURATION}s x $ROUNDS rounds."
	echo
	echo "Figures are medians over rounds; a ratio is the median of the ratios taken within each round, not the ratio of the medians."
	echo
	echo '| measure | regapi | anchor | ratio | target | met |'
	echo '| --- | --- | --- | --- | --- | --- |'
	for what in tags manifest; do
		r=$(get "${what}_ratio_ceiling")
		row "cached $what req/s vs bare net/http" "$(get "${what}_rps_regapi")" "$(get "${what}_rps_ceiling")" "$r" "$([[ $what == tags ]] && echo '>=')" 0.6
		r=$(get "${what}_ratio_registry")
		row "cached $what req/s vs registry" "$(get "${what}_rps_regapi")" "$(get "${what}_rps_registry")" "$r" "$([[ $what == tags ]] && echo '>=')" 10
	done
	for what in tags manifest; do
		row "cached $what server CPU µs/req vs bare net/http (anchor/regapi)" "$(get "${what}_cpu_us_regapi")" "$(get "${what}_cpu_us_ceiling")" "$(get "${what}_cpu_ratio_ceiling")" "" ""
		row "cached $what server CPU µs/req vs registry (anchor/regapi)" "$(get "${what}_cpu_us_regapi")" "$(get "${what}_cpu_us_registry")" "$(get "${what}_cpu_ratio_registry")" "" ""
	done
	r=$(div "$(get cold_a_p50_ms)" "$(get cold_b_p50_ms)")
	row "cold manifest median ms vs registry" "$(get cold_a_p50_ms)" "$(get cold_b_p50_ms)" "$r" "<=" 1.3
	r=$(div "$(get cold_a_p90_ms)" "$(get cold_b_p90_ms)")
	row "cold manifest p90 ms vs registry" "$(get cold_a_p90_ms)" "$(get cold_b_p90_ms)" "$r" "" ""
	# Relay rows: the anchor column is the registry for the first pair, the
	# relay for the second; the regapi column holds the relay's figure in the
	# first pair.
	r=$(div "$(get cold_c_p50_ms)" "$(get cold_b_p50_ms)")
	row "cold manifest median ms, bare reverse proxy vs registry" "$(get cold_c_p50_ms)" "$(get cold_b_p50_ms)" "$r" "" ""
	r=$(div "$(get cold_c_p90_ms)" "$(get cold_b_p90_ms)")
	row "cold manifest p90 ms, bare reverse proxy vs registry" "$(get cold_c_p90_ms)" "$(get cold_b_p90_ms)" "$r" "" ""
	r=$(div "$(get cold_a_p50_ms)" "$(get cold_c_p50_ms)")
	row "cold manifest median ms, regapi vs bare reverse proxy" "$(get cold_a_p50_ms)" "$(get cold_c_p50_ms)" "$r" "" ""
	r=$(div "$(get cold_a_p90_ms)" "$(get cold_c_p90_ms)")
	row "cold manifest p90 ms, regapi vs bare reverse proxy" "$(get cold_a_p90_ms)" "$(get cold_c_p90_ms)" "$r" "" ""
	r=$(get extract_ratio_crane)
	row "extract MB/s vs crane export" "$(get extract_mbps_regapi)" "$(get extract_mbps_crane)" "$r" ">=" 1.3
	row "extract RSS above idle, MiB" "$(get extract_rss_above_idle_mib)" "64" "$(div "$(get extract_rss_above_idle_mib)" 64)" "<=" 1
	row "upstream manifest GETs for $BURST identical cold requests" "$(get burst_upstream_manifests)" "1" "$(get burst_upstream_manifests)" "<=" 1
	row "repeat listing of /shared (needs every layer) s vs the first (speedup)" "$(get files_listing_repeat_s)" "$(get files_listing_first_s)" "$(get files_listing_speedup)" ">=" 100
	row "repeat read of the base layer's big file s vs the first (speedup)" "$(get files_file_repeat_s)" "$(get files_file_first_s)" "$(get files_file_speedup)" ">=" 5
	row "repeat extract of the files image s vs crane export (speedup)" "$(get files_extract_repeat_s)" "$(get files_crane_s)" "$(get files_extract_ratio_crane)" ">=" 3
	for what in listing file extract; do
		row "blob GETs upstream over $ROUNDS repeats of the $what" "$(get "files_${what}_repeat_blob_gets")" "0" "$(get "files_${what}_repeat_blob_gets")" "<=" 0
	done
	echo
	echo "CPU rows: the server's own CPU time per request (from /proc/PID/stat around each load), ratio = anchor/regapi, so that, like the throughput rows, higher is better for regapi; they hardly depend on how much CPU other processes take."
	echo
	echo "Samples: tags $(get tags_rps_samples); manifest $(get manifest_rps_samples); extract MB/s $(get extract_mbps_samples)."
	echo "CPU µs/req samples: tags $(get tags_cpu_samples); manifest $(get manifest_cpu_samples)."
	echo "Burst: $(get burst_ok) ok, $(get burst_failed) failed in $(get burst_ms) ms; upstream requests $(get burst_upstream_total) in all ($(get burst_upstream_ping) pings, $(get burst_upstream_blobs) blobs)."
	echo "X-Cache before the cached runs: tags $(get tags_xcache), manifest $(get manifest_xcache)."
	echo "Cold manifest rows: $(get cold_n) distinct tags, each read once through regapi, once from the registry and once through a bare reverse proxy (httputil.ReverseProxy, bench/cmd/relay) in front of it, one at a time, the order rotating over all six per tag; in the \"bare reverse proxy vs registry\" rows the regapi column holds the proxy's figure, so the ratio is the floor any second HTTP hop costs."
	echo "Cold manifest reads cost $(get cold_upstream_per_request) upstream requests each (ten distinct tags through the counting proxy)."
	echo "regapi log level: $LOG_LEVEL${REGAPI_ENV:+; environment $REGAPI_ENV}."
	[[ $PROFILE == 1 ]] && echo "CPU profiles: bench/out/profiles-$STAMP/ (go tool pprof bench/out/profiles-$STAMP/regapi.bin FILE.pprof)."
	echo "After the extract runs: $(get extract_after_go_goroutines) goroutines; heap in use $(get extract_after_go_memstats_heap_inuse_bytes) B, idle $(get extract_after_go_memstats_heap_idle_bytes) B, released $(get extract_after_go_memstats_heap_released_bytes) B, next GC at $(get extract_after_go_memstats_next_gc_bytes) B."
	echo "Files (corpus/files, $(get files_mib) MiB, 4 layers of random bytes, --layer-cache-dir on a fresh instance per kind): listing $(get files_listing_samples); file $(get files_file_samples); extract $(get files_extract_samples); crane export $(get files_crane_s) s."
	echo "Extract: $(get extract_bytes) tar bytes from regapi, $(get crane_bytes) from crane; image $(get big_uncompressed_bytes) bytes of layer tar in $(get big_layers) layers, $(get big_compressed_bytes) gzip; RSS idle $(get extract_idle_rss_kib) KiB, peak $(get extract_peak_rss_kib) KiB (per run: $(get extract_rss_samples_kib))."
}
report >"$OUT/results-$STAMP.md"
cp "$RAW" "$OUT/results-$STAMP.env"
echo
cat "$OUT/results-$STAMP.md"
log "results in bench/out/results-$STAMP.md (and .env with every raw value)"
