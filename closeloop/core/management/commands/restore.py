from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from closeloop.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Replace the database's contents with a backup made by `closeloop backup`, then check "
        "every table's row count and checksum against the backup's manifest. Stop the web "
        "server and the worker first."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup file (its .manifest.json must be beside it).")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask: everything in the database now is replaced."
        )

    def handle(self, *args, **options):
        if not options["yes"]:
            if not options.get("interactive", True):
                raise CommandError("Restoring replaces everything in the database: add --yes.")
            answer = input("Everything in the database now will be replaced. Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing was restored.")
        try:
            manifest = restore(Path(options["path"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"Restored {len(manifest['tables'])} tables, {rows} rows; row counts and checksums match."
        )
