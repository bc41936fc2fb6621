from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "closeloop.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from closeloop.core import checks  # noqa: F401  (registers deploy checks)
