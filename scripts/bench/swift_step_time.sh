#!/usr/bin/env bash
# The Swift runtime's step time with N events a step (issue 10): `ranktop demo-rank` in benchmark
# mode under `ranktop launch --headless`, 1 and 2 ranks, 2 / 20 / 200 events a step, a fixed
# compute step of WORK_MS. Bare and instrumented segments alternate inside the same ranks; rank 0
# prints the medians, the ratio and the added time per event (docs/benchmarks.md).
#
#   swift build -c release --product ranktop
#   scripts/bench/swift_step_time.sh [.build/release/ranktop] [WORK_MS] [PAIRS] [SEGMENT]
#   TRANSPORT=shm scripts/bench/swift_step_time.sh ...     (ranks write shared memory instead)
set -euo pipefail
BIN="${1:-.build/release/ranktop}"
WORK_MS="${2:-5}"
PAIRS="${3:-10}"
SEGMENT="${4:-50}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf '| ranks | events/step | bare median | instrumented median | ratio | per event |\n|---|---|---|---|---|---|\n'
for ranks in 1 2; do
    for events in 2 20 200; do
        out=$("$BIN" launch -n "$ranks" --headless --transport "${TRANSPORT:-unix}" --log "$dir/bench-$ranks-$events.jsonl" -- \
            "$BIN" demo-rank --work-ms "$WORK_MS" --events-per-step "$events" --bench-pairs "$PAIRS" --bench-segment "$SEGMENT" 2>&1)
        json=$(grep -E '^\{"ranks"' <<<"$out" | tail -1)
        [ -n "$json" ] || { echo "no result for $ranks ranks, $events events:"; echo "$out"; exit 1; }
        python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| %d | %d | %.3f ms | %.3f ms | %.3fx | %+.2f us |" % (r["ranks"], r["events"], r["bare_ms"], r["instrumented_ms"], r["ratio"], r["us_per_event"]))' "$json"
    done
done
