"""IP addresses and CIDR blocks (IPv4 and IPv6), with event-ruler's validation messages."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.patterns.cidr import exact_ip, parse_cidr, parse_ip
from stormproof.errors import InvalidPattern


@pytest.mark.parametrize(
    ("block", "inside", "outside"),
    [
        ("10.0.0.0/24", ["10.0.0.0", "10.0.0.255", "10.0.0.17"], ["10.0.1.0", "9.255.255.255"]),
        ("10.0.0.0/8", ["10.255.1.2"], ["11.0.0.0"]),
        ("0.0.0.0/0", ["0.0.0.0", "255.255.255.255"], ["::1"]),
        (
            "2001:db8:1234:1a00::/64",
            ["2001:0db8:1234:1a00:0000:0000:0000:0000", "2001:db8:1234:1a00:ffff::1"],
            ["2001:0db8:123f:1a01:0000:0000:0000:0000", "10.0.0.1"],
        ),
        # event-ruler keeps the host bits of the base address: the range starts at it.
        ("10.0.0.5/24", ["10.0.0.5", "10.0.0.255"], ["10.0.0.4", "10.0.0.0"]),
    ],
)
def test_contains(block: str, inside: list[str], outside: list[str]) -> None:
    parsed = parse_cidr(block)
    assert all(parsed.contains(ip) for ip in inside)
    assert not any(parsed.contains(ip) for ip in outside)


@pytest.mark.parametrize("value", ["10.0.0.256", "10.0.0", "host.example.com", "", 167772161, None])
def test_non_addresses_never_match(value: object) -> None:
    assert not parse_cidr("0.0.0.0/0").contains(value)


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ("bad-filter", "Malformed CIDR, one '/' required"),
        ("10.0.0.0/", "Malformed CIDR, one '/' required"),
        ("10.0.0.0/8/8", "Malformed CIDR, one '/' required"),
        ("bad-/64filter", "Malformed CIDR, mask bits must be an integer"),
        ("10.0.0.0/ 8", "Malformed CIDR, mask bits must be an integer"),
        ("10.0.0.0/99999999999", "Malformed CIDR, mask bits must be an integer"),
        ("10.0.0.0/-1", "Malformed CIDR, mask bits must not be negative"),
        ("xx.11.xx/8", "Nonstandard IP address: xx.11.xx"),
        ("xxxx:db8:1234:1a00::/64", "Nonstandard IP address: xxxx:db8:1234:1a00::"),
        ("10.0.0.300/8", "Invalid IP address: 10.0.0.300"),
        ("1:2:3:4:5:6:7:8:9/64", "Invalid IP address: 1:2:3:4:5:6:7:8:9"),
        ("10.0.0.0/32", "IPv4 mask bits must be < 32"),
        ("::/128", "IPv6 mask bits must be < 128"),
    ],
)
def test_invalid_blocks(block: str, reason: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        parse_cidr(block)
    assert caught.value.reason == reason


def test_exact_ip_is_an_address_comparison() -> None:
    single = exact_ip("2001:db8::1")
    assert single is not None
    assert single.contains("2001:0db8:0000:0000:0000:0000:0000:0001")
    assert exact_ip("not-an-ip") is None


def as_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Plain hex groups for IPv6: newer Pythons print IPv4-mapped addresses with dots."""
    if address.version == 4:
        return str(address)
    number = int(address)
    return ":".join(f"{(number >> shift) & 0xFFFF:x}" for shift in range(112, -1, -16))


@given(st.ip_addresses(), st.integers(min_value=0, max_value=127))
def test_agrees_with_ipaddress(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, bits: int
) -> None:
    bits = min(bits, address.max_prefixlen - 1)
    network = ipaddress.ip_network(f"{address}/{bits}", strict=False)
    block = parse_cidr(f"{as_text(network.network_address)}/{bits}")
    assert block.contains(as_text(address))
    assert parse_ip(as_text(address)) == (address.version, int(address))
