#!/usr/bin/env bash
# Benchmark: `ranktop export LOG --format chrome -o FILE` (release build) on the generated 64-rank
# log of 1M events: wall and user time, peak RSS, input and output MB/s, three runs; then checks
# that Python's json module loads the trace. Usage: scripts/bench/export.sh [LOG] [TRACE]
# (default /tmp/log.jsonl, made by make_log.py if absent, and /tmp/trace.json).
# Builds go through the shared lock when one exists (flock /tmp/ranktop-build.lock).
set -euo pipefail
cd "$(dirname "$0")/../.."
log="${1:-/tmp/log.jsonl}"
trace="${2:-/tmp/trace.json}"
lock=()
command -v flock >/dev/null && lock=(flock /tmp/ranktop-build.lock)
"${lock[@]}" swift build -c release --product ranktop >/dev/null
bin="$(swift build -c release --show-bin-path)/ranktop"
[ -f "$log" ] || python3 scripts/bench/make_log.py 1000000 "$log" 64
in_bytes=$(stat -c %s "$log")
echo "input: $log, $(wc -l < "$log") events, $((in_bytes / 1048576)) MiB"
times="$(mktemp)"
for i in 1 2 3; do
    /usr/bin/time -f "%e %U %M" -o "$times" "$bin" export "$log" --format chrome -o "$trace"
    read -r elapsed user rss < "$times"
    out_bytes=$(stat -c %s "$trace")
    awk -v e="$elapsed" -v u="$user" -v r="$rss" -v i="$in_bytes" -v o="$out_bytes" 'BEGIN {
        printf "run: %.2f s wall, %.2f s user, %d KB peak RSS; input %.1f MB/s, output %.1f MB/s (wall), %.0f MiB written\n",
            e, u, r, i / 1e6 / e, o / 1e6 / e, o / 1048576 }'
done
rm -f "$times"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('json.load: ok,', len(d['traceEvents']), 'trace events')" "$trace"
