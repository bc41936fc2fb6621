from django import template

from closeloop.notify.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def notify_unread(context) -> int:
    """The signed-in person's unread count: one COUNT on the inbox index."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return unread_count(user) if user is not None else 0
