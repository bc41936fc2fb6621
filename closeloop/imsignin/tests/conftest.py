import pytest
from django.utils import translation

from closeloop.imsignin import services
from closeloop.imsignin.tests.fakes import FakeDingTalk, FakeFeishu, FakeWeCom
from closeloop.testing.factories import UserFactory


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def site(settings):
    settings.SITE_URL = "http://testserver"
    settings.NOTIFY_HTTP_TIMEOUT = 2.0
    return settings


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_superuser=True, is_staff=True)


def _start(fake_cls, settings, names):
    fake = fake_cls().start()
    for name in names:
        setattr(settings, name, fake.base)
    return fake


@pytest.fixture
def wecom(site, admin_user):
    fake = _start(
        FakeWeCom, site, ["NOTIFY_WECOM_API_BASE", "IMSIGNIN_WECOM_OPEN_BASE", "IMSIGNIN_WECOM_LOGIN_BASE"]
    )
    fake.redirect_uri = "http://testserver/im/wecom/callback/"
    services.setup_save(
        actor=admin_user,
        platform_key="wecom",
        enabled=True,
        allow_mobile_lookup=False,
        credentials={"corp_id": fake.corp_id, "agent_id": fake.agent_id},
        secret=fake.secret,
    )
    yield fake
    fake.stop()


@pytest.fixture
def dingtalk(site, admin_user):
    fake = _start(
        FakeDingTalk,
        site,
        ["NOTIFY_DINGTALK_API_BASE", "IMSIGNIN_DINGTALK_LOGIN_BASE", "IMSIGNIN_DINGTALK_API_BASE"],
    )
    fake.redirect_uri = "http://testserver/im/dingtalk/callback/"
    services.setup_save(
        actor=admin_user,
        platform_key="dingtalk",
        enabled=True,
        allow_mobile_lookup=False,
        credentials={"app_key": fake.app_key, "agent_id": fake.agent_id, "corp_id": "ding-corp"},
        secret=fake.secret,
    )
    yield fake
    fake.stop()


@pytest.fixture
def feishu(site, admin_user):
    fake = _start(FakeFeishu, site, ["NOTIFY_FEISHU_API_BASE", "IMSIGNIN_FEISHU_ACCOUNTS_BASE"])
    fake.redirect_uri = "http://testserver/im/feishu/callback/"
    services.setup_save(
        actor=admin_user,
        platform_key="feishu",
        enabled=True,
        allow_mobile_lookup=False,
        credentials={"app_id": fake.app_id},
        secret=fake.secret,
    )
    yield fake
    fake.stop()
