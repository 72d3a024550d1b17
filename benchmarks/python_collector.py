"""What a user would write instead of ranktop's collector: an asyncio Unix-socket server that
checks each line is a JSON object and appends it to a file. For docs/benchmarks.md only.

    python3 benchmarks/python_collector.py /tmp/py.sock /tmp/py.jsonl 2000064 &
    .build/release/ranktop-live-bench ingest --external /tmp/py.sock
"""
import asyncio
import json
import os
import sys
import time

path, log_path, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
state = {"lines": 0, "start": None}


async def handle(reader, writer, log):
    while True:
        line = await reader.readline()
        if not line:
            break
        if state["start"] is None:
            state["start"] = time.perf_counter()
        try:
            if isinstance(json.loads(line), dict):
                log.write(line)
                state["lines"] += 1
        except ValueError:
            pass
        if state["lines"] == expected:
            elapsed = time.perf_counter() - state["start"]
            print("python asyncio collector: %d lines in %.3f s = %.0f events/s" % (expected, elapsed, expected / elapsed), flush=True)
            os._exit(0)


async def main():
    if os.path.exists(path):
        os.unlink(path)
    with open(log_path, "wb", buffering=1 << 20) as log:
        server = await asyncio.start_unix_server(lambda r, w: handle(r, w, log), path=path, limit=1 << 17)
        async with server:
            await server.serve_forever()


asyncio.run(main())
