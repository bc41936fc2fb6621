"""closeloop export_sheet TEMPLATE --department CODE -o FILE [--user USERNAME]"""

import shutil

from django.core.management.base import BaseCommand, CommandError

from closeloop.core.errors import DomainError
from closeloop.orgs.models import User
from closeloop.sheets.exporting import REGISTRY, Scope, department_scope, template_for, write_workbook


class Command(BaseCommand):
    help = (
        "Export one of the handbook's templates (task-list, progress, collaboration, retrospective) as .xlsx."
    )

    def add_arguments(self, parser):
        parser.add_argument("template", help=", ".join(REGISTRY))
        parser.add_argument("--department", required=True, help="department code, e.g. SALES")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        parser.add_argument("--user", help="whose view to export; default: the department head")

    def handle(self, *args, **opts):
        try:
            template = template_for(opts["template"])
            department = department_scope(opts["department"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if opts.get("user"):
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active person with username {opts['user']}")
        else:
            user = department.head
            if user is None:
                raise CommandError(f"{department.code} has no head; name whose view to export with --user")
        with (
            write_workbook(template, Scope(user=user, department=department)) as tmp,
            open(opts["output"], "wb") as out,
        ):
            shutil.copyfileobj(tmp, out)
        self.stdout.write(self.style.SUCCESS(f"Wrote {opts['output']}"))
