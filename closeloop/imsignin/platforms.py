"""The three platforms' OAuth flows, exactly as `specs/notifications.md` ("Sign-in from inside
the IM app") describes them.

Each platform object answers:
- `authorize_url(channel, *, redirect_uri, state, mode) -> str` — where the browser goes;
- `exchange(channel, *, code, redirect_uri) -> PlatformUser` — code → the platform's user id
  (the same id one-to-one messages are addressed to), or `PlatformError`.

Credentials come from the company-wide IM app channel (`notify.Channel`); its access token
cache (`notify.tokens`) is shared with message sending. All HTTP goes through notify's guarded
client (`netguard`: address checks, no redirects, `NOTIFY_HTTP_TIMEOUT` seconds). Every base
URL is a setting so tests point them at local fake servers."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.notify.models import ChannelKind
from closeloop.notify.secrets import scrub
from closeloop.notify.transports import (
    TokenError,
    TransportError,
    dingtalk_app,
    feishu_app,
    http_call,
    json_body,
    post_json,
    wecom_app,
)


@dataclass
class PlatformUser:
    user_id: str
    mobile: str = ""
    name: str = ""


class PlatformError(Exception):
    """The platform refused or failed. `kind`: "code" (expired / used / invalid code), "rate"
    (rate limited), "config" (the app's credentials or permissions), "other". `message` is
    safe to show (secrets scrubbed); `detail` goes to the audit log."""

    def __init__(self, message: str, *, kind: str = "other", detail: str = ""):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.detail = detail or message


def _friendly(platform_label: str, kind: str, detail: str) -> PlatformError:
    if kind == "code":
        text = _("%(platform)s says the sign-in code has expired or was already used. Open the link again.")
    elif kind == "rate":
        text = _("%(platform)s is limiting requests right now. Wait a minute and open the link again.")
    elif kind == "config":
        text = _(
            "%(platform)s refused Closeloop's app credentials or permissions. "
            "Tell the administrator; until then, log in with your password."
        )
    else:
        text = _("%(platform)s could not complete the sign-in. Try again, or log in with your password.")
    return PlatformError(text % {"platform": platform_label}, kind=kind, detail=detail)


def _transport_error(platform_label: str, exc: TransportError) -> PlatformError:
    kind = "config" if exc.permanent else ("rate" if exc.retry_after else "other")
    return _friendly(platform_label, kind, exc.message)


def _setting(name: str) -> str:
    return str(getattr(settings, name)).rstrip("/")


class WeCom:
    key = "wecom"
    label = gettext_lazy("WeCom")
    channel_kind = ChannelKind.WECOM_APP
    person_field = "wecom_id"
    required = ("corp_id", "agent_id")
    CODE_ERRORS = {40029, 40163, 50001, 40030}
    CONFIG_ERRORS = {40001, 40013, 40056, 60020, 40091, 60011, 301002, 48002}
    RATE_ERRORS = {45009, 45033, -1}

    def credentials(self, channel) -> dict:
        return {
            "corp_id": str(channel.config.get("corp_id", "")),
            "agent_id": str(channel.config.get("agent_id", "")),
        }

    def authorize_url(self, channel, *, redirect_uri: str, state: str, mode: str) -> str:
        creds = self.credentials(channel)
        if mode == "qr":
            query = urlencode(
                {
                    "login_type": "CorpApp",
                    "appid": creds["corp_id"],
                    "agentid": creds["agent_id"],
                    "redirect_uri": redirect_uri,
                    "state": state,
                }
            )
            return f"{_setting('IMSIGNIN_WECOM_LOGIN_BASE')}/wwlogin/sso/login?{query}"
        query = urlencode(
            {
                "appid": creds["corp_id"],
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": creds["agent_id"],
            }
        )
        return f"{_setting('IMSIGNIN_WECOM_OPEN_BASE')}/connect/oauth2/authorize?{query}#wechat_redirect"

    def _call(self, channel, method: str, path: str, params: dict) -> dict:
        from closeloop.notify.tokens import with_token

        def call(token: str) -> dict:
            url = f"{wecom_app.base()}{path}?{urlencode({'access_token': token, **params})}"
            resp = http_call(method, url, secrets=(token, channel.secret))
            if resp.status == 429:
                raise _friendly(str(self.label), "rate", f"HTTP 429 {path}")
            if not 200 <= resp.status < 300:
                raise _friendly(str(self.label), "other", f"HTTP {resp.status} {path}")
            data = json_body(resp)
            errcode = data.get("errcode")
            if errcode in wecom_app.TOKEN_ERRORS:
                raise TokenError(str(data.get("errmsg", "")))
            if errcode not in (0, None):
                detail = scrub(f"errcode {errcode}: {data.get('errmsg', '')}", token, channel.secret)
                kind = (
                    "code"
                    if errcode in self.CODE_ERRORS
                    else "rate"
                    if errcode in self.RATE_ERRORS
                    else "config"
                    if errcode in self.CONFIG_ERRORS
                    else "other"
                )
                raise _friendly(str(self.label), kind, detail)
            return data

        try:
            return with_token(channel, lambda: wecom_app.fetch_token(channel), call)
        except TransportError as exc:
            raise _transport_error(str(self.label), exc) from None

    def exchange(self, channel, *, code: str, redirect_uri: str) -> PlatformUser:
        data = self._call(channel, "GET", "/cgi-bin/auth/getuserinfo", {"code": code})
        # Someone outside the company (a WeChat user) comes back with openid only.
        return PlatformUser(user_id=str(data.get("userid") or data.get("UserId") or ""))

    def mobile_of(self, channel, user: PlatformUser) -> str:
        if user.mobile or not user.user_id:
            return user.mobile
        try:
            data = self._call(channel, "GET", "/cgi-bin/user/get", {"userid": user.user_id})
        except PlatformError:
            return ""
        return str(data.get("mobile") or "")


class DingTalk:
    key = "dingtalk"
    label = gettext_lazy("DingTalk")
    channel_kind = ChannelKind.DINGTALK_APP
    person_field = "dingtalk_id"
    required = ("app_key",)

    def credentials(self, channel) -> dict:
        return {
            "app_key": str(channel.config.get("app_key", "")),
            "agent_id": str(channel.config.get("agent_id", "")),
            "corp_id": str(channel.config.get("corp_id", "")),
        }

    def authorize_url(self, channel, *, redirect_uri: str, state: str, mode: str) -> str:
        query = urlencode(
            {
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "client_id": self.credentials(channel)["app_key"],
                "scope": "openid",
                "state": state,
                "prompt": "consent",
            }
        )
        return f"{_setting('IMSIGNIN_DINGTALK_LOGIN_BASE')}/oauth2/auth?{query}"

    def _new_api_error(self, resp, where: str, *secrets: str) -> PlatformError:
        try:
            data = resp.json() or {}
        except (ValueError, UnicodeDecodeError):
            data = {}
        code = str(data.get("code", "")) if isinstance(data, dict) else ""
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        detail = scrub(f"HTTP {resp.status} {where}: {code} {message}", *secrets)
        lowered = code.lower()
        if resp.status == 429 or "throttl" in lowered or "limit" in lowered:
            kind = "rate"
        elif "authcode" in lowered or "code" in message.lower() and "invalid" in message.lower():
            kind = "code"
        elif resp.status in (401, 403) or "client" in lowered or "forbidden" in lowered:
            kind = "config"
        else:
            kind = "other"
        return _friendly(str(self.label), kind, detail)

    def exchange(self, channel, *, code: str, redirect_uri: str) -> PlatformUser:
        from closeloop.notify.tokens import with_token

        label = str(self.label)
        api = _setting("IMSIGNIN_DINGTALK_API_BASE")
        creds = self.credentials(channel)
        try:
            resp = post_json(
                f"{api}/v1.0/oauth2/userAccessToken",
                {
                    "clientId": creds["app_key"],
                    "clientSecret": channel.secret,
                    "code": code,
                    "grantType": "authorization_code",
                },
                secrets=(channel.secret,),
            )
            if resp.status != 200:
                raise self._new_api_error(resp, "userAccessToken", channel.secret, code)
            token = json_body(resp).get("accessToken") or ""
            if not isinstance(token, str) or not token:
                raise _friendly(label, "other", "userAccessToken: no accessToken")
            resp = http_call(
                "GET",
                f"{api}/v1.0/contact/users/me",
                headers={"x-acs-dingtalk-access-token": token},
                secrets=(token,),
            )
            if resp.status != 200:
                raise self._new_api_error(resp, "users/me", token)
            me = json_body(resp)
            union_id = str(me.get("unionId") or "")
            if not union_id:
                raise _friendly(label, "other", "users/me: no unionId")

            # users/me names the person by unionId; work notifications (and the person's
            # stored id) use the corp userid: translate with the app's token.
            def call(app_token: str) -> dict:
                r = post_json(
                    f"{dingtalk_app.base()}/topapi/user/getbyunionid?{urlencode({'access_token': app_token})}",
                    {"unionid": union_id},
                    secrets=(app_token,),
                )
                if r.status == 429:
                    raise _friendly(label, "rate", "HTTP 429 getbyunionid")
                data = json_body(r)
                if data.get("errcode") in dingtalk_app.TOKEN_ERRORS:
                    raise TokenError(str(data.get("errmsg", "")))
                return data

            data = with_token(channel, lambda: dingtalk_app.fetch_token(channel), call)
        except TransportError as exc:
            raise _transport_error(label, exc) from None
        errcode = data.get("errcode")
        if errcode == 60121:  # not a member of this company
            return PlatformUser(
                user_id="", mobile=str(me.get("mobile") or ""), name=str(me.get("nick") or "")
            )
        if errcode != 0:
            kind = (
                "rate"
                if errcode in (90002, 90018)
                else "config"
                if errcode in (88, 40089, 43003)
                else "other"
            )
            raise _friendly(label, kind, f"getbyunionid errcode {errcode}: {data.get('errmsg', '')}")
        result = data.get("result")
        result = result if isinstance(result, dict) else {}
        return PlatformUser(
            user_id=str(result.get("userid") or ""),
            mobile=str(me.get("mobile") or ""),
            name=str(me.get("nick") or ""),
        )

    def mobile_of(self, channel, user: PlatformUser) -> str:
        return user.mobile


class Feishu:
    key = "feishu"
    label = gettext_lazy("Feishu")
    channel_kind = ChannelKind.FEISHU_APP
    person_field = "feishu_id"
    required = ("app_id",)
    CODE_ERRORS = {20003, 20004, 20049, 20050, 20065}
    CONFIG_ERRORS = {20002, 20010, 20024, 20027, 10003, 10014}

    def credentials(self, channel) -> dict:
        return {"app_id": str(channel.config.get("app_id", ""))}

    def authorize_url(self, channel, *, redirect_uri: str, state: str, mode: str) -> str:
        query = urlencode(
            {
                "client_id": self.credentials(channel)["app_id"],
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{_setting('IMSIGNIN_FEISHU_ACCOUNTS_BASE')}/open-apis/authen/v1/authorize?{query}"

    def _error(self, resp, data: dict, where: str, *secrets: str) -> PlatformError:
        code = data.get("code")
        detail = scrub(
            f"HTTP {resp.status} {where}: {code} {data.get('error', '')} "
            f"{data.get('error_description') or data.get('msg') or ''}",
            *secrets,
        )
        if resp.status == 429 or code == 99991400:
            kind = "rate"
        elif code in self.CODE_ERRORS or data.get("error") == "invalid_grant":
            kind = "code"
        elif code in self.CONFIG_ERRORS or data.get("error") == "invalid_client":
            kind = "config"
        else:
            kind = "other"
        return _friendly(str(self.label), kind, detail)

    @staticmethod
    def _body(resp) -> dict:
        try:
            data = resp.json()
        except (ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def exchange(self, channel, *, code: str, redirect_uri: str) -> PlatformUser:
        label = str(self.label)
        try:
            resp = post_json(
                f"{feishu_app.base()}/open-apis/authen/v2/oauth/token",
                {
                    "grant_type": "authorization_code",
                    "client_id": self.credentials(channel)["app_id"],
                    "client_secret": channel.secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                secrets=(channel.secret,),
            )
            data = self._body(resp)
            if (
                resp.status != 200
                or data.get("code", 0) != 0
                or not isinstance(data.get("access_token"), str)
            ):
                raise self._error(resp, data, "oauth/token", channel.secret, code)
            token = data["access_token"]
            resp = http_call(
                "GET",
                f"{feishu_app.base()}/open-apis/authen/v1/user_info",
                headers={"Authorization": f"Bearer {token}"},
                secrets=(token,),
            )
            data = self._body(resp)
            if resp.status != 200 or data.get("code", 0) != 0:
                raise self._error(resp, data, "user_info", token)
        except TransportError as exc:
            raise _transport_error(label, exc) from None
        info = data.get("data")
        info = info if isinstance(info, dict) else {}
        mobile = str(info.get("mobile") or "")
        # Feishu reports mobiles as +86…; people are stored without the country code.
        if mobile.startswith("+86"):
            mobile = mobile[3:]
        return PlatformUser(
            user_id=str(info.get("open_id") or ""), mobile=mobile, name=str(info.get("name") or "")
        )

    def mobile_of(self, channel, user: PlatformUser) -> str:
        return user.mobile


PLATFORMS = {p.key: p for p in (WeCom(), DingTalk(), Feishu())}


def lookup_id_by_mobile(platform, channel, mobile: str) -> str:
    """The platform's id for `mobile` through the same API the admin's "fill ids" uses; "" when
    unknown or on any platform error."""
    from closeloop.notify import transports

    try:
        found = transports.get(platform.channel_kind).lookup_ids(channel, [mobile])
    except TransportError:
        return ""
    return str(found.get(mobile) or "")
