#!/usr/bin/env bash
# Benchmark (issue 14, item 5): the first pass of `ranktop report` (decode + reduce, release
# build) side by side with the best a user could write in Python, and jq, over the same log, each
# pinned to one core. Every command runs RUNS times (default 3), in interleaved rounds; the
# figure kept is the best of them (least user CPU time), for every command alike.
#
# Usage: scripts/bench/first_pass.sh [EVENTS...]   (default: 1000000; 4000000 adds the memory check)
# Environment: RUNS (3), CORE (1), RANKTOP_BENCH_VENV (~/.cache/ranktop/bench-venv),
#              RANKTOP_BENCH_DIR (${TMPDIR:-/tmp}/ranktop-bench), SKIP_BUILD=1 to use the last build,
#              BASELINE_BIN (another ranktop binary, e.g. an older commit's, measured in the same rounds).
#
# Every swift build on the shared machine goes through /tmp/ranktop-build.lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
runs="${RUNS:-3}"
core="${CORE:-1}"
venv="${RANKTOP_BENCH_VENV:-$HOME/.cache/ranktop/bench-venv}"
dir="${RANKTOP_BENCH_DIR:-${TMPDIR:-/tmp}/ranktop-bench}"
mkdir -p "$dir"

build() { if command -v flock >/dev/null; then flock /tmp/ranktop-build.lock "$@"; else "$@"; fi; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    build swift build -c release --product ranktop >/dev/null
fi
bin="$(swift build -c release --show-bin-path)/ranktop"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import orjson, simdjson' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet orjson pysimdjson
fi
py="$venv/bin/python"

pin=()
if command -v taskset >/dev/null && taskset -c "$core" true 2>/dev/null; then pin=(taskset -c "$core"); fi

# One run: "wall user rss" of the command, its stdout thrown away.
once() {
    /usr/bin/time -f "%e %U %M" -o "$dir/time.txt" "${pin[@]}" "$@" > /dev/null
    cat "$dir/time.txt"
}

# The commands of one log run in rounds (each command once a round, RUNS rounds), so that the
# load of a shared machine drifts over all of them alike rather than over whichever ran last.
declare -A best_user best_wall best_rss all_runs
labels=()
commands=()
add() { labels+=("$1"); shift; commands+=("$(printf '%q ' "$@")"); }
run_rounds() {
    local i k
    for i in $(seq "$runs"); do
        for k in "${!labels[@]}"; do
            read -r wall user peak < <(eval once "${commands[$k]}")
            local label="${labels[$k]}"
            all_runs[$label]+=" $user"
            if [ -z "${best_user[$label]:-}" ] || awk -v a="$user" -v b="${best_user[$label]}" 'BEGIN { exit !(a < b) }'; then
                best_user[$label]="$user"; best_wall[$label]="$wall"; best_rss[$label]="$peak"
            fi
        done
    done
}
report() { # label events
    local label="$1" events="$2" rate
    rate=$(awk -v n="$events" -v s="${best_user[$label]}" 'BEGIN { printf "%.2f", (s > 0 ? n / s / 1e6 : 0) }')
    printf "%-30s best %6.2f s user (%5.2f s wall) %6sM events/s %8d KB peak RSS  runs:%s\n" \
        "$label" "${best_user[$label]}" "${best_wall[$label]}" "$rate" "${best_rss[$label]}" "${all_runs[$label]}"
}

echo "ranktop: $bin"
echo "pinned: ${pin[*]:-(taskset not available)}; $runs runs each, best (least user CPU) kept"
echo "python: $("$py" -c 'import sys, orjson, importlib.metadata as m; print(sys.version.split()[0], "orjson", orjson.__version__, "pysimdjson", m.version("pysimdjson"))')"
echo "jq: $(jq --version)"

for n in "${sizes[@]}"; do
    log="$dir/log-$n.jsonl"
    [ -f "$log" ] || python3 scripts/bench/make_log.py "$n" "$log" 64 >/dev/null
    events=$(wc -l < "$log")
    bytes=$(stat -c %s "$log")
    echo "== $log: $events events, $((bytes / 1048576)) MiB"
    labels=(); commands=(); best_user=(); best_wall=(); best_rss=(); all_runs=()
    add "ranktop report --json" "$bin" report "$log" --json
    if [ -n "${BASELINE_BIN:-}" ]; then add "baseline ranktop report --json" "$BASELINE_BIN" report "$log" --json; fi
    if [ "$n" -le 1000000 ]; then
        add "python orjson.loads loop" "$py" -c 'import orjson, sys
for line in open(sys.argv[1], "rb"): orjson.loads(line)' "$log"
        # The parser is made once and reused: pysimdjson's fast way (its buffers are kept between
        # documents). Each document is dropped before the next parse, as reuse requires.
        add "python pysimdjson parse loop" "$py" -c 'import simdjson, sys
parser = simdjson.Parser()
for line in open(sys.argv[1], "rb"): parser.parse(line)' "$log"
        add "jq -c . > /dev/null" jq -c . "$log"
    fi
    run_rounds
    for label in "${labels[@]}"; do report "$label" "$events"; done
    [ "$n" -le 1000000 ] || continue
    awk -v r="${best_user["ranktop report --json"]}" -v o="${best_user["python orjson.loads loop"]}" \
        -v s="${best_user["python pysimdjson parse loop"]}" 'BEGIN {
        printf "ratio ranktop/orjson     %.2fx (target >= 3)\n", o / r
        printf "ratio ranktop/pysimdjson %.2fx (target >= 1.5)\n", s / r
    }'
done
