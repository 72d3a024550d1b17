"""A fake ranktop collector for tests: a real Unix or TCP socket server that records every line.

It checks each line against protocol v1 (tests.support.protocol), can send control lines to a
rank's connection, and can drop every connection to play a collector that died.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from typing import Callable, Dict, List, Optional

from .protocol import check_event


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.hello: Optional[dict] = None
        self.closed = False
        self.lock = threading.Lock()

    def send(self, message: dict) -> None:
        with self.lock:
            self.sock.sendall((json.dumps(message) + "\n").encode())


class FakeCollector:
    def __init__(self, transport: str = "unix", log_path: Optional[str] = None, path: Optional[str] = None,
                 refuse: bool = False) -> None:
        self.refuse = refuse  # close every connection after its first line, as for a wrong token
        self.events: List[dict] = []
        self.problems: List[str] = []
        self.connections: List[Connection] = []
        self._lock = threading.Lock()
        self._log = open(log_path, "a") if log_path else None
        if transport == "unix":
            path = path or os.path.join(tempfile.mkdtemp(prefix="ranktop-fake-"), "collector.sock")
            self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._server.bind(path)
            self.address = "unix:" + path
        else:
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(("127.0.0.1", 0))
            self.address = "tcp://127.0.0.1:%d" % self._server.getsockname()[1]
        self._server.listen(64)
        self._running = True
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while self._running:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            connection = Connection(sock)
            with self._lock:
                self.connections.append(connection)
            threading.Thread(target=self._read_loop, args=(connection,), daemon=True).start()

    def _read_loop(self, connection: Connection) -> None:
        pending = b""
        while True:
            try:
                chunk = connection.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._accept_line(connection, line)
        connection.closed = True

    def _accept_line(self, connection: Connection, line: bytes) -> None:
        try:
            event = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
        except ValueError as error:
            with self._lock:
                self.problems.append("not JSON: %r (%s)" % (line[:200], error))
            return
        problem = check_event(event)
        if connection.hello is None and event.get("kind") != "hello":
            problem = problem or "a line before hello: %r" % (line[:200],)
        with self._lock:
            if problem:
                self.problems.append(problem)
            if event.get("kind") == "hello":
                connection.hello = event
                if self.refuse:
                    connection.sock.shutdown(socket.SHUT_RDWR)
            self.events.append(event)
            if self._log:
                self._log.write(line.decode("utf-8") + "\n")
                self._log.flush()

    # -- what tests use ---------------------------------------------------------------------------

    def of_kind(self, kind: str, rank: Optional[int] = None) -> List[dict]:
        with self._lock:
            return [e for e in self.events if e.get("kind") == kind and (rank is None or e.get("rank") == rank)]

    def wait_for(self, predicate: Callable[["FakeCollector"], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.01)
        return predicate(self)

    def send(self, rank: int, message: dict) -> None:
        with self._lock:
            targets = [c for c in self.connections if c.hello and c.hello.get("rank") == rank and not c.closed]
        if not targets:
            raise AssertionError("no open connection from rank %d" % rank)
        targets[-1].send(message)

    def drop_connections(self) -> None:
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.sock.close()

    def close(self) -> None:
        self._running = False
        try:
            self._server.close()
        except OSError:
            pass
        self.drop_connections()
        if self._log:
            self._log.close()


def _reject_constant(name: str):
    raise ValueError("%s is not JSON" % name)
