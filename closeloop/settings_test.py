"""Settings for the test suite: the production settings with a throwaway secret and a fast
password hasher. DATABASE_URL still picks SQLite (default) or PostgreSQL."""

import os

os.environ.setdefault("SECRET_KEY", "closeloop-test-secret-key-not-for-production-0123456789")
os.environ.setdefault("SECURE_COOKIES", "0")

from closeloop.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
# Tests may point notifications at local HTTP receivers.
NOTIFY_ALLOW_LOOPBACK = True
