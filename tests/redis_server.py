"""A private redis-server for a test run: its own free port on 127.0.0.1, its own folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

START_S = 10.0
STOP_S = 10.0
PORT_TRIES = 5  # another process may take the free port between the probe and the bind


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server subprocess, restartable on the same port.

    Without `appendonly` nothing is written to disk (a throw-away broker for one test run);
    with it every write is fsynced to an append-only file in `folder`, as in production, so a
    restart keeps the queues.
    """

    def __init__(self, folder: Path, *, appendonly: bool = False) -> None:
        self.folder = folder
        self.appendonly = appendonly
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server, wait for PING; only a first start may move to another port."""
        for _ in range(PORT_TRIES):
            if self._try_start():
                self.started = True
                return
            if self.proc is not None and self.proc.poll() is None:
                self.stop()  # running but silent: no point in another port
                break
            if self.started:
                break  # a restart keeps its port: the clients know that one
            self.port = free_port()  # taken between the probe and the bind: try another
        raise RuntimeError(f"redis-server did not answer on port {self.port}:\n{self._log()}")

    def _try_start(self) -> bool:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
            "--save", "", *(persistence if self.appendonly else ["--appendonly", "no"]),
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + START_S
        try:
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        return False

    def stop(self) -> None:
        """SIGTERM (redis shuts down cleanly: the append-only file is complete), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_S)

    def _log(self) -> str:
        log = self.folder / "redis.log"
        return log.read_text(errors="replace") if log.is_file() else "(no log)"
