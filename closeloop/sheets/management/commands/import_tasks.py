"""closeloop import_tasks FILE --department CODE [--dry-run] [--user USERNAME]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from closeloop.core.errors import DomainError
from closeloop.orgs.models import User
from closeloop.sheets.exporting import department_scope
from closeloop.sheets.services import ImportRefused, task_import_apply


class Command(BaseCommand):
    help = (
        "Import a department's 日常任务清单表 (.xlsx or .csv): validate every row, print the preview, "
        "then write all rows or none. Exits non-zero when any row has an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--department", required=True, help="department code, e.g. SALES")
        parser.add_argument("--dry-run", action="store_true", help="validate and preview only")
        parser.add_argument(
            "--user", help="who imports (the actor in the activity log); default: the department head"
        )

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            department = department_scope(opts["department"])
        except DomainError as exc:
            raise CommandError(f"{opts['department']}: {exc.message}") from None
        if opts.get("user"):
            actor = User.objects.filter(username=opts["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active person with username {opts['user']}")
        else:
            actor = department.head
            if actor is None:
                raise CommandError(f"{department.code} has no head; name the importer with --user")
        translation.activate(actor.language or "zh-hans")
        try:
            plan = task_import_apply(
                actor=actor, department=department, path=path, source_name=path.name, dry_run=opts["dry_run"]
            )
        except ImportRefused as exc:
            self._print(exc.plan)
            raise CommandError(exc.message) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self._print(plan)
        if not plan.ok:
            raise CommandError(f"{plan.counts()['error']} rows have errors; nothing imported")
        if opts["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))

    def _print(self, plan):
        counts = plan.counts()
        self.stdout.write(
            f"header row {plan.header_row}: create {counts['create']}, update {counts['update']}, "
            f"unchanged {counts['unchanged']}, error {counts['error']}, ignored {counts['ignored']}"
        )
        for problem in plan.problems:
            self.stdout.write(problem)
        for r in plan.rows:
            if r.action in ("create", "update", "error"):
                diff = "; ".join(f"{k}: {a} → {b}" for k, (a, b) in r.changes.items())
                self.stdout.write(f"  {r.row:>5} {r.action:<9} {r.code or '-':<10} {r.title[:30]}  {diff}")
            for message in r.errors:
                self.stdout.write(f"        ! {message}")
            for message in r.warnings:
                self.stdout.write(f"        ~ {message}")
        for number, why in plan.ignored:
            self.stdout.write(f"  {number:>5} ignored   {why}")
