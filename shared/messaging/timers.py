"""The one timer of the services: nameko's, with its interval read from the config."""

from __future__ import annotations

from typing import Any

from nameko.timer import Timer


class ConfigTimer(Timer):
    """nameko's timer, its interval read at setup from `key` (seconds), else `default`."""

    def __init__(self, key: str, default: float, **kwargs: Any) -> None:
        self.key, self.default = key, default
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        self.interval = float(self.container.config.get(self.key, self.default))


def timer(config_key: str, default_seconds: float) -> Any:
    """Decorate a method run every `config_key` seconds (from the config; else the default)."""
    return ConfigTimer.decorator(config_key, default_seconds)
