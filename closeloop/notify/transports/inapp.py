"""In-app: the Notification row written by `notify()` is the delivery; it shows in the bell at
once. This module keeps the transport registry uniform (nothing to send, no budget)."""


def validate(channel) -> dict[str, list[str]]:
    return {}


def budgets(channel, message):
    return []


def send(channel, message) -> str:
    return ""
