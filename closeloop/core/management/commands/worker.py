from django.core.management.base import BaseCommand
from django.utils import timezone

from closeloop.core.worker import Worker


class Command(BaseCommand):
    help = "Run a Closeloop worker: periodic jobs (reminders, escalations, overdue marks) and deliveries."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Run every job and drain queues once, then exit."
        )
        parser.add_argument(
            "--id", dest="worker_id", default=None, help="Worker id shown on the status page."
        )

    def handle(self, *args, **options):
        worker = Worker(worker_id=options["worker_id"])
        if options["once"]:
            n = worker.tick(timezone.now(), force_periodic=True)
            self.stdout.write(f"processed {n} item(s)")
            return
        worker.install_signal_handlers()
        worker.run_forever()
