from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImSigninConfig(AppConfig):
    name = "closeloop.imsignin"
    label = "imsignin"
    verbose_name = _("Sign-in through WeCom, DingTalk and Feishu")
