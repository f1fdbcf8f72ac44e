"""gunicorn settings for the gateway: gevent workers, bound and sized from gateway/config.yml."""

from shared.config import load_config

_config = load_config("gateway/config.yml")

bind = _config["BIND"]
workers = int(_config["WORKERS"])
worker_class = "gevent"
worker_connections = int(_config["WORKER_CONNECTIONS"])
graceful_timeout = 10
accesslog = "-"
# The access log holds paths, not bodies: references only, never a child's data.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
