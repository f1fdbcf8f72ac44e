"""A TCP forwarder a test can cut: the way to make the broker unreachable for one process only.

The real RabbitMQ keeps running for every other test; the code under test connects through
this proxy, and `cut()` kills the proxy's own process, so every connection through it drops
at once and new ones are refused. (A separate process, because the test process is
monkey-patched by eventlet and closing a socket another green thread reads is not clean.)
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading

from tests.support.processes import ROOT, free_port, port_open
from tests.support.waiting import wait_for


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` until cut.

    Give the `port` of a proxy that was cut to bring the connection back where it was.
    """

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.tcp_proxy", str(self.port)]
            + [target_host, str(target_port)],
            cwd=ROOT,
        )
        wait_for(lambda: port_open(self.port), timeout=10, what="the TCP proxy")

    def cut(self) -> None:
        """Refuse new connections and drop the current ones."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        source.close()
        sink.close()


def serve(port: int, target: tuple[str, int]) -> None:
    """Accept on `port` and forward each connection to `target` (runs until killed)."""
    listener = socket.create_server(("127.0.0.1", port))
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target, timeout=5)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    serve(int(sys.argv[1]), (sys.argv[2], int(sys.argv[3])))
