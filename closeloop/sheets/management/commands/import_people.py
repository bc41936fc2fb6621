"""closeloop import_people FILE [--dry-run] [--user ADMIN]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from closeloop.core.errors import DomainError
from closeloop.orgs.models import User
from closeloop.sheets.people import PeopleImportRefused, people_import_apply


class Command(BaseCommand):
    help = (
        "Import people and their departments (.xlsx or .csv): all rows or none; non-zero exit on any error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--user", help="the administrator who imports; default: the first superuser")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        admins = User.objects.filter(is_superuser=True, is_active=True).order_by("pk")
        actor = admins.filter(username=opts["user"]).first() if opts.get("user") else admins.first()
        if actor is None:
            raise CommandError("No active administrator to import as (see --user)")
        translation.activate(actor.language or "zh-hans")
        try:
            plan = people_import_apply(actor=actor, path=path, dry_run=opts["dry_run"])
        except PeopleImportRefused as exc:
            self._print(exc.plan)
            raise CommandError(exc.message) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self._print(plan)
        if not plan.ok:
            raise CommandError(f"{plan.counts()['error']} rows have errors; nothing imported")
        self.stdout.write("Dry run: nothing was written." if opts["dry_run"] else "Imported.")

    def _print(self, plan):
        c = plan.counts()
        self.stdout.write(
            f"create {c['create']}, update {c['update']}, unchanged {c['unchanged']}, "
            f"error {c['error']}, ignored {c['ignored']}"
        )
        for message in plan.errors():
            self.stdout.write(f"  ! {message}")
