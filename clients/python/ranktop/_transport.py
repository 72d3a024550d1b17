"""Transports: how encoded event lines leave the process and control lines come back.

The socket emitter only knows `Transport.connect()` and the `Connection` it returns. Shared memory
(`shm://`) is not a transport of it: `_shm.SharedMemoryEmitter` writes the segment from the
training thread itself, with no queue or writer thread (`_wiring` picks it by the address).
"""

from __future__ import annotations

import socket
import struct
from typing import Iterator

from ._address import Address

MAX_LINE_BYTES = 65_536
# A collector that takes longer than this to accept our bytes is treated as gone: we reconnect
# rather than let the writer thread hang on it forever.
SEND_TIMEOUT_SECONDS = 10


class TransportUnsupported(Exception):
    """The address names a transport this adapter does not implement."""


class Connection:
    """One open stream to a collector. `send` and `lines` run on different threads."""

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def lines(self) -> Iterator[bytes]:
        """Control lines (without newline) until the collector closes the stream."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Transport:
    def connect(self, timeout: float) -> Connection:
        raise NotImplementedError


class SocketConnection(Connection):
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def lines(self) -> Iterator[bytes]:
        pending = b""
        skipping = False  # inside an over-long line: drop bytes up to its newline
        while True:
            try:
                chunk = self._sock.recv(65_536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            while True:
                newline = pending.find(b"\n")
                if newline < 0:
                    if len(pending) > MAX_LINE_BYTES:
                        pending = b""
                        skipping = True
                    break
                line, pending = pending[:newline], pending[newline + 1:]
                if skipping:
                    skipping = False
                    continue
                if line.strip():
                    yield line

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass


class SocketTransport(Transport):
    def __init__(self, address: Address) -> None:
        self.address = address

    def __str__(self) -> str:
        return str(self.address)

    def connect(self, timeout: float) -> Connection:
        if self.address.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(self.address.path)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.address.host, self.address.port), timeout=timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        sock.settimeout(None)
        try:
            # Bounds a send to a collector that stopped reading; recv stays fully blocking.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT_SECONDS, 0))
        except (OSError, struct.error):
            pass
        return SocketConnection(sock)


def transport_for(address: Address) -> Transport:
    if address.scheme in ("unix", "tcp"):
        return SocketTransport(address)
    raise TransportUnsupported(
        "%s: shared memory is not a socket transport (the adapter writes it with _shm.SharedMemoryEmitter)" % (address,)
    )
