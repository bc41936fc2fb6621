import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
application = get_wsgi_application()

# Long-lived objects out of Python's full collections once the process is warm (issue 16:
# a full collection was ~100 ms, the p95 of the heaviest pages). GC_FREEZE_AFTER=0: never.
from django.conf import settings  # noqa: E402

from closeloop.core.gcfreeze import freeze_after  # noqa: E402

freeze_after(settings.GC_FREEZE_AFTER)
