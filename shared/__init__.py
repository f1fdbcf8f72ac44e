"""Contracts and plumbing shared by the Tuyensinh services and the gateway.

Importing it silences eventlet's deprecation banner (nameko 2.14 is built on eventlet, a fixed
choice of this project), so that a clean start prints no banner in every process. It must run
before eventlet is imported: the gateway's gunicorn config, the CLIs and `shared.nameko_run`
(the services' launcher) import `shared` first.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)
