"""Email through Django's SMTP settings: text + HTML, in the recipient's language and zone."""

import smtplib

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from closeloop.notify.transports import Message, TransportError


def validate(channel) -> dict[str, list[str]]:
    return {}


def budgets(channel, message):
    return [(f"ch{channel.pk}", 1, 20)]


def send(channel, message: Message) -> str:
    if not message.recipient or not message.recipient.email:
        raise TransportError(_("The person has no email address."), rejected=True)
    with translation.override(message.language):
        context = {"message": message}
        text = render_to_string("notify/email.txt", context)
        html = render_to_string("notify/email.html", context)
    mail = EmailMultiAlternatives(subject=message.title[:200], body=text, to=[message.recipient.email])
    mail.attach_alternative(html, "text/html")
    mail.extra_headers["X-Closeloop-Delivery"] = str(message.delivery_id)
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError(
            _("The mail server refused the recipient: %(error)s") % {"error": exc}, rejected=True
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise TransportError(
            _("The mail server refused the login: %(error)s") % {"error": exc}, permanent=True
        ) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransportError(_("Mail error: %(error)s") % {"error": exc}) from None
    return ""
