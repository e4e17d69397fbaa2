"""IP addresses and the ``cidr`` operator (IPv4 and IPv6).

Follows aws/event-ruler's ``CIDR`` class: text is only treated as an address when it looks
like one (four dot-separated runs of digits, or hex digits and colons with at least one
colon), so host names are never resolved. The range of ``a.b.c.d/n`` runs from the address
as written to that address with its host bits set: event-ruler does not clear the host bits
of the base address, and neither do we. Masks of 32 (IPv4) and 128 (IPv6) are rejected, as
event-ruler rejects them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from stormproof.errors import InvalidPattern

_HEX_AND_COLON = frozenset("0123456789abcdefABCDEF:")
_INT_MAX = 2**31 - 1  # Java's Integer.parseInt limit, which decides the error message


@dataclass(frozen=True, slots=True)
class IpRange:
    """Addresses of one IP ``version`` from ``low`` to ``high`` inclusive."""

    version: int
    low: int
    high: int

    def contains(self, value: object) -> bool:
        """Whether ``value`` is a string holding an address inside the range."""
        if not isinstance(value, str):
            return False
        parsed = parse_ip(value)
        return (
            parsed is not None and parsed[0] == self.version and self.low <= parsed[1] <= self.high
        )


def _looks_like_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(part.isascii() and part.isdigit() for part in parts)


def _looks_like_ipv6(text: str) -> bool:
    return ":" in text and all(char in _HEX_AND_COLON for char in text)


def parse_ip(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` for an IP address literal, or ``None`` if ``text`` is not one."""
    if _looks_like_ipv4(text):
        octets = [int(part) for part in text.split(".")]
        if any(octet > 255 for octet in octets):
            return None
        return 4, int.from_bytes(bytes(octets), "big")
    if _looks_like_ipv6(text):
        try:
            return 6, int(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    return None


def _parse_base(text: str) -> tuple[int, int]:
    """Parse the address part of a CIDR block with event-ruler's error messages."""
    if not (_looks_like_ipv4(text) or _looks_like_ipv6(text)):
        raise InvalidPattern(f"Nonstandard IP address: {text}")
    parsed = parse_ip(text)
    if parsed is None:
        raise InvalidPattern(f"Invalid IP address: {text}")
    return parsed


def _parse_mask(text: str) -> int:
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not (digits.isascii() and digits.isdigit()) or int(digits) > _INT_MAX:
        raise InvalidPattern("Malformed CIDR, mask bits must be an integer")
    return -int(digits) if text[0] == "-" else int(digits)


def parse_cidr(text: str) -> IpRange:
    """Parse ``address/bits`` into an :class:`IpRange`, raising ``InvalidPattern`` if bad."""
    parts = text.split("/")
    while parts and not parts[-1]:
        parts.pop()  # Java's String.split drops trailing empty strings
    if len(parts) != 2:
        raise InvalidPattern("Malformed CIDR, one '/' required")
    bits = _parse_mask(parts[1])
    if bits < 0:
        raise InvalidPattern("Malformed CIDR, mask bits must not be negative")
    version, base = _parse_base(parts[0])
    width = 32 if version == 4 else 128
    if bits >= width:
        raise InvalidPattern(f"IPv{version} mask bits must be < {width}")
    return IpRange(version, base, base | ((1 << (width - bits)) - 1))


def exact_ip(text: str) -> IpRange | None:
    """A one-address range when ``text`` is an IP literal (event-ruler matches those as IPs)."""
    parsed = parse_ip(text)
    if parsed is None:
        return None
    return IpRange(parsed[0], parsed[1], parsed[1])
