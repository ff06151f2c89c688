"""A real 3-master Redis Cluster on free loopback ports, from the redis-server binary the suite already uses."""

from __future__ import annotations

import random
import secrets
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.redis_server import find_redis_server

MASTERS = 3
# Run a module's tests on one redis-server and on a Redis Cluster (the `redis_backend` fixture in conftest.py).
ON_BOTH_BACKENDS = pytest.mark.parametrize("redis_backend", ["single", "cluster"], indirect=True)
BUS_OFFSET = 10_000  # a node also listens on its port + 10000 for the cluster bus (redis 6.2 cannot move it)


@dataclass
class LocalCluster:
    """Three `redis-server --cluster-enabled yes` processes joined by `redis-cli --cluster create`."""

    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    directory: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> LocalCluster:
        """Start the cluster for a `with` block."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop it when the block ends."""
        self.stop()

    @property
    def url(self) -> str:
        """A redis+cluster:// URL naming one node (the client discovers the others)."""
        return f"redis+cluster://:{self.password}@127.0.0.1:{self.ports[0]}/0"

    @property
    def node_url(self) -> str:
        """A plain redis:// URL of the first node (for REDIS_CLUSTER=true)."""
        return f"redis://:{self.password}@127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the nodes, assign the slots, and wait until every node reports cluster_state:ok."""
        self.directory = tempfile.TemporaryDirectory(prefix="axd-cluster-")
        server = find_redis_server()
        for _ in range(MASTERS):
            port = _free_node_port()
            self.ports.append(port)
            args = _node_args(server, port, self.password, Path(self.directory.name))
            self.processes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.ports:
            self._wait(port, "PONG", ["PING"], timeout)
        cli = str(Path(server).with_name("redis-cli"))
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        create = ["--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(
            [cli, "-a", self.password, "--no-auth-warning", *create],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )
        for port in self.ports:
            self._wait(port, "cluster_state:ok", ["CLUSTER", "INFO"], timeout)

    def _wait(self, port: int, expected: str, command: list[str], timeout: float) -> None:
        """Ask one node `command` until its answer contains `expected`."""
        cli = str(Path(find_redis_server()).with_name("redis-cli"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = subprocess.run(
                [cli, "-p", str(port), "-a", self.password, "--no-auth-warning", *command],
                capture_output=True,
                text=True,
                check=False,
            )
            if expected in answer.stdout:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"cluster node {port} did not answer {expected} within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop every node and remove their files."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.directory is not None:
            self.directory.cleanup()


def _node_args(server: str, port: int, password: str, directory: Path) -> list[str]:
    """The command line of one cluster node: loopback only, no persistence, its own nodes file."""
    return [
        server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--requirepass",
        password,
        "--masterauth",
        password,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        str(directory / f"nodes-{port}.conf"),
        "--dir",
        str(directory),
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
    ]


def _bindable(port: int) -> bool:
    """True when nothing listens on this loopback port right now."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_node_port() -> int:
    """A free port whose cluster-bus port (10000 higher) is free too."""
    while True:
        port = random.randint(20_000, 65_535 - BUS_OFFSET)
        if _bindable(port) and _bindable(port + BUS_OFFSET):
            return port
