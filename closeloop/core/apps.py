from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "closeloop.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import request_started

        from closeloop.core import checks  # noqa: F401  (registers deploy checks)
        from closeloop.core.pgfast import check_health_without_round_trip

        # After Django's close_old_connections (connected when django.db is imported).
        request_started.connect(check_health_without_round_trip, dispatch_uid="closeloop.pgfast.health")
