"""The CSRF token's mask (core.csrf, issue 16): Django's tokens as Django checks them — 64
characters of CSRF_ALLOWED_CHARS that unmask to the cookie's secret, a fresh mask each time —
and a form posted with the page's token is accepted, one with a forged token refused."""

import re
from collections import Counter

from django.middleware import csrf as django_csrf
from django.test import Client

from closeloop.core import csrf


def test_django_masks_with_it():
    assert django_csrf._mask_cipher_secret is csrf.mask_cipher_secret


def test_a_token_unmasks_to_the_secret_and_each_mask_is_new():
    secret = django_csrf._get_new_csrf_string()
    tokens = [csrf.mask_cipher_secret(secret) for _ in range(500)]
    for token in tokens:
        assert len(token) == django_csrf.CSRF_TOKEN_LENGTH
        assert set(token) <= set(django_csrf.CSRF_ALLOWED_CHARS)
        assert django_csrf._unmask_cipher_token(token) == secret
    assert len(set(tokens)) == len(tokens)
    # Uniform masks: a byte taken modulo 62 without dropping 248–255 would draw the first 8
    # characters 5/4 as often (~1,250 of 64,000 draws each instead of ~1,032).
    masks = "".join(csrf.mask_cipher_secret(secret)[: django_csrf.CSRF_SECRET_LENGTH] for _ in range(2000))
    seen = Counter(masks)
    assert set(seen) == set(django_csrf.CSRF_ALLOWED_CHARS)
    first = sum(seen[c] for c in django_csrf.CSRF_ALLOWED_CHARS[:8]) / 8
    rest = sum(seen[c] for c in django_csrf.CSRF_ALLOWED_CHARS[8:]) / 54
    assert abs(first - rest) < 100, (first, rest)


def test_the_login_form_posts_with_the_pages_token_and_not_without(member):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    assert django_csrf._unmask_cipher_token(token) == client.cookies["csrftoken"].value
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    refused = client.post(
        "/login/", {"csrfmiddlewaretoken": forged, "username": member.username, "password": "x"}
    )
    assert refused.status_code == 403
    answered = client.post(
        "/login/", {"csrfmiddlewaretoken": token, "username": member.username, "password": "x"}
    )
    assert answered.status_code == 200  # the form again (wrong password), past the CSRF check
