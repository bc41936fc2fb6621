"""What the login page (in `orgs`) asks of IM sign-in, through `settings.LOGIN_EXTENSIONS`:

- `auto_redirect(request, next_url)` — inside an IM app's own browser (recognised by its user
  agent) whose platform is configured: the address that starts that platform's OAuth, so a
  message link signs the person in with no password form in between; otherwise None;
- `buttons(request, next_url)` — the configured platforms' buttons for a normal browser.

`orgs` imports none of this: the settings name it by dotted path."""

import re
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from closeloop.imsignin.services import configured_platforms, safe_next

# Order matters: Feishu's and DingTalk's in-app browsers may also mention other engines.
_USER_AGENTS = [
    ("wecom", re.compile(r"wxwork/", re.IGNORECASE)),
    ("dingtalk", re.compile(r"DingTalk", re.IGNORECASE)),
    ("feishu", re.compile(r"Lark|Feishu", re.IGNORECASE)),
]


def platform_of_user_agent(user_agent: str) -> str:
    """ "wecom", "dingtalk", "feishu" for those apps' in-app browsers, else ""."""
    for key, pattern in _USER_AGENTS:
        if pattern.search(user_agent or ""):
            return key
    return ""


def start_url(platform_key: str, next_url: str, *, mode: str = "") -> str:
    query = {"next": safe_next(next_url)}
    if mode:
        query["mode"] = mode
    return reverse("imsignin:start", args=[platform_key]) + "?" + urlencode(query)


class IMLoginExtension:
    def auto_redirect(self, request, next_url: str) -> str | None:
        # Only on the way to a page (a message link): a bare /login/, e.g. right after logging
        # out, shows the form, or logging out inside the app would sign straight back in.
        if not safe_next(next_url):
            return None
        platform_key = platform_of_user_agent(request.headers.get("User-Agent", ""))
        if not platform_key or platform_key not in configured_platforms():
            return None
        return start_url(platform_key, next_url)

    def buttons(self, request, next_url: str) -> list[dict]:
        labels = {
            "wecom": _("Scan with WeCom"),
            "dingtalk": _("Log in with DingTalk"),
            "feishu": _("Log in with Feishu"),
        }
        in_app = platform_of_user_agent(request.headers.get("User-Agent", ""))
        out = []
        for key in configured_platforms():
            # WeCom: QR login on a desktop browser, the in-client OAuth inside WeCom itself.
            mode = "qr" if key == "wecom" and in_app != "wecom" else ""
            label = labels[key] if mode or key != "wecom" else _("Log in with WeCom")
            out.append({"platform": key, "label": label, "url": start_url(key, next_url, mode=mode)})
        return out


extension = IMLoginExtension()
