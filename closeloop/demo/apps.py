from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data set. Like the URL conf, it stands above every app and composes them."""

    name = "closeloop.demo"
    label = "demo"
    verbose_name = "Demo data"
