"""`closeloop create_token USERNAME [--name NAME]`: print a new API token for a person.

Only the token goes to stdout, so a script can capture it: TOKEN=$(closeloop create_token ann).
"""

from django.core.management.base import BaseCommand, CommandError

from closeloop.core.errors import DomainError
from closeloop.orgs.models import User
from closeloop.orgs.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a person and print it (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username", help="The person's login name.")
        parser.add_argument(
            "--name", default="command line", help="What the token is for (default: %(default)s)."
        )

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No person with username {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username!r} is deactivated; their tokens would not work.")
        try:
            _token, raw = api_token_create(actor=user, name=name)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
