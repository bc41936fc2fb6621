from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def demo_password_in_use(app_configs, **kwargs):
    """`check --deploy` fails while any active account still has the demo password outside demo mode."""
    if settings.DEMO_MODE:
        return []
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    User = get_user_model()
    try:
        users = list(User.objects.filter(is_active=True).only("username", "password"))
    except DatabaseError:
        return []
    weak = [u.username for u in users if u.check_password(settings.DEMO_PASSWORD)]
    if not weak:
        return []
    return [
        Error(
            "Demo password in use outside demo mode for: " + ", ".join(sorted(weak)[:20]),
            hint="Change these passwords (closeloop changepassword USERNAME) or deactivate the accounts.",
            id="closeloop.E001",
        )
    ]
