#!/usr/bin/env bash
# CPU of the collector and the live view at a steady event rate (issue 10: under 2% of a core
# together at 1,000 events/s). `ranktop serve` on a Unix socket, `ranktop attach` in a tmux
# terminal (the dashboard at its default 10 frames a second), RANKS flood ranks emitting
# RATE/RANKS events a second each through the real emitter; CPU from /proc over SECONDS.
#
#   swift build -c release --product ranktop --product ranktop-live-bench
#   scripts/bench/live_cpu.sh [BIN_DIR=.build/release] [RATE=1000] [RANKS=8] [SECONDS=20]
#
# TRANSPORT=shm: the ranks write shared-memory rings (shm://NAME) that serve reads; the live view
# still attaches over the Unix socket. NO_VIEWER=1: no live view.
set -euo pipefail
BIN_DIR="${1:-.build/release}"
RATE="${2:-1000}"
RANKS="${3:-8}"
SECONDS_MEASURED="${4:-20}"
dir="$(mktemp -d)"
server="ranktop-cpu-$$"
cleanup() {
    tmux -L "$server" kill-server 2>/dev/null || true
    [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$dir"
    rm -f "/dev/shm/ranktop-cpu-$$"
}
trap cleanup EXIT
# CPU in nanoseconds, every thread's schedstat summed: /proc/PID/stat counts 10 ms ticks, too
# coarse for a 2% target over 15 s (one tick is 0.07%).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{sum += $1} END {print sum}'; }

rank_addr="unix:$dir/s.sock"
listen=(--listen "unix:$dir/s.sock")
if [ "${TRANSPORT:-unix}" = shm ]; then
    rank_addr="shm://cpu-$$"
    listen+=(--listen "$rank_addr")
fi
"$BIN_DIR/ranktop" serve "${listen[@]}" --log "$dir/run.jsonl" >"$dir/serve.out" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do [ -S "$dir/s.sock" ] && break; sleep 0.1; done
if [ -z "${NO_VIEWER:-}" ]; then tmux -L "$server" -f /dev/null new-session -d -s cpu -x 160 -y 45 "env TERM=xterm-256color $BIN_DIR/ranktop attach unix:$dir/s.sock"
attach_pid=""; fi
for _ in $(seq 1 100); do
    [ -n "${NO_VIEWER:-}" ] && { attach_pid=$$; break; }
    attach_pid=$(pgrep -f "ranktop attach unix:$dir/s.sock" | head -1 || true)
    [ -n "$attach_pid" ] && break
    sleep 0.1
done
[ -n "$attach_pid" ] || { echo "the live view did not start"; exit 1; }

per_rank=$((RATE / RANKS))
for r in $(seq 0 $((RANKS - 1))); do
    RANK=$r WORLD_SIZE=$RANKS RANKTOP_RUN=cpu RANKTOP_ADDR="$rank_addr" \
        "$BIN_DIR/ranktop-live-bench" flood-rank --seconds $((SECONDS_MEASURED + 6)) --rate "$per_rank" >"$dir/rank-$r.out" &
done
sleep 3   # connections made, the first frames drawn
s0=$(cpu_ns "$serve_pid"); a0=$(cpu_ns "$attach_pid"); e0=$(wc -l <"$dir/run.jsonl")
sleep "$SECONDS_MEASURED"
s1=$(cpu_ns "$serve_pid"); a1=$(cpu_ns "$attach_pid"); e1=$(wc -l <"$dir/run.jsonl")
wait $(jobs -p | grep -v "^$serve_pid$") 2>/dev/null || true
python3 - "$s0" "$s1" "$a0" "$a1" "$e0" "$e1" "$SECONDS_MEASURED" <<'PY'
import sys
s0, s1, a0, a1, e0, e1, secs = map(float, sys.argv[1:])
events = (e1 - e0) / secs
serve = (s1 - s0) / 1e9 / secs * 100
attach = (a1 - a0) / 1e9 / secs * 100
print(f"events/s logged: {events:.0f}")
print(f"collector (serve): {serve:.2f}% of a core")
print(f"live view (attach): {attach:.2f}% of a core")
print(f"together: {serve + attach:.2f}% of a core")
PY
