#!/usr/bin/env bash
# Benchmark: decode + reduce throughput and peak memory of `ranktop report` (release build) on
# generated logs, side by side with `jq -c . > /dev/null` and a Python json.loads loop over the
# same file. Usage: scripts/bench/report.sh [EVENTS...]   (default: 1000000 4000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000)
swift build -c release --product ranktop >/dev/null
bin="$(swift build -c release --show-bin-path)/ranktop"
dir="${TMPDIR:-/tmp}/ranktop-bench"
mkdir -p "$dir"
measure() { # label command... -> "label: S s, RSS KB"
    local label="$1"; shift
    /usr/bin/time -f "%e %U %M" -o "$dir/time.txt" "$@" > /dev/null
    read -r elapsed user rss < "$dir/time.txt"
    printf "%-28s %8.2f s wall %8.2f s user %9d KB peak RSS\n" "$label" "$elapsed" "$user" "$rss"
}
for n in "${sizes[@]}"; do
    log="$dir/log-$n.jsonl"
    [ -f "$log" ] || python3 scripts/bench/make_log.py "$n" "$log" >/dev/null
    bytes=$(stat -c %s "$log")
    echo "== $n events, $((bytes / 1048576)) MiB"
    for i in 1 2 3; do measure "ranktop report --json" "$bin" report "$log" --json; done
    if [ "$n" -le 1000000 ]; then
        measure "jq -c ." jq -c . "$log"
        measure "python json.loads loop" python3 -c 'import json,sys
for line in open(sys.argv[1],"rb"): json.loads(line)' "$log"
    fi
done
