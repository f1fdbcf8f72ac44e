"""A nameko timer whose interval comes from the service's config."""

from __future__ import annotations

from typing import Any

from nameko.timer import Timer


class ConfigTimer(Timer):
    """nameko's timer, with its interval read from the config at setup (`key`, in seconds)."""

    def __init__(self, key: str, default: float, **kwargs: Any) -> None:
        self.key, self.default = key, default
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        self.interval = float(self.container.config.get(self.key, self.default))
