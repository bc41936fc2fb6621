"""Login abuse (issue 11, item 4): failed logins are throttled per account and per address by
django-axes, at most 10 in a row; the session key changes at login."""

from django.conf import settings
from django.test import Client

from closeloop.testing.factories import UserFactory

PASSWORD = "pw-closeloop-1"


def _client(ip="10.1.1.1", lang="en"):
    return Client(REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=lang)


def _login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_ten_failed_logins_in_a_row_pause_the_account_with_a_clear_message(member):
    c = _client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(c, member.username, "wrong").status_code == 200
    response = _login(c, member.username, "wrong")
    assert response.status_code == 429
    assert "10 failed logins in a row" in response.content.decode()
    # Even the right password, even from another address, waits now.
    response = _login(_client("10.9.9.9"), member.username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in c.session


def test_the_pause_is_explained_in_chinese(member):
    c = _client(lang="zh-hans")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _login(c, member.username, "wrong")
    assert response.status_code == 429
    assert "连续 10 次登录失败" in response.content.decode()
    assert "15 分钟" in response.content.decode()


def test_ten_failures_from_one_address_pause_that_address_for_every_account(db):
    people = [UserFactory(username=f"u{i}", password=PASSWORD) for i in range(11)]
    attacker = _client("10.6.6.6")
    for p in people[:10]:
        _login(attacker, p.username, "guess")
    assert _login(attacker, people[10].username, PASSWORD).status_code == 429
    # The same account from another address is fine: only the address was paused.
    assert _login(_client("10.7.7.7"), people[10].username, PASSWORD).status_code == 302


def test_a_successful_login_clears_the_count(member):
    c = _client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(c, member.username, "wrong")
    assert _login(c, member.username, PASSWORD).status_code == 302
    c2 = _client("10.2.2.2")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(c2, member.username, "wrong").status_code == 200
    assert _login(c2, member.username, PASSWORD).status_code == 302


def test_the_session_key_changes_at_login(member):
    c = _client()
    session = c.session
    session["seen_before_login"] = True
    session.save()
    c.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key
    assert _login(c, member.username, PASSWORD).status_code == 302
    after = c.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=before).exists()  # a fixed session is worthless


class DownMailServer:
    """An email backend whose server does not answer."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        import smtplib

        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_password_reset_mail_that_cannot_be_sent_is_retried_and_shown_to_the_admin(
    member, admin_user, settings, mailoutbox
):
    import datetime as dt

    from django.utils import timezone

    from closeloop.notify import outbox
    from closeloop.notify.models import Delivery, DeliveryState
    from closeloop.testing.clients import english_client

    settings.EMAIL_BACKEND = "closeloop.orgs.tests.test_login_security.DownMailServer"
    response = _client().post("/password/reset/", {"email": member.email})
    assert response.status_code == 302  # the visitor sees "check your email" as always
    d = Delivery.objects.get(kind="account.password_reset")
    assert d.recipient == member and d.state == DeliveryState.QUEUED
    assert "Connection unexpectedly closed" in d.last_error
    status = english_client(admin_user).get("/admin/status/").content.decode()
    assert "1 password-reset mail(s) could not be sent yet" in status

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    outbox.drain(timezone.now() + dt.timedelta(minutes=5), "w1", 10)
    d.refresh_from_db()
    assert d.state == DeliveryState.SENT
    (mail,) = mailoutbox
    assert mail.to == [member.email]
    link = next(line for line in mail.body.splitlines() if "/password/reset/" in line)
    path = link.split("testserver", 1)[1].strip()
    c = _client()
    response = c.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = c.post(form_url, {"new_password1": "Reset-Secret-9876", "new_password2": "Reset-Secret-9876"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("Reset-Secret-9876")
