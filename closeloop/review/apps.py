from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "closeloop.review"
    label = "review"
    verbose_name = _("Acceptance and retrospectives")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from closeloop.notify.kinds import KINDS, Kind, register_kind
        from closeloop.review import checks, extensions, jobs  # noqa: F401  (checks registers)

        jobs.register()
        extensions.register()
        post_migrate.connect(_repair_search_index, sender=self)
        for kind in (
            Kind(
                "review.retrospective_shared",
                _("%(by)s wrote the retrospective of %(code)s %(title)s"),
                "%(note)s",
                group=True,
                action=_("Read the lessons"),
                label=_("A retrospective is written"),
            ),
            Kind(
                "review.retrospective_due",
                _("Write the retrospective of %(code)s %(title)s"),
                personal=True,
                action=_("Write the retrospective"),
                label=_("A retrospective is due from you"),
            ),
            Kind(
                "review.criteria_consent",
                _("%(by)s agreed to change the acceptance criteria of %(code)s %(title)s"),
                "%(note)s",
                personal=True,
                action=_("Open the task"),
                label=_("A change of frozen acceptance criteria is agreed"),
            ),
        ):
            if kind.name not in KINDS:
                register_kind(kind)


def _repair_search_index(sender, using="default", **kwargs) -> None:
    from django.db import connections

    from closeloop.review.search import install

    install(connections[using])
