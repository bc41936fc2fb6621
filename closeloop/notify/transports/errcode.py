"""What the server APIs of WeCom (企业微信) and DingTalk (钉钉) share: an access token from a
GET `gettoken` that answers `{"errcode": 0, "access_token": …, "expires_in": seconds}`, and JSON
calls that carry the token in the query and answer with an `errcode` (0 = success).

Sources: WeCom 获取access_token (developer.work.weixin.qq.com/document/path/91039), DingTalk
获取企业内部应用的access_token (open.dingtalk.com/document/orgapp/obtain-orgapp-token); see
`../shared/specs/notifications.md`. Each platform module keeps its own error codes and texts."""

from collections.abc import Callable

from closeloop.notify.tokens import with_token
from closeloop.notify.transports import (
    TokenError,
    TransportError,
    check_http_status,
    http_call,
    json_body,
    post_json,
)


def fetch_token(url: str, *, secret: str, error: str, permanent: set[int]) -> tuple[str, int]:
    """GET `url` (the platform's gettoken with the app's id and secret in the query) and return
    (token, lifetime in seconds, 7,200 when the platform leaves it out).

    `error` is the translated text of a refusal with `%(code)s` and `%(msg)s`; an errcode in
    `permanent` (wrong secret, unknown app) raises `TransportError(permanent=True)`, which
    disables the channel; any other refusal is retried later. The secret is scrubbed from
    every error text."""
    resp = http_call("GET", url, secrets=(secret,))
    check_http_status(resp)
    data = json_body(resp)
    if data.get("errcode") != 0 or not data.get("access_token"):
        text = error % {"code": data.get("errcode"), "msg": data.get("errmsg", "")}
        raise TransportError(text, permanent=data.get("errcode") in permanent)
    return data["access_token"], int(data.get("expires_in") or 7200)


def post(url: str, body: dict, token: str) -> dict:
    """POST `body` as JSON to `url` (which already carries `access_token=token`) and return the
    answer's JSON; an HTTP error raises `TransportError` with the token scrubbed."""
    resp = post_json(url, body, secrets=(token,))
    check_http_status(resp, secrets=(token,))
    return json_body(resp)


def lookup_by_mobile(
    channel,
    mobiles: list[str],
    *,
    fetch: Callable[[], tuple[str, int]],
    url: str,
    token_errors: set[int],
    userid: Callable[[dict], str | None],
) -> dict[str, str]:
    """{mobile: platform user id} for the mobiles the platform knows, one call per mobile to
    `url?access_token=…` with `{"mobile": …}`; `userid` picks the id out of an answer. A token
    the platform calls expired (`token_errors`) is fetched again once (`with_token`)."""
    found: dict[str, str] = {}
    for mobile in mobiles:

        def call(token: str, mobile=mobile) -> dict:
            data = post(f"{url}?access_token={token}", {"mobile": mobile}, token)
            if data.get("errcode") in token_errors:
                raise TokenError(str(data.get("errmsg")))
            return data

        data = with_token(channel, fetch, call)
        found_id = userid(data)
        if data.get("errcode") == 0 and found_id:
            found[mobile] = found_id
    return found
