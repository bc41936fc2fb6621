from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from closeloop.core.backup import BackupError, backup, manifest_path


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite: online backup API; PostgreSQL: pg_dump) to a file, with "
        "a manifest of row counts and checksums beside it. Safe while Closeloop runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-o",
            "--output",
            default=None,
            help="The backup file (default: var/backups/closeloop-YYYYmmdd-HHMMSS.db or .dump).",
        )

    def handle(self, *args, **options):
        output = options["output"]
        if not output:
            from django.db import connection

            suffix = "sqlite3" if connection.vendor == "sqlite" else "dump"
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            output = Path(settings.VAR_DIR) / "backups" / f"closeloop-{stamp}.{suffix}"
        try:
            manifest = backup(Path(output))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"Backed up {len(manifest['tables'])} tables, {rows} rows to {output} "
            f"(manifest: {manifest_path(Path(output)).name})"
        )
