import pytest

from ranktop._address import AddressError, parse_address
from ranktop._transport import TransportUnsupported, transport_for


def test_unix_addresses_with_one_or_three_slashes_name_the_same_path():
    assert parse_address("unix:/tmp/r.sock").path == "/tmp/r.sock"
    assert parse_address("unix:///tmp/r.sock").path == "/tmp/r.sock"


def test_tcp_addresses_give_host_and_port_including_bracketed_ipv6():
    address = parse_address("tcp://127.0.0.1:29600")
    assert (address.scheme, address.host, address.port) == ("tcp", "127.0.0.1", 29600)
    assert parse_address("tcp://[::1]:5").host == "::1"
    assert str(parse_address("tcp://[::1]:5")) == "tcp://[::1]:5"


@pytest.mark.parametrize("text", ["unix:relative.sock", "tcp://host", "tcp://:80", "tcp://h:99999", "shm://", "http://x", ""])
def test_malformed_addresses_are_refused_with_an_example(text):
    with pytest.raises(AddressError) as error:
        parse_address(text)
    assert "e.g." in str(error.value) or "use unix:" in str(error.value)


def test_shared_memory_parses_and_is_not_a_socket_transport():
    address = parse_address("shm://run42")
    assert address.name == "run42" and str(address) == "shm://run42"
    assert parse_address("shm://auto").name == "auto"
    with pytest.raises(TransportUnsupported):
        transport_for(address)  # the adapter writes it with _shm.SharedMemoryEmitter (test_shm.py)
