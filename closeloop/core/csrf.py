"""The CSRF token's mask drawn in a few Python calls (issue 16, item 1).

Every page with a form (the layout has two: the language switch and log out) asks Django for
a CSRF token, and Django masks the cookie's secret afresh each time (BREACH): 32 characters
drawn one `secrets.choice` at a time, then combined one generator step at a time — ~480
Python calls, a tenth of a signed-in page that shows nothing else. `mask_cipher_secret` gives
the same token (a uniformly random mask of CSRF_ALLOWED_CHARS from the operating system's
randomness, then the secret shifted by it, mask + cipher, 64 characters) in ~10 calls; Django
checks it as before (`_unmask_cipher_token`). `install()` (core's AppConfig.ready) puts it in
place of Django's `_mask_cipher_secret`, which `get_token` calls; nothing else changes.
"""

import os

from django.middleware import csrf

_CHARS = csrf.CSRF_ALLOWED_CHARS
_N = len(_CHARS)  # 62
_INDEX = {c: i for i, c in enumerate(_CHARS)}
# Bytes below this map evenly onto the characters (248 = 4 × 62); the others are dropped, so
# every character of the mask is equally likely, as with secrets.choice.
_EVEN = 256 - 256 % _N
_LENGTH = csrf.CSRF_SECRET_LENGTH


def mask_cipher_secret(secret: str) -> str:
    """`secret` (CSRF_SECRET_LENGTH characters of CSRF_ALLOWED_CHARS) masked as Django's
    `_mask_cipher_secret` masks it: a random mask, then each secret character shifted by the
    mask's (mod 62); mask + cipher. KeyError for a character outside CSRF_ALLOWED_CHARS
    (Django's raises ValueError; its middleware only passes secrets it has checked)."""
    picks = [b % _N for b in os.urandom(2 * _LENGTH) if b < _EVEN]
    while len(picks) < _LENGTH:  # ~1 in 10^15 for 64 bytes: more bytes
        picks += [b % _N for b in os.urandom(_LENGTH) if b < _EVEN]
    del picks[_LENGTH:]
    chars, index = _CHARS, _INDEX
    return "".join([chars[m] for m in picks]) + "".join(
        [chars[(index[s] + m) % _N] for s, m in zip(secret, picks, strict=False)]
    )


def install() -> None:
    """Use `mask_cipher_secret` for Django's CSRF tokens (once; idempotent)."""
    csrf._mask_cipher_secret = mask_cipher_secret
