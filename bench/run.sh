#!/usr/bin/env bash
# bridgecast benchmark harness.
#
#   bash bench/run.sh                 # from the repository root
#   BENCH_QUICK=1 bash bench/run.sh   # smoke test: small corpus, 3 s wrk runs
#
# Environment (all optional):
#   BENCH_DURATION     wrk seconds per run                (default 10; 3 with BENCH_QUICK=1)
#   BENCH_CONNECTIONS  wrk connections                    (default 64)
#   BENCH_ARTICLES     articles in the corpus, x 8 locales (default 1250 = 10,000
#                      translations; 50 with BENCH_QUICK=1)
#   BENCH_QUICK=1      smaller defaults for a smoke test (explicit values above still win)
#   BENCH_KEEP=1       keep the temporary directory (corpus, export, logs) at exit
#   BENCH_BIN=PATH     benchmark this binary instead of running cargo build --release
#
# Sections: 1 corpus, 2 build (bridgecast export vs hugo), 3 serving (bridgecast serve vs
# nginx on the export), 4 memory of the serve process, 5 publish-to-served latency.
# The table goes to stdout and to bench/results/latest.txt; progress goes to stderr.
# Needs: cargo, python3, curl, wrk, nginx, hugo. Everything listens on 127.0.0.1 only.
# A failed step exits non-zero; a missed target only prints "target missed".

set -euo pipefail
export LC_ALL=C # decimal points in $EPOCHREALTIME, awk and sort

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BENCH=$ROOT/bench
RESULTS_DIR=$BENCH/results
RESULTS=$RESULTS_DIR/latest.txt

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    DURATION=${BENCH_DURATION:-3}
    ARTICLES=${BENCH_ARTICLES:-50}
else
    DURATION=${BENCH_DURATION:-10}
    ARTICLES=${BENCH_ARTICLES:-1250}
fi
CONNS=${BENCH_CONNECTIONS:-64}
# BENCH_ONLY: comma-separated sections to run (build, serve, latency); default all.
ONLY=${BENCH_ONLY:-all}
want() { [[ $ONLY == all || ,$ONLY, == *,$1,* ]]; }
[[ $ONLY == all || $ONLY =~ ^(build|serve|latency)(,(build|serve|latency))*$ ]] ||
    { echo "bench: BENCH_ONLY must list build, serve or latency, got '$ONLY'" >&2; exit 2; }
for v in DURATION ARTICLES CONNS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
((CONNS >= 2)) || { echo "bench: BENCH_CONNECTIONS must be at least 2 (wrk -t2)" >&2; exit 2; }

LOCALES=8              # fixed by gen_corpus.py
BUILD_RUNS=3           # median of this many cold builds, each tool
LAT_REPEATS=9          # publish-to-served samples
LAT_TIMEOUT=30         # seconds to wait for one new article to show up
RESCAN_SECS=60         # BRIDGECAST_SCHEDULER__RESCAN_EVERY_SECS for the serve process (the default)
READY_TIMEOUT=600      # seconds to wait for /readyz after starting serve
HUGO_RSS_LIMIT=-1      # -1 = unlimited: each locale feed carries all its articles (see gen_hugo.py)
FEED=/feeds/news/en/atom.xml
BASE_URL=http://bench.example.org

# Targets (printed as "target met" / "target missed"; never fail the run).
TARGET_BUILD=3         # hugo_time / bridgecast_time >= this
TARGET_SERVE=1.0       # bridgecast_rps / nginx_rps >= this
TARGET_LATENCY=0.050   # publish-to-served median, seconds, < this

# Configuration must come only from the files this script writes (BRIDGECAST_LOG, the
# log filter, is kept).
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^BRIDGECAST_' | grep -vx 'BRIDGECAST_LOG' || true)

WORK=$(mktemp -d /tmp/bridgecast-bench.XXXXXX)
PIDS=()

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }
die() {
    log "ERROR: $*"
    printf '\nFAILED: %s\n' "$*" >>"$RESULTS"
    exit 1
}

cleanup() {
    local rc=$? pid i
    trap - EXIT INT TERM
    ((rc == 0)) || log "exit status $rc; stopping ${#PIDS[@]} process(es) this script started"
    ((rc < 128)) || printf '\nINTERRUPTED (exit status %s)\n' "$rc" >>"$RESULTS"
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

drop_pid() { local keep=() x; for x in "${PIDS[@]}"; do [[ $x == "$1" ]] || keep+=("$x"); done; PIDS=("${keep[@]}"); }
# run_in DIR LOG SECONDS CMD...: runs CMD in DIR, stdout and stderr to LOG, killed after
# SECONDS. It runs in the background and is waited for, so that a signal to this script
# is handled at once (the trap then kills it); returns CMD's exit status.
run_in() {
    local dir=$1 logf=$2 secs=$3 p rc=0
    shift 3
    (cd "$dir" && exec timeout "$secs" "$@") >"$logf" 2>&1 &
    p=$!
    PIDS+=("$p")
    wait "$p" || rc=$?
    drop_pid "$p"
    return "$rc"
}
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { if (r != "n/a" && r + 0 >= t + 0) print "target met"; else print "target missed" }'; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
# One table row: label, two figures, ratio, verdict.
row() { say "$(printf '  %-30s %16s %16s %10s  %s' "$1" "$2" "$3" "$4" "${5:-}")"; }

for tool in cargo python3 curl wrk nginx hugo timeout; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx || NGINX=$(command -v nginx)

mkdir -p "$RESULTS_DIR"
: >"$RESULTS"

# --------------------------------------------------------------------- header
ncpu=$(nproc)
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
nginx_v=$("$NGINX" -v 2>&1 | sed -n 's|.*nginx/\([^ ]*\).*|\1|p')
hugo_v=$(hugo version 2>/dev/null | awk '{ print $2 }')
wrk_v=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null || true) ]]; then rev="$rev (modified)"; fi

say "bridgecast benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $rev"
say "machine: nproc=$ncpu; cpu: ${model:-unknown}; nginx $nginx_v; hugo $hugo_v; wrk $wrk_v"
say "params:  $ARTICLES articles x $LOCALES locales = $((ARTICLES * LOCALES)) translations;" \
    "wrk -t2 -c$CONNS -d${DURATION}s; $BUILD_RUNS cold builds each;" \
    "quick=$QUICK"
say "note:    load generator (wrk) and servers share the same $ncpu cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# The file system the builds write to: on ext4 without a journal, creating files costs
# more for a while after many were deleted (bench/README.md, "Build").
fs_of() {
    local type src jt
    read -r type src < <(findmnt -no FSTYPE,SOURCE --target "$1" 2>/dev/null) || { echo unknown; return; }
    # /sys/fs/ext4/<device>/journal_task names the journal thread, or says <none>.
    if [[ $type == ext4 && -r /sys/fs/ext4/${src##*/}/journal_task ]]; then
        jt=$(cat "/sys/fs/ext4/${src##*/}/journal_task")
        if [[ $jt == "<none>" ]]; then
            type="ext4 without a journal (creating files is slower for a while after many were deleted: bench/README.md)"
        else
            type="ext4 with a journal"
        fi
    fi
    printf '%s' "$type"
}
say "storage: $WORK on $(fs_of "$WORK")"

# ---------------------------------------------------------------------- build
if [[ -n ${BENCH_BIN:-} ]]; then
    BIN=$(realpath "$BENCH_BIN")
    log "BENCH_BIN set: using $BIN without building"
else
    log "cargo build --release (may take minutes on a cold target/)"
    if ! run_in "$ROOT" "$WORK/cargo.log" 3600 cargo build --release --quiet; then
        tail -n 30 "$WORK/cargo.log" >&2
        die "cargo build --release failed (log above)"
    fi
    BIN=$ROOT/target/release/bridgecast
fi
[[ -x $BIN ]] || die "$BIN is not an executable"
say "binary:  $("$BIN" --version)  ($BIN)"

# --------------------------------------------------------------------- corpus
CORPUS=$WORK/corpus
log "generating corpus ($ARTICLES articles) in $CORPUS"
t0=$(now)
python3 "$BENCH/gen_corpus.py" "$CORPUS" "$ARTICLES" >"$WORK/gen_corpus.log" 2>&1 ||
    { cat "$WORK/gen_corpus.log" >&2; die "gen_corpus.py failed"; }
t1=$(now)
n_files=$(find "$CORPUS/feeds/news/articles" -name '*.md' | wc -l)
corpus_bytes=$(find "$CORPUS/feeds/news/articles" -name '*.md' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
((n_files == ARTICLES * LOCALES)) || die "corpus has $n_files files, expected $((ARTICLES * LOCALES))"

write_cfg() { # FILE DATA_DIR
    cat >"$1" <<EOF
# Generated by bench/run.sh
base_url = "$BASE_URL"
content_dir = "$CORPUS/feeds"
data_dir = "$2"
EOF
}
write_cfg "$WORK/validate.toml" "$WORK/data-validate"
run_in "$WORK" "$WORK/validate.log" 600 "$BIN" --config "$WORK/validate.toml" validate ||
    { tail -n 20 "$WORK/validate.log" >&2; die "bridgecast validate reported problems in the corpus: $(tail -n 1 "$WORK/validate.log")"; }

say ""
say "1. Corpus (bench/gen_corpus.py, deterministic)"
say "  channels: news (all articles), science-tech (selects news by topic); locales: zh-Hans en de ja ms ne es ar"
say "  $ARTICLES articles, $n_files translation files, $(awk -v b="$corpus_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }'), avg $((corpus_bytes / n_files)) B/file; generated in $(elapsed "$t0" "$t1") s"
say "  bridgecast validate: $(tail -n 1 "$WORK/validate.log")"

# ---------------------------------------------------------------------- build
EXPORT=$CORPUS/export
if want build; then
HUGO=$WORK/hugo
HUGO_OUT=$WORK/hugo-public
python3 "$BENCH/gen_hugo.py" "$CORPUS" "$HUGO" "$HUGO_RSS_LIMIT" >"$WORK/gen_hugo.log" 2>&1 ||
    { cat "$WORK/gen_hugo.log" >&2; die "gen_hugo.py failed"; }

bc_times=()
hugo_times=()
# Every run writes into new directories and nothing is deleted until the runs are over:
# on ext4 without a journal, creating files right after deleting many pays for the
# deletion (fs/ext4/ialloc.c, recently_deleted(); bench/README.md has the figures).
# Before each timed run, `sync` (untimed) writes out what earlier runs left dirty in the
# page cache, so that no run pays for the writeback of the one before it.
for ((run = 1; run <= BUILD_RUNS; run++)); do
    # bridgecast: fresh data_dir (new SQLite database) and no export dir.
    EXPORT=$WORK/builds/export-$run
    write_cfg "$WORK/export.toml" "$WORK/builds/data-export-$run"
    log "build run $run/$BUILD_RUNS: bridgecast export"
    sync
    t0=$(now)
    rc=0
    run_in "$WORK" "$WORK/export.log" 900 "$BIN" --config "$WORK/export.toml" export "$EXPORT" || rc=$?
    t1=$(now)
    if ((rc != 0)); then
        tail -n 20 "$WORK/export.log" >&2
        die "bridgecast export exited with $rc: $(tail -n 1 "$WORK/export.log")"
    fi
    bc_times+=("$(elapsed "$t0" "$t1")")

    # hugo: no resources/ (a few files at most), no destination, no cache dir.
    rm -rf "$HUGO/resources"
    HUGO_OUT=$WORK/builds/hugo-public-$run
    log "build run $run/$BUILD_RUNS: hugo"
    sync
    t0=$(now)
    rc=0
    run_in "$HUGO" "$WORK/hugo.log" 900 hugo --quiet --destination "$HUGO_OUT" --cacheDir "$WORK/builds/hugo-cache-$run" || rc=$?
    t1=$(now)
    if ((rc != 0)); then
        grep -v 'found no layout file for "HTML" for kind "page"' "$WORK/hugo.log" | tail -n 20 >&2 || true
        die "hugo exited with $rc"
    fi
    hugo_times+=("$(elapsed "$t0" "$t1")")
done
[[ -f $EXPORT$FEED ]] || die "export did not write $EXPORT$FEED"
export_line=$(grep '^exported' "$WORK/export.log" | tail -n 1 || true)
export_files=$(find "$EXPORT" -type f | wc -l)
export_bytes=$(du -sb "$EXPORT" | awk '{ print $1 }')
hugo_feeds=$(find "$HUGO_OUT" -name index.xml | wc -l)
hugo_items=$({ find "$HUGO_OUT" -name index.xml -exec grep -c '<item>' {} + || true; } | awk -F: '{ s += $NF } END { print s + 0 }')
hugo_html=$(find "$HUGO_OUT" -name '*.html' | wc -l)
# One more, untimed build without --quiet, to see what hugo does with `page = []`
# (--quiet hides its warnings in 0.111).
rm -rf "$HUGO/resources" "$WORK/hugo-check" "$WORK/hugo-cache"
run_in "$HUGO" "$WORK/hugo-check.log" 900 hugo --destination "$WORK/hugo-check" --cacheDir "$WORK/hugo-cache" ||
    { tail -n 20 "$WORK/hugo-check.log" >&2; die "hugo (untimed check build) failed"; }
hugo_warn=$(grep -c 'found no layout file for "HTML" for kind "page"' "$WORK/hugo-check.log" || true)
((hugo_feeds == LOCALES)) || die "hugo wrote $hugo_feeds RSS feeds, expected $LOCALES (see $HUGO/hugo.toml)"
((hugo_items == ARTICLES * LOCALES)) || die "hugo feeds hold $hugo_items items, expected $((ARTICLES * LOCALES))"

limit_note=""
((HUGO_RSS_LIMIT < 0)) && limit_note=" (unlimited: all of the locale's articles, like bridgecast's current + archive pages)"
bc_med=$(median "${bc_times[@]}")
hugo_med=$(median "${hugo_times[@]}")
build_ratio=$(ratio "$hugo_med" "$bc_med")
say ""
say "2. Build from cold (whole process, median of $BUILD_RUNS, runs interleaved)"
say "$(printf '  %-30s %16s %16s %10s  %s' "" "bridgecast" "hugo" "hugo/bc" "target >= $TARGET_BUILD")"
row "full build, seconds" "$bc_med" "$hugo_med" "$build_ratio" "$(verdict "$build_ratio" "$TARGET_BUILD")"
say "  runs: bridgecast ${bc_times[*]} s; hugo ${hugo_times[*]} s"
say "  bridgecast: export (fresh SQLite data_dir each run): ${export_line:-?}"
say "              $export_files files, $(awk -v b="$export_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }') (RSS+Atom+JSON, current + archive pages, .gz and .br, landing pages)"
say "  hugo:       multilingual site, 8 languages, RSS only (home of each language = its feed), rssLimit=$HUGO_RSS_LIMIT$limit_note"
say "              $hugo_feeds feeds, $hugo_items items, $hugo_html .html file(s) (the root redirect to the default language)"
if ((hugo_warn > 0)); then
    say "              [outputs] page = [] is accepted by hugo $hugo_v but falls back to the default (HTML) for pages;"
    say "              with no layouts nothing is written for them (an untimed build without --quiet logged"
    say "              \"found no layout file for HTML for kind page\" $hugo_warn times)"
else
    say "              [outputs] page = [] accepted: no page output attempted"
fi

elif want serve; then
    # nginx serves the exported bytes: one untimed export.
    write_cfg "$WORK/export.toml" "$WORK/data-export"
    log "bridgecast export (untimed, for nginx)"
    run_in "$WORK" "$WORK/export.log" 900 "$BIN" --config "$WORK/export.toml" export "$EXPORT" ||
        { tail -n 20 "$WORK/export.log" >&2; die "bridgecast export failed: $(tail -n 1 "$WORK/export.log")"; }
fi

if ! want serve && ! want latency; then
    say ""
    say "results: bench/results/latest.txt"
    exit 0
fi

# -------------------------------------------------------------------- serving
BC_PORT=$(free_port)
NG_PORT=$(free_port)
while [[ $NG_PORT == "$BC_PORT" ]]; do NG_PORT=$(free_port); done
BC=http://127.0.0.1:$BC_PORT
NG=http://127.0.0.1:$NG_PORT

write_cfg "$WORK/serve.toml" "$WORK/data-serve"
log "starting bridgecast serve on 127.0.0.1:$BC_PORT"
t_start=$(now)
(
    cd "$WORK"
    BRIDGECAST_LISTEN=127.0.0.1:$BC_PORT \
        BRIDGECAST_SCHEDULER__RESCAN_EVERY_SECS=$RESCAN_SECS \
        exec "$BIN" --config "$WORK/serve.toml" serve
) >"$WORK/serve.log" 2>&1 &
BC_PID=$!
PIDS+=("$BC_PID")
ready=0
for ((i = 0; i < READY_TIMEOUT * 5; i++)); do
    kill -0 "$BC_PID" 2>/dev/null || { tail -n 20 "$WORK/serve.log" >&2; die "bridgecast serve exited during startup: $(tail -n 1 "$WORK/serve.log")"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BC/readyz" || true)
    if [[ $code == 200 ]]; then ready=1; break; fi
    sleep 0.2
done
((ready)) || die "bridgecast /readyz not 200 after ${READY_TIMEOUT}s"
t_ready=$(now)
hwm_ready=$(awk '/^VmHWM/ { print $2 }' "/proc/$BC_PID/status")
rss_ready=$(awk '/^VmRSS/ { print $2 }' "/proc/$BC_PID/status")

if want serve; then
NGX=$WORK/nginx
mkdir -p "$NGX/tmp"
user_line=""
if ((EUID == 0)); then user_line="user root;  # the export lives in a 0700 temp dir owned by root"; fi
cat >"$NGX/nginx.conf" <<EOF
# Generated by bench/run.sh: static files from bridgecast export.
$user_line
worker_processes 2;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections $((CONNS * 2 > 1024 ? CONNS * 2 : 1024)); }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    gzip_static on;
    etag on;
    # Not in the brief: the default 1000 requests per keep-alive connection would make
    # nginx reconnect during wrk runs while bridgecast (hyper) does not.
    keepalive_requests 1000000;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $EXPORT;
    }
}
EOF
"$NGINX" -t -q -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" 2>"$WORK/nginx-t.log" ||
    { cat "$WORK/nginx-t.log" >&2; die "nginx -t rejected $NGX/nginx.conf"; }
log "starting nginx on 127.0.0.1:$NG_PORT"
"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" >"$WORK/nginx.out" 2>&1 &
NG_PID=$!
PIDS+=("$NG_PID")
ready=0
for ((i = 0; i < 50; i++)); do
    kill -0 "$NG_PID" 2>/dev/null || { cat "$NGX/error.log" >&2 || true; die "nginx exited during startup"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$NG$FEED" || true)
    if [[ $code == 200 ]]; then ready=1; break; fi
    sleep 0.2
done
((ready)) || die "nginx did not answer 200 for $FEED within 10 s"

# Sizes and validators of the feed, from each server separately.
fetch_headers() { # URL [HEADER] -> headers on stdout; body to $WORK/body
    if [[ -n ${2:-} ]]; then
        curl -sS --max-time 10 -o "$WORK/body" -D - -H "$2" "$1"
    else
        curl -sS --max-time 10 -o "$WORK/body" -D - "$1"
    fi
}
header_of() { grep -i "^$1:" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//' || true; }

fetch_headers "$BC$FEED" >"$WORK/h" || die "curl $BC$FEED failed"
bc_etag=$(header_of etag <"$WORK/h")
bc_size=$(stat -c %s "$WORK/body")
bc_sum=$(sha256sum "$WORK/body" | cut -c1-16)
fetch_headers "$BC$FEED" "Accept-Encoding: gzip" >/dev/null || die "curl $BC$FEED failed"
bc_gz=$(stat -c %s "$WORK/body")
fetch_headers "$NG$FEED" >"$WORK/h" || die "curl $NG$FEED failed"
ng_etag=$(header_of etag <"$WORK/h")
ng_size=$(stat -c %s "$WORK/body")
ng_sum=$(sha256sum "$WORK/body" | cut -c1-16)
fetch_headers "$NG$FEED" "Accept-Encoding: gzip" >/dev/null || die "curl $NG$FEED failed"
ng_gz=$(stat -c %s "$WORK/body")
[[ -n $bc_etag ]] || die "bridgecast sent no ETag for $FEED"
[[ -n $ng_etag ]] || die "nginx sent no ETag for $FEED"

# Checks that SERVER answers URL with HEADER as the row claims, then runs wrk.
check() { # NAME URL HEADER WANT_CODE WANT_ENCODING
    local h code enc
    h=$(curl -sS --max-time 10 -o /dev/null -D - -H "$3" "$2") || die "$1: curl $2 failed"
    code=$(printf '%s\n' "$h" | awk 'NR == 1 { print $2 }')
    enc=$(printf '%s\n' "$h" | header_of content-encoding)
    enc=${enc:-identity}
    [[ $code == "$4" ]] || die "$1: $2 with '$3' answered $code, expected $4"
    if [[ $4 == 200 && ${enc,,} != "$5" ]]; then
        die "$1: $2 with '$3' answered Content-Encoding $enc, expected $5"
    fi
}
WRK_NOTES=()
WRK_RPS=
run_wrk() { # NAME URL HEADER -> sets WRK_RPS (requests/sec)
    local out errs non2xx
    run_in "$WORK" "$WORK/wrk-run.log" $((DURATION + 60)) wrk -t2 -c"$CONNS" -d"${DURATION}s" -H "$3" "$2" ||
        { cat "$WORK/wrk-run.log" >&2; die "$1: wrk failed against $2"; }
    out=$(cat "$WORK/wrk-run.log")
    printf '== %s\n%s\n' "$1" "$out" >>"$WORK/wrk.log"
    WRK_RPS=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }')
    [[ -n $WRK_RPS ]] || { printf '%s\n' "$out" >&2; die "$1: could not parse wrk output"; }
    non2xx=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses:/ { print $NF }')
    [[ -z $non2xx ]] || die "$1: wrk saw $non2xx responses with status >= 400 from $2"
    errs=$(printf '%s\n' "$out" | awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }')
    [[ -z $errs ]] || WRK_NOTES+=("$1: socket errors: $errs")
}

ROWS=(
    "plain GET (200 identity)|Accept-Encoding: identity|Accept-Encoding: identity|200|identity"
    "gzip (200 gzip)|Accept-Encoding: gzip|Accept-Encoding: gzip|200|gzip"
    "If-None-Match (304)|If-None-Match: $bc_etag|If-None-Match: $ng_etag|304|-"
)
serve_lines=()
for r in "${ROWS[@]}"; do
    IFS='|' read -r label bc_h ng_h want enc <<<"$r"
    check "bridgecast $label" "$BC$FEED" "$bc_h" "$want" "$enc"
    log "wrk bridgecast: $label"
    run_wrk "bridgecast $label" "$BC$FEED" "$bc_h"
    bc_rps=$WRK_RPS
    check "nginx $label" "$NG$FEED" "$ng_h" "$want" "$enc"
    log "wrk nginx: $label"
    run_wrk "nginx $label" "$NG$FEED" "$ng_h"
    ng_rps=$WRK_RPS
    rt=$(ratio "$bc_rps" "$ng_rps")
    serve_lines+=("$(printf '  %-30s %16s %16s %10s  %s' "$label" "$bc_rps" "$ng_rps" "$rt" "$(verdict "$rt" "$TARGET_SERVE")")")
done
same=no
[[ $bc_sum == "$ng_sum" ]] && same=yes
say ""
say "3. Serving $FEED (requests/sec; wrk -t2 -c$CONNS -d${DURATION}s; bridgecast first, then nginx, per row)"
say "  feed: bridgecast $bc_size B (gzip $bc_gz B), nginx $ng_size B (gzip $ng_gz B); same identity bytes: $same"
say "  ETag: bridgecast $bc_etag; nginx $ng_etag"
say "$(printf '  %-30s %16s %16s %10s  %s' "" "bridgecast" "nginx" "bc/nginx" "target >= $TARGET_SERVE")"
for l in "${serve_lines[@]}"; do say "$l"; done
for n in "${WRK_NOTES[@]}"; do say "  note: $n"; done
say "  nginx: worker_processes 2, sendfile, gzip_static (the export's .gz files), etag, access_log off"

fi

# --------------------------------------------------------------------- memory
if want serve; then
kill -0 "$BC_PID" 2>/dev/null || die "bridgecast serve died during the wrk runs: $(tail -n 1 "$WORK/serve.log")"
hwm_after=$(awk '/^VmHWM/ { print $2 }' "/proc/$BC_PID/status")
rss_after=$(awk '/^VmRSS/ { print $2 }' "/proc/$BC_PID/status")
say ""
say "4. Memory of bridgecast serve (pid $BC_PID; started to ready in $(elapsed "$t_start" "$t_ready") s)"
say "$(printf '  %-30s %16s %16s' "" "peak (VmHWM)" "now (VmRSS)")"
say "$(printf '  %-30s %16s %16s' "after readiness" "$(kib_to_mib "$hwm_ready")" "$(kib_to_mib "$rss_ready")")"
say "$(printf '  %-30s %16s %16s' "after the wrk runs" "$(kib_to_mib "$hwm_after")" "$(kib_to_mib "$rss_after")")"
# Bodies sent with sendfile live in memory files (memfd) too: shared memory that
# VmRSS does not count, since it is never mapped.
memfd=$(curl -sS "$BC/metrics" | awk '/^bridgecast_http_sendfile_file_bytes / { f = $2 } /^bridgecast_http_sendfile_files / { n = $2 } END { printf "%d %d", n, f / 1024 }')
say "  plus memory files (sendfile):  ${memfd%% *} files, $(kib_to_mib "${memfd##* }") (not in VmRSS)"
fi

if want latency; then
# ------------------------------------------------------------------- latency
ARTS=$CORPUS/feeds/news/articles
lat=()
lat_all=()
# The other feeds of the news channel that show an English-only article through their
# fallback chains (feeds/news/feed.toml; zh-Hans has none).
LAT_OTHERS=()
for l in zh-Hant de ja ms ne es ar; do LAT_OTHERS+=("$BC/feeds/news/$l/atom.xml"); done
LAT_TITLE="5. Publish-to-served latency (new article folder renamed into the content folder -> first $FEED containing its id; bench/latency.py polls over one keep-alive connection)"
LAT_HOW="  how new files are noticed: inotify on content_dir (scheduler.watch), and a re-scan every scheduler.rescan_every_secs = $RESCAN_SECS s as a safety net"
# A sample that never shows up: print what is known, then fail the run.
lat_failed() { # N ID T0
    local written last="" metrics
    written=$(date -u -d "@${3%.*}" +%T)
    say ""
    say "$LAT_TITLE"
    say "  samples before: ${lat[*]:-none}"
    say "  sample $1: $2 not in $FEED within ${LAT_TIMEOUT} s (file written at $written UTC)"
    # Read-only look at the daemon's job table: when was the re-scan job last touched?
    if command -v sqlite3 >/dev/null && [[ -f $WORK/data-serve/bridgecast.db ]]; then
        last=$(sqlite3 -readonly "$WORK/data-serve/bridgecast.db" \
            "SELECT strftime('%H:%M:%S', updated_at / 1000, 'unixepoch') FROM jobs WHERE key = 'sync_content'" 2>/dev/null || true)
        [[ -z $last ]] || say "  the daemon's sync_content job row was last updated at $last UTC"
    fi
    metrics=$(curl -s --max-time 5 "$BC/metrics" | grep -E '^bridgecast_(jobs_(pending|running|dead)|content_problems) ' | tr '\n' ' ' || true)
    [[ -z $metrics ]] || say "  /metrics: $metrics"
    say "$LAT_HOW"
    die "publish-to-served: $2 not in $FEED within ${LAT_TIMEOUT} s"
}
for ((n = 1; n <= LAT_REPEATS; n++)); do
    slug=zz-latency-$n
    id="tag:bench.example.org,2026-01-01:$slug"
    when=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%S+00:00)
    # Written outside the content folder, then renamed in: the daemon never sees a
    # half-written file.
    mkdir -p "$WORK/stage/$slug"
    cat >"$WORK/stage/$slug/en.md" <<EOF
+++
id = "$id"
title = "Latency probe $n"
summary = "A new article written by bench/run.sh to time publish-to-served."
topics = ["education"]
published_at = $when
status = "approved"
+++

Latency probe $n. This article was written while the daemon was running.
EOF
    t0=$(now)
    rc=0
    sample=$(python3 "$BENCH/latency.py" "$BC$FEED" "$WORK/stage/$slug" "$ARTS/$slug" "$id" "$LAT_TIMEOUT" "${LAT_OTHERS[@]}") || rc=$?
    if ((rc != 0)); then
        lat_failed "$n" "$id" "$t0"
    fi
    lat_all+=("${sample#* }")
    sample=${sample%% *}
    lat+=("$sample")
    log "latency sample $n: ${lat[-1]} s"
    sleep 1.3 # vary the phase against the re-scan timer
done
lat_sorted=$(printf '%s\n' "${lat[@]}" | sort -g)
lat_min=$(head -n 1 <<<"$lat_sorted")
lat_max=$(tail -n 1 <<<"$lat_sorted")
lat_med=$(median "${lat[@]}")
say ""
say "$LAT_TITLE"
say "$(printf '  %-30s %16s %16s %16s' "" "min" "median" "max")"
lat_verdict=$(awk -v m="$lat_med" -v t="$TARGET_LATENCY" 'BEGIN { if (m + 0 < t + 0) print "target met"; else print "target missed" }')
say "$(printf '  %-30s %16s %16s %16s  %s' "first feed, s ($LAT_REPEATS samples)" "$lat_min" "$lat_med" "$lat_max" "median < $TARGET_LATENCY s: $lat_verdict")"
all_sorted=$(printf '%s\n' "${lat_all[@]}" | sort -g)
say "$(printf '  %-30s %16s %16s %16s' "all 8 feeds showing it" "$(head -n 1 <<<"$all_sorted")" "$(median "${lat_all[@]}")" "$(tail -n 1 <<<"$all_sorted")")"
say "  samples: ${lat[*]} s; all 8 feeds: ${lat_all[*]} s"
say "$LAT_HOW"
fi

say ""
say "results: bench/results/latest.txt"
log "done"
