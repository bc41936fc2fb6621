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
        # The bell's unread count is read with the signed-in person (one query, issue 16).
        from closeloop.orgs.request_person import register_extra

        register_extra("notify.unread", selectors.unread_count_sql(), selectors.remember_unread_count)
