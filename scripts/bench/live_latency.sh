#!/usr/bin/env bash
# Event to screen through a real emitter: `ranktop serve`, 8 flood ranks (`ranktop-live-bench
# flood-rank`, the Swift emitter) at 125 events/s each over TRANSPORT (unix or shm), and
# `ranktop attach` in tmux recording how old each frame's oldest new event was
# (RANKTOP_DASHBOARD_STATS). Prints p50 / p99 / max in ms. (scripts/bench-dashboard measures the
# same with raw socket lines, no emitter.)
#
#   swift build -c release --product ranktop --product ranktop-live-bench
#   scripts/bench/live_latency.sh [BIN_DIR=.build/release] [TRANSPORT=unix] [SECONDS=20]
set -euo pipefail
BIN_DIR=${1:-.build/release}; T=${2:-unix}; SECS=${3:-20}
dir=$(mktemp -d); name="lat-$$"
listen=(--listen "unix:$dir/s.sock"); addr="unix:$dir/s.sock"
[ "$T" = shm ] && { listen+=(--listen "shm://$name"); addr="shm://$name"; }
"$BIN_DIR/ranktop" serve "${listen[@]}" --log "$dir/run.jsonl" >"$dir/serve.out" 2>&1 & sp=$!
for _ in $(seq 100); do [ -S "$dir/s.sock" ] && break; sleep 0.1; done
tm=(tmux -L "lat-$$" -f /dev/null)
"${tm[@]}" new-session -d -s b -x 200 -y 50 "env TERM=xterm-256color LANG=C.UTF-8 RANKTOP_DASHBOARD_STATS=$dir/stats.json $BIN_DIR/ranktop attach unix:$dir/s.sock"
# The dashboard first, then the ranks: a frame that draws history from before the dashboard
# connected would measure the dashboard's start, not the pipeline.
sleep 1
for r in $(seq 0 7); do RANK=$r WORLD_SIZE=8 RANKTOP_RUN=lat RANKTOP_ADDR="$addr" "$BIN_DIR/ranktop-live-bench" flood-rank --seconds $((SECS + 8)) --rate 125 >/dev/null 2>&1 & done
sleep "$SECS"; "${tm[@]}" send-keys -t b q
for _ in $(seq 50); do [ -s "$dir/stats.json" ] && break; sleep 0.2; done
python3 -c "
import json,sys; s=json.load(open('$dir/stats.json')); print('event to screen over $T: p50 %.0f ms, p99 %.0f ms, max %.0f ms' % (s['event_to_screen_ms_p50'], s['event_to_screen_ms_p99'], s['event_to_screen_ms_max']))"
"${tm[@]}" kill-server 2>/dev/null || true; kill $sp 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir" "/dev/shm/ranktop-$name"
