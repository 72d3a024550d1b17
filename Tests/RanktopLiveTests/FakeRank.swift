import RanktopTestSupport
/// A stand-in rank in Python that speaks protocol v1 by hand: for the launcher and collector
/// paths that need no real collective (the Swift runtime's demo covers those).
enum FakeRank {
    static let script = #"""
import json, os, socket, sys, time
address = os.environ["RANKTOP_ADDR"]
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
if address.startswith("unix:"):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(address[len("unix:"):])
else:
    host, port = address[len("tcp://"):].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
seq = 0
def emit(kind, **fields):
    global seq
    event = {"kind": kind, "rank": rank, "ts": time.time(), "seq": seq}
    event.update(fields)
    seq += 1
    sock.sendall((json.dumps(event) + "\n").encode())
emit("hello", v=1, run=os.environ.get("RANKTOP_RUN", "?"), world=world, local_rank=int(os.environ["LOCAL_RANK"]),
     local_world=int(os.environ["LOCAL_WORLD_SIZE"]), node="fake", pid=os.getpid(), runtime="fake",
     master=os.environ["MASTER_ADDR"] + ":" + os.environ["MASTER_PORT"])
steps = int(sys.argv[1])
for step in range(1, steps + 1):
    time.sleep(0.02)
    emit("progress", step=step, total=steps)
    emit("barrier.enter", n=step - 1, name="sync")
    emit("barrier.exit", n=step - 1)
if os.environ.get("FAIL_RANK") == str(rank):
    sys.exit(3)
emit("bye", code=0)
"""#
}
