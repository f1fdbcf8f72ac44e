"""Load a `config.yml` with nameko's `${VAR:default}` substitution, outside `nameko run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEVELOPMENT_SECRET = "development-only-secret-change-me"


class InsecureConfiguration(RuntimeError):
    """A default secret was left in place outside development."""


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file, expanding `${VAR:default}` exactly as `nameko run` does."""
    # nameko registers its env-var resolver on yaml.SafeLoader; reuse it so that the
    # gateway, the CLIs and the services read one config syntax the same way.
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    with open(path, encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} must hold a mapping")
    refuse_default_secrets(loaded)
    return loaded


def refuse_default_secrets(config: dict[str, Any]) -> None:
    """Outside development, a secret still at its shipped default stops start-up."""
    if config.get("ENVIRONMENT", "development") == "development":
        return
    for key, value in config.items():
        if key.endswith("SECRET") and value == DEVELOPMENT_SECRET:
            raise InsecureConfiguration(f"{key} still has its development default")
