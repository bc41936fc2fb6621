"""Test clients."""

from django.test import Client

from closeloop.orgs.models import User


def english_client(user: User) -> Client:
    """A client logged in as `user`, reading pages in English: assertions read English, and
    a person's saved language would win over the Accept-Language header, so it is set too."""
    User.objects.filter(pk=user.pk).update(language="en")
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c
