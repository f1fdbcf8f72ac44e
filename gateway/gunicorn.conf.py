"""gunicorn settings for the gateway: gevent workers, bound and sized from gateway/config.yml.

Metrics: each worker is a process of its own, so prometheus_client runs in multiprocess
mode. The master makes a fresh directory for the workers' sample files before any worker
imports prometheus_client, and drops a dead worker's live gauges when it exits.
"""

import os
import shutil
import tempfile

from gunicorn.glogging import Logger

from shared.config import load_config

_config = load_config("gateway/config.yml")

bind = _config["BIND"]
workers = int(_config["WORKERS"])
worker_class = "gevent"
worker_connections = int(_config["WORKER_CONNECTIONS"])
# An idle keep-alive connection is kept longer than HAProxy keeps its idle connections to a
# replica (it reuses them for other clients' requests), so HAProxy always closes first. With
# gunicorn's default of 2 s, a request HAProxy sent on a connection the replica was closing
# got no answer, and HAProxy then closed the client's connection without one ("the client
# may retry"): a submission's sender could not tell whether it was saved. Reproduced with a
# hello app behind HAProxy, 40 clients pausing ~2 s between requests: 36 of 480 lost their
# answer with 2 s, none with 75 s. Scenario 13 counted such connection errors under load.
keepalive = int(_config["KEEPALIVE_SECONDS"])
graceful_timeout = 10
# The app writes one JSON access line per request (with route, status, duration and the
# correlation ID); gunicorn's own lines are JSON too. Paths hold references only.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "gateway.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}


class AppWritesTheAccessLine(Logger):
    """gunicorn's logger without gunicorn's access line. With `logconfig_dict` set, gunicorn
    built that line (its atoms and format) for every request, then dropped it: no handler
    takes `gunicorn.access`. The app writes its own line (gateway.hooks); building the
    other was ~1.6 % of a worker's CPU under P1 (py-spy)."""

    def access(self, resp, req, environ, request_time):
        """Nothing: the app's JSON line is the access log."""


logger_class = AppWritesTheAccessLine

_metrics_dir = tempfile.mkdtemp(prefix="tuyensinh-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def child_exit(server, worker):
    """A worker ended: its live gauges (backlog depth) no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server):
    """The master stops: the samples directory goes with it."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
