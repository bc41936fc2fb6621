from django.urls import reverse

from closeloop.notify.demo import DEMO_ERROR, seed_demo
from closeloop.notify.models import Channel, Delivery, Notification
from closeloop.testing.factories import UserFactory


def test_it_seeds_a_failed_channel_once_and_invents_no_notification(client, sales, head, member, admin_user):
    UserFactory(username="sales_specialist")
    seed_demo()
    seed_demo()
    # The bell's notifications come from the real services as the demo's steps run; made-up
    # ones said a task accepted a week before was just sent back (a tester's report).
    assert not Notification.objects.exclude(recipient=admin_user).exists()
    assert Notification.objects.filter(recipient=admin_user, kind="channel.disabled").count() == 1
    channel = Channel.objects.get()
    assert not channel.enabled and channel.last_error == DEMO_ERROR
    assert Delivery.objects.filter(state="failed", last_error=DEMO_ERROR).count() == 1
    client.force_login(admin_user)
    html = client.get(reverse("admin:notify_channel_changelist")).content.decode()
    assert "93000" in html and "693a91f6" not in html
    client.force_login(admin_user)
    assert "data-unread" in client.get(reverse("notify:list")).content.decode()
