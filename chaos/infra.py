"""A private PostgreSQL cluster and a private RabbitMQ node, started by the harness itself.

The chaos scenarios restart the broker and the database server; they may only ever touch
processes they started, so each run gets its own node and cluster, on free ports, in a
scratch directory, and stops or restarts them by the PIDs it recorded. Neither shares
anything with the machine's own PostgreSQL or RabbitMQ (nor with other people's tests).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg2
import requests

from shared.db.migrate import upgrade
from tests.support.processes import free_port, port_open

PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
RABBIT_SERVER = Path(os.environ.get("CHAOS_RABBIT_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server"))
AUTH = ("guest", "guest")


def _wait(ready: object, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up in {timeout:.0f} s")
        time.sleep(0.3)


class PrivatePostgres:
    """One PostgreSQL cluster in `root`, on a free port; restartable by its postmaster PID.

    PostgreSQL refuses to run as root: when we are root the cluster belongs to `postgres`
    and its commands run through `runuser`.
    """

    def __init__(self, max_connections: int = 400) -> None:
        # Its own directory (not under a root-only scratch dir: the server runs as postgres).
        self.root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.max_connections = max_connections
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
        # service -> database name, when the cluster came with its databases ready (clone_of)
        self.prepared: dict[str, str] = {}
        self.loaded = False  # its databases hold the demo city already

    @classmethod
    def clone_of(cls, golden: PrivatePostgres) -> PrivatePostgres:
        """A new cluster, started, that is a file copy of `golden` (stopped) on a port of its
        own: its databases come migrated and loaded, which saves every scenario the minute
        of importing the demo city. `create_database` then hands out those databases."""
        clone = cls(golden.max_connections)
        shutil.rmtree(clone.root)
        subprocess.run(["cp", "-a", str(golden.root), str(clone.root)], check=True)
        (clone.data / "postmaster.pid").unlink(missing_ok=True)
        with open(clone.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            # The last setting wins: the copy listens on its own port and socket directory.
            conf.write(f"port = {clone.port}\nunix_socket_directories = '{clone.root}'\n")
        clone.prepared, clone.loaded = dict(golden.prepared), True
        clone.start()
        return clone

    def shut_down(self) -> None:
        """Stop cleanly, keeping the cluster's files (a golden copy for `clone_of`)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, cwd=self.root)

    def init(self) -> PrivatePostgres:
        """initdb and start."""
        if self._as:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\nmax_connections = {self.max_connections}\n"
            "fsync = on\nshared_buffers = 128MB\n"
        )
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(settings)
        self.start()
        return self

    def start(self) -> None:
        """Start the postmaster and wait until it takes connections."""
        log = str(self.root / "postgres.log")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "start")
        _wait(lambda: port_open(self.port), "PostgreSQL", 60)

    @property
    def pid(self) -> int:
        """The postmaster's PID, as it recorded it."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash: the server recovers from its WAL on restart)."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        # Its backends notice the postmaster is gone and exit; wait for the port to free up.
        deadline = time.monotonic() + 30
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self, down: float = 2.0) -> None:
        """Crash the server, stay down `down` seconds, start it again."""
        self.kill()
        time.sleep(down)
        for _ in range(20):  # backends of the crashed postmaster may still hold shared memory
            try:
                self.start()
                return
            except subprocess.CalledProcessError:
                time.sleep(1)
        self.start()

    def admin_uri(self, database: str = "postgres") -> str:
        """A superuser URI."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, service: str) -> str:
        """A new database migrated to head for `service` (on a clone: the one it came with)."""
        if service in self.prepared:
            return self.admin_uri(self.prepared.pop(service))
        name = f"chaos_{service}_{uuid.uuid4().hex[:8]}"
        connection = psycopg2.connect(self.admin_uri(), connect_timeout=5)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        uri = self.admin_uri(name)
        upgrade(service, uri)
        return uri

    def stop(self) -> None:
        """Stop fast and remove the cluster."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRabbit:
    """One RabbitMQ node (with the management plugin) in `root`, on free ports, with its own
    node name and Erlang cookie; restartable by the PID of the process we started."""

    def __init__(
        self,
        root: Path,
        *,
        node: str | None = None,
        ports: tuple[int, int, int] | None = None,
        cookie: str | None = None,
        extra_conf: str = "",
        vhost: str = "chaos",
    ) -> None:
        """`ports`: AMQP, management, distribution (default: free ones). A cluster's nodes
        share one `cookie` and name each other in `extra_conf` (peer discovery)."""
        self.root = root
        self.port, self.management_port, self.dist_port = ports or (
            free_port(),
            free_port(),
            free_port(),
        )
        self.node = node or f"chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.cookie, self.extra_conf = cookie or uuid.uuid4().hex.upper(), extra_conf
        self.process: subprocess.Popen[bytes] | None = None
        self.vhost = vhost

    @property
    def management(self) -> str:
        """The management API's base URL."""
        return f"http://127.0.0.1:{self.management_port}"

    @property
    def amqp_uri(self) -> str:
        """The URI of the run's vhost."""
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/{self.vhost}"

    def init(self, vhost: bool = True) -> PrivateRabbit:
        """Write the node's config, start it, create the vhost (unless told not to)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.port = {self.management_port}\nmanagement.tcp.ip = 127.0.0.1\n"
            "loopback_users = none\n" + self.extra_conf
        )
        (self.root / "enabled_plugins").write_text("[rabbitmq_management].\n")
        cookie = self.root / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        self.start()
        if vhost:
            self.create_vhost()
        return self

    def create_vhost(self) -> None:
        """The run's vhost, with every permission for guest. On a cluster the API answers
        once every node made the vhost: on a busy 2-core machine that took over 10 s."""
        requests.put(f"{self.management}/api/vhosts/{self.vhost}", auth=AUTH, timeout=60)
        requests.put(
            f"{self.management}/api/permissions/{self.vhost}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=AUTH,
            timeout=60,
        ).raise_for_status()
        return self

    def start(self) -> None:
        """Start the node in the foreground (as our child) and wait for AMQP and the API."""
        self.spawn()
        self.wait_ready()

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until the node takes AMQP connections and answers its management API."""
        _wait(self._ready, f"RabbitMQ {self.node}", timeout)

    def spawn(self) -> None:
        """Start the node's process without waiting (a restarted cluster's nodes wait for
        each other, so they must all be started before any is ready)."""
        env = {
            **os.environ,
            "HOME": str(self.root),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
        }
        log = open(self.root / "rabbitmq.out", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [str(RABBIT_SERVER)],
            env=env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"RabbitMQ exited; see {self.root / 'rabbitmq.out'}")
        if not port_open(self.port):
            return False
        try:
            answer = requests.get(f"{self.management}/api/overview", auth=AUTH, timeout=2)
        except requests.RequestException:
            return False
        return answer.status_code == 200

    def kill(self) -> None:
        """SIGKILL the node's process group (the one we started) and wait for it."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None

    def restart(self, down: float = 2.0) -> None:
        """Crash the node, stay down `down` seconds, start it again."""
        self.kill()
        time.sleep(down)
        self.start()

    def queue_depths(self) -> dict[str, int]:
        """Messages (ready + unacked) per queue of the vhost."""
        vhost = quote(self.vhost, safe="")
        answer = requests.get(f"{self.management}/api/queues/{vhost}", auth=AUTH, timeout=10)
        answer.raise_for_status()
        return {queue["name"]: int(queue.get("messages", 0)) for queue in answer.json()}

    def stop(self) -> None:
        """Kill the node and remove its files."""
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
