"""`nameko run`, started through `shared` so eventlet's deprecation banner is filtered first.

Usage: python -m shared.nameko_run run --config services/registration/config.yml \
           services.registration.service
(the same arguments as the `nameko` command; `make run`'s Procfile starts the services so)
"""

import sys

import shared  # noqa: F401 - installs the warnings filter before nameko imports eventlet

if __name__ == "__main__":
    from nameko.cli.main import main

    sys.exit(main())
