"""nameko dependencies of the notification service: the notifier and its transports."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from services.notification.delivery.notifier import Notifier
from services.notification.metrics import SMS_BUDGET
from services.notification.settings import Settings


class Channels(DependencyProvider):
    """Injects the container's Notifier: settings read and transports built at setup, their
    connections opened lazily on first send and shared (pooled) by the container's workers."""

    def setup(self) -> None:
        config = self.container.config
        self.notifier = Notifier(Settings.from_config(config))
        SMS_BUDGET.set(float(config.get("SMS_DAILY_BUDGET_SEGMENTS", 500000)))

    def stop(self) -> None:
        self.notifier.close()

    def kill(self) -> None:
        self.notifier.close()

    def get_dependency(self, worker_ctx: Any) -> Notifier:
        return self.notifier
