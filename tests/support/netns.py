"""Network namespaces as "hosts" for the multi-host test: one bridge, one veth pair each.

The test makes a private subnet of its own (``10.231.7.0/24`` unless
``STORMPROOF_TEST_SUBNET`` names another ``a.b.c`` prefix): a bridge on the host holds the
gateway address ``.1`` and one veth pair per host joins it, the host's end inside its
namespace holding ``.2``, ``.3``... So the hosts reach each other and the gateway, and the
gateway (this machine's own namespace) reaches them; nothing routes beyond the bridge.

Everything carries the prefix ``spmh``: :func:`sweep` removes what a killed run left
behind, and :class:`Network` always tears down what it made, also on failure. Runs on one
machine take turns (a lock file), so one run's sweep never removes another's hosts.

Without namespaces (not Linux, not root, or ``ip netns add`` refused) :func:`unavailable`
says why, and :class:`Loopback` runs the same hosts on 127.0.0.1, cutting a host's
"network" by freezing its processes (SIGSTOP/SIGCONT) instead.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

PREFIX = "spmh"
BRIDGE = f"{PREFIX}-br"
INNER = "mh0"
LOCK = "/tmp/stormproof-multihost.lock"  # the interface's name inside each namespace
_SUBNET_RE = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


@dataclass
class Host:
    """One host: its namespace (None on loopback), address and the processes it runs."""

    name: str
    address: str
    netns: str | None = None
    pids: list[int] = field(default_factory=list)

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside this host's namespace (``ip netns exec`` execs it, so the
        process's pid is the command's own)."""
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=10)


def unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None when they can
    (``STORMPROOF_TEST_NETNS=0`` forces the loopback fallback)."""
    if os.environ.get("STORMPROOF_TEST_NETNS") == "0":
        return "STORMPROOF_TEST_NETNS=0"
    if not sys.platform.startswith("linux"):
        return f"not Linux ({sys.platform})"
    if os.geteuid() != 0:
        return "not root (ip netns needs CAP_SYS_ADMIN)"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = f"{PREFIX}-probe"
    made = _ip("netns", "add", probe, check=False)
    _ip("netns", "del", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` refused: {made.stderr.strip()}"
    return None


def sweep() -> list[str]:
    """Remove every namespace and link with our prefix (a killed run's leftovers)."""
    removed = []
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            _ip("netns", "del", name, check=False)
            removed.append(name)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(PREFIX):
            _ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def subnet() -> str:
    """The ``a.b.c`` prefix of the private /24 the test makes."""
    value = os.environ.get("STORMPROOF_TEST_SUBNET", "10.231.7")
    match = _SUBNET_RE.fullmatch(value)
    if not match or not all(0 <= int(p) <= 255 for p in match.groups()):
        raise ValueError(f"STORMPROOF_TEST_SUBNET must be a.b.c (0-255 each), got {value!r}")
    in_use = _ip("-4", "-o", "addr", "show", check=False).stdout
    if re.search(rf"inet {re.escape(value)}\.", in_use):
        raise ValueError(f"STORMPROOF_TEST_SUBNET={value!r}: that /24 is already in use here")
    return value


class Network:
    """Namespaced hosts on a private bridge; a context manager that always tears down."""

    def __init__(self, names: list[str]) -> None:
        if not 1 <= len(names) <= 200:
            raise ValueError(f"names: {len(names)} hosts, allowed 1-200")
        self.names = names
        self.prefix = subnet()
        self.gateway = f"{self.prefix}.1"
        self.hosts: dict[str, Host] = {}
        self.mode = "namespaces"
        self._lock: IO[str] | None = None

    def __enter__(self) -> Network:
        self._lock = open(LOCK, "w")  # held until close
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # another run on this machine finishes first
        sweep()
        try:
            _ip("link", "add", BRIDGE, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/24", "dev", BRIDGE)
            _ip("link", "set", BRIDGE, "up")
            for i, name in enumerate(self.names, start=2):
                self.hosts[name] = self._add(name, f"{self.prefix}.{i}")
        except BaseException:
            self.close()
            raise
        return self

    def _add(self, name: str, address: str) -> Host:
        netns = link = f"{PREFIX}-{name}"[:15]
        _ip("netns", "add", netns)
        _ip("link", "add", link, "type", "veth", "peer", "name", INNER, "netns", netns)
        _ip("link", "set", link, "master", BRIDGE, "up")
        inside = ("netns", "exec", netns, "ip")
        _ip(*inside, "addr", "add", f"{address}/24", "dev", INNER)
        _ip(*inside, "link", "set", INNER, "up")
        _ip(*inside, "link", "set", "lo", "up")
        return Host(name, address, netns)

    def down(self, host: Host) -> None:
        """Cut ``host`` off: its interface goes down (packets to and from it are lost;
        TCP connections survive a short cut and resume when it comes back)."""
        _ip("netns", "exec", str(host.netns), "ip", "link", "set", INNER, "down")

    def up(self, host: Host) -> None:
        """Reconnect ``host`` (its subnet route comes back with the interface)."""
        _ip("netns", "exec", str(host.netns), "ip", "link", "set", INNER, "up")

    def cut(self, host: Host, seconds: float) -> threading.Thread:
        """Cut ``host`` for ``seconds`` in the background; join the thread to wait."""
        return _for_a_while(lambda: self.down(host), lambda: self.up(host), seconds)

    def close(self) -> None:
        """Remove every namespace, link and the bridge (idempotent), then let the next run."""
        sweep()
        self.hosts.clear()
        if self._lock is not None:
            self._lock.close()  # closing releases the lock
            self._lock = None

    def __exit__(self, *exc: object) -> None:
        self.close()


class Loopback:
    """The same hosts on 127.0.0.1 when namespaces are unavailable; a cut freezes the
    host's processes (SIGSTOP, then SIGCONT), which looks like a partition to the rest."""

    def __init__(self, names: list[str], reason: str) -> None:
        self.names = names
        self.reason = reason
        self.gateway = "127.0.0.1"
        self.hosts = {name: Host(name, "127.0.0.1") for name in names}
        self.mode = f"loopback ({reason})"

    def __enter__(self) -> Loopback:
        return self

    def cut(self, host: Host, seconds: float) -> threading.Thread:
        """Freeze ``host``'s processes for ``seconds`` in the background."""
        return _for_a_while(
            lambda: _signal(host.pids, signal.SIGSTOP),
            lambda: _signal(host.pids, signal.SIGCONT),
            seconds,
        )

    def __exit__(self, *exc: object) -> None:
        pass


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _for_a_while(
    start: Callable[[], None], end: Callable[[], None], seconds: float
) -> threading.Thread:
    if not 0 < seconds <= 60:
        raise ValueError(f"seconds: {seconds}, allowed 0-60 (exclusive of 0)")
    done = threading.Event()

    def run() -> None:
        start()
        try:
            done.wait(seconds)
        finally:
            end()

    thread = threading.Thread(target=run, name="network-cut", daemon=True)
    thread.start()
    return thread
