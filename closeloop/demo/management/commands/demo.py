from django.core.management.base import BaseCommand

from closeloop.demo.loader import load


class Command(BaseCommand):
    help = "Load the demo departments, people and handbook tasks (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Only when the database has no departments yet."
        )

    def handle(self, *args, **options):
        created = load(if_empty=options["if_empty"])
        if created:
            self.stdout.write(
                self.style.SUCCESS("Demo data loaded (password for every demo login: closeloop-demo).")
            )
        else:
            self.stdout.write("Demo data already present; nothing changed.")
