"""Several "hosts" running one app against one PostgreSQL schema, and faults to inject.

:class:`Cluster` makes one network namespace per host (:mod:`tests.support.netns`; on
loopback when namespaces are unavailable), a forwarder from the bridge's gateway to the
loopback-only PostgreSQL (:mod:`tests.support.tcp_forward`), and starts ``stormproof serve
APP`` on each API host and ``stormproof worker APP`` on each worker host. The test drives
load, then :meth:`Cluster.kill` (SIGKILL every process of a host) and :meth:`Cluster.cut`
(the host's network down for N seconds). Leaving the context stops every process and
tears the network down, also on failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.support.netns import Host, Loopback, Network, unavailable
from tests.support.tcp_forward import Forwarder

ROOT = Path(__file__).resolve().parents[2]
API_PORT = 8100  # API host i listens on API_PORT + i (distinct, so loopback mode works too)
ADMIN_TOKEN = "multihost-test-admin-token"


@dataclass
class Layout:
    """What runs where: the app, how many hosts of each kind, and the processes' env
    (``{gateway}`` in a value becomes the address the hosts reach this machine at)."""

    app: str
    apis: int = 2
    workers: int = 3
    concurrency: int = 8
    env: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        """The hosts' names: ``api1``.. then ``worker1``..."""
        apis = [f"api{i}" for i in range(1, self.apis + 1)]
        return apis + [f"worker{i}" for i in range(1, self.workers + 1)]


def via(url: str, host: str, port: int) -> str:
    """``url`` with its host and port replaced (user, database and query kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@{host}:{port}" if user else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class Cluster:
    """The hosts, their processes and the forwarder; a context manager."""

    def __init__(self, layout: Layout, store_url: str, logs: Path) -> None:
        self.layout, self.store_url, self.logs = layout, store_url, logs
        reason = unavailable()
        names = layout.names()
        self.net: Network | Loopback = Loopback(names, reason) if reason else Network(names)
        self.forwarder: Forwarder | None = None
        self.procs: dict[str, list[subprocess.Popen[bytes]]] = {n: [] for n in names}
        self.procs["local"] = []  # processes on this machine (services, load generators)
        self.hosts_store = store_url

    @property
    def mode(self) -> str:
        """``namespaces`` or ``loopback (why)``."""
        return self.net.mode

    def host(self, name: str) -> Host:
        """The host called ``name``."""
        return self.net.hosts[name]

    def __enter__(self) -> Self:
        self.net.__enter__()
        try:
            if isinstance(self.net, Network):
                target = urlsplit(self.store_url)
                pg = (target.hostname or "127.0.0.1", target.port or 5432)
                self.forwarder = Forwarder((self.net.gateway, 0), pg).start()
                self.hosts_store = via(self.store_url, self.net.gateway, self.forwarder.port)
            self._start_all()
        except BaseException:
            self.close()
            raise
        return self

    def _env(self, name: str) -> dict[str, str]:
        extra = {k: v.replace("{gateway}", self.net.gateway) for k, v in self.layout.env.items()}
        return {
            **os.environ,
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            "STORMPROOF_STORE": self.hosts_store,
            "STORMPROOF_ADMIN_TOKEN": ADMIN_TOKEN,
            "MULTIHOST_HOST": name,
            **extra,
        }

    def _spawn(self, name: str, argv: list[str]) -> None:
        host = self.host(name)
        with (self.logs / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                host.command(argv),
                cwd=ROOT,
                env=self._env(name),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs[name].append(proc)
        host.pids.append(proc.pid)

    def local(self, label: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Run ``argv`` on this machine (its output in ``<label>.log``); stopped on exit."""
        with (self.logs / f"{label}.log").open("ab") as log:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=self._env(label), stdout=log, stderr=subprocess.STDOUT
            )
        self.procs["local"].append(proc)
        return proc

    @property
    def gateway(self) -> str:
        """The address the hosts reach this machine at (a local service binds to it)."""
        return self.net.gateway

    def _start_all(self) -> None:
        cli = [sys.executable, "-m", "stormproof"]
        for i in range(1, self.layout.apis + 1):
            name = f"api{i}"
            self._spawn(
                name,
                [
                    *cli,
                    "serve",
                    self.layout.app,
                    "--host",
                    self.host(name).address,
                    "--port",
                    str(API_PORT + i),
                ],
            )
        for i in range(1, self.layout.workers + 1):
            concurrency = str(self.layout.concurrency)
            argv = [*cli, "worker", self.layout.app, "--concurrency", concurrency]
            self._spawn(f"worker{i}", [*argv, "--log-level", "WARNING"])

    def api_urls(self) -> list[str]:
        """The API hosts' base URLs, as the load generator reaches them."""
        return [
            f"http://{self.host(f'api{i}').address}:{API_PORT + i}"
            for i in range(1, self.layout.apis + 1)
        ]

    def wait_ready(self, timeout: float = 60) -> float:
        """Wait until every API answers ``/openapi.json``; the seconds it took."""
        started = time.monotonic()
        for url in self.api_urls():
            while True:
                self._check_alive()
                try:
                    if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{url} not ready after {timeout} s: {self.tail()}")
                time.sleep(0.2)
        return time.monotonic() - started

    def _check_alive(self) -> None:
        for name, procs in self.procs.items():
            for proc in procs if name != "local" else []:
                if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: {self.tail(name)}")

    def tail(self, name: str | None = None, chars: int = 3000) -> str:
        """The end of one host's log (or every host's)."""
        names = [name] if name else sorted(p.stem for p in self.logs.glob("*.log"))
        texts = []
        for n in names:
            path = self.logs / f"{n}.log"
            text = path.read_text(errors="replace")[-chars:] if path.exists() else ""
            texts.append(f"--- {n}\n{text}")
        return "\n".join(texts)

    def kill(self, name: str) -> None:
        """SIGKILL every process of host ``name`` (no clean-up runs on it)."""
        for proc in self.procs[name]:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def cut(self, name: str, seconds: float) -> threading.Thread:
        """Cut host ``name``'s network for ``seconds`` (in the background)."""
        return self.net.cut(self.host(name), seconds)

    def close(self) -> None:
        """SIGTERM every process (SIGKILL after 15 s), stop the forwarder, tear down."""
        procs = [p for ps in self.procs.values() for p in ps if p.poll() is None]
        for p in procs:
            p.send_signal(signal.SIGCONT)  # a frozen host (loopback cut) must hear SIGTERM
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.forwarder is not None:
            self.forwarder.stop()
        self.net.__exit__(None, None, None)

    def __exit__(self, *exc: object) -> None:
        self.close()
