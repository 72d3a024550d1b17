"""RANKTOP_ADDR parsing: the same three address forms the Swift side accepts (see docs/protocol.md)."""

from __future__ import annotations

import re
from typing import NamedTuple

_SHM_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}\Z")


class Address(NamedTuple):
    scheme: str  # "unix", "tcp" or "shm"
    path: str = ""  # unix socket path
    host: str = ""
    port: int = 0
    name: str = ""  # shared-memory segment name

    def __str__(self) -> str:
        if self.scheme == "unix":
            return "unix:" + self.path
        if self.scheme == "tcp":
            host = "[%s]" % self.host if ":" in self.host else self.host
            return "tcp://%s:%d" % (host, self.port)
        return "shm://" + self.name


class AddressError(ValueError):
    pass


def parse_address(text: str) -> Address:
    """Parses `unix:/abs/path`, `unix:///abs/path`, `tcp://host:port` or `shm://name`."""
    if text.startswith("unix:"):
        path = text[len("unix:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path.startswith("/"):
            raise AddressError("%r: a unix address needs an absolute path, e.g. unix:/tmp/ranktop.sock" % text)
        return Address("unix", path=path)
    if text.startswith("tcp://"):
        rest = text[len("tcp://"):]
        host, sep, port_text = rest.rpartition(":")
        if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise AddressError("%r: a tcp address needs a host and a port, e.g. tcp://127.0.0.1:29600" % text)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            raise AddressError("%r: a tcp address needs a host, e.g. tcp://127.0.0.1:29600" % text)
        return Address("tcp", host=host, port=int(port_text))
    if text.startswith("shm://"):
        name = text[len("shm://"):]
        if not _SHM_NAME.match(name) or name in (".", ".."):
            raise AddressError("%r: a shared-memory address needs a name of 1 to 100 characters of "
                               "A-Z a-z 0-9 . _ - other than . and .. (or auto: the run id), e.g. shm://run42" % text)
        return Address("shm", name=name)
    raise AddressError("%r is not an address: use unix:/path.sock, tcp://host:port or shm://name" % text)
