from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "closeloop.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from closeloop.core.jobs import register_periodic, register_queue
        from closeloop.core.status import register_status_warning
        from closeloop.notify import outbox, selectors

        register_status_warning(selectors.held_status_warnings)
        register_status_warning(selectors.account_mail_warnings)
        register_queue("notify.deliveries", fn=outbox.drain)
        register_periodic("notify.cleanup", every=3600, fn=outbox.cleanup)
