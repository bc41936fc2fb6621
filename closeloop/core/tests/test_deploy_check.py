import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from closeloop.testing.factories import UserFactory


def test_check_deploy_fails_while_a_demo_password_is_in_use_outside_demo_mode(db, settings):
    settings.DEMO_MODE = False
    user = UserFactory(username="sales_head")
    user.set_password("closeloop-demo")
    user.save()
    with pytest.raises(SystemCheckError, match="sales_head"):
        call_command("check", "--deploy", "--fail-level", "ERROR")
    user.set_password("a-long-real-passphrase-2026")
    user.save()
    from closeloop.core.checks import demo_password_in_use

    assert demo_password_in_use(None) == []


def test_demo_mode_allows_the_demo_password(db, settings):
    from closeloop.core.checks import demo_password_in_use

    settings.DEMO_MODE = True
    user = UserFactory(username="sales_head")
    user.set_password("closeloop-demo")
    user.save()
    assert demo_password_in_use(None) == []
