"""Local fake OAuth servers for WeCom, DingTalk and Feishu: real HTTP on 127.0.0.1, one thread
each. Every request's method, path and parameters are checked against the spec; anything off
is recorded in `problems` (tests assert it stays empty) and answered with HTTP 400.

`users`: code → platform user id, filled by `issue_code()`; the authorize endpoints redirect
straight back with a fresh code for `next_user` (as the platform does for a person already
signed in to the app)."""

import itertools
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlsplit

from closeloop.testing.http import LocalServer, send_json

_codes = itertools.count(1)


class FakePlatform(LocalServer):
    kind = ""

    def __init__(self):
        self.hits: list[tuple[str, str, dict, dict, dict]] = []
        self.problems: list[str] = []
        self.codes: dict[str, str] = {}
        self.next_user = ""
        self.mobiles: dict[str, str] = {}  # user id → mobile the platform reports
        self.script: dict[str, tuple[int, dict]] = {}  # path → forced answer (errors)
        self.redirect_uri = ""

    # -- helpers -----------------------------------------------------------------------
    def issue_code(self, user_id: str) -> str:
        code = f"{self.kind}-code-{next(_codes)}"
        self.codes[code] = user_id
        return code

    def expect(self, what: dict, want: dict, where: str) -> bool:
        ok = True
        for key, value in want.items():
            if what.get(key) != value:
                self.problems.append(f"{where}: {key}={what.get(key)!r}, expected {value!r}")
                ok = False
        return ok

    def paths(self) -> list[str]:
        return [h[1] for h in self.hits]

    # -- server ------------------------------------------------------------------------
    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _do(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    body = json.loads(raw.decode()) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("latin-1")}
                fake.hits.append((self.command, parts.path, query, body, headers))
                if parts.path in fake.script:
                    status, payload = fake.script[parts.path]
                    answer = (status, payload, {})
                else:
                    answer = fake.route(self.command, parts.path, query, body, headers)
                send_json(self, *answer)

            do_GET = do_POST = _do

        return self.serve(Handler)

    def bounce(self, query: dict, code_param: str = "code"):
        """The authorize page: straight back to redirect_uri with a code and the state."""
        code = self.issue_code(self.next_user)
        target = (
            query.get("redirect_uri", "")
            + "?"
            + urlencode({code_param: code, "state": query.get("state", "")})
        )
        return 302, {}, {"Location": target}

    def bad(self, why: str):
        self.problems.append(why)
        return 400, {"errcode": 40000, "errmsg": why, "code": "bad", "message": why}, {}


class FakeWeCom(FakePlatform):
    kind = "wecom"
    corp_id = "ww-corp-1"
    agent_id = 1000002
    secret = "wecom-secret-0123456789"
    token = "wecom-token-1"

    def route(self, method, path, q, body, h):
        if path == "/cgi-bin/gettoken" and method == "GET":
            if q.get("corpid") != self.corp_id or q.get("corpsecret") != self.secret:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}, {}
            return 200, {"errcode": 0, "access_token": self.token, "expires_in": 7200}, {}
        if path == "/cgi-bin/auth/getuserinfo" and method == "GET":
            if not self.expect(q, {"access_token": self.token}, path) or set(q) != {"access_token", "code"}:
                return self.bad(f"{path}: params {sorted(q)}")
            user = self.codes.pop(q["code"], None)
            if user is None:
                return 200, {"errcode": 40029, "errmsg": "invalid code"}, {}
            if user.startswith("o-"):
                return 200, {"errcode": 0, "openid": user}, {}
            return 200, {"errcode": 0, "errmsg": "ok", "userid": user}, {}
        if path == "/cgi-bin/user/get" and method == "GET":
            self.expect(q, {"access_token": self.token}, path)
            return (
                200,
                {"errcode": 0, "userid": q.get("userid"), "mobile": self.mobiles.get(q.get("userid"), "")},
                {},
            )
        if path == "/cgi-bin/user/getuserid" and method == "POST":
            self.expect(q, {"access_token": self.token}, path)
            for uid, mobile in self.mobiles.items():
                if mobile == body.get("mobile"):
                    return 200, {"errcode": 0, "userid": uid}, {}
            return 200, {"errcode": 46004, "errmsg": "user not exist"}, {}
        if path == "/connect/oauth2/authorize" and method == "GET":
            want = {
                "appid": self.corp_id,
                "response_type": "code",
                "scope": "snsapi_base",
                "agentid": str(self.agent_id),
                "redirect_uri": self.redirect_uri,
            }
            if not self.expect(q, want, path) or not q.get("state"):
                return self.bad(f"{path}: bad authorize request")
            return self.bounce(q)
        if path == "/wwlogin/sso/login" and method == "GET":
            want = {
                "login_type": "CorpApp",
                "appid": self.corp_id,
                "agentid": str(self.agent_id),
                "redirect_uri": self.redirect_uri,
            }
            if not self.expect(q, want, path) or not q.get("state"):
                return self.bad(f"{path}: bad QR login request")
            return self.bounce(q)
        return self.bad(f"unexpected {method} {path}")


class FakeDingTalk(FakePlatform):
    kind = "dingtalk"
    app_key = "ding-app-key-1"
    agent_id = 123456
    secret = "ding-secret-0123456789"
    app_token = "ding-app-token-1"

    def route(self, method, path, q, body, h):
        if path == "/oauth2/auth" and method == "GET":
            want = {
                "client_id": self.app_key,
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": self.redirect_uri,
                "prompt": "consent",
            }
            if not self.expect(q, want, path) or not q.get("state"):
                return self.bad(f"{path}: bad authorize request")
            return self.bounce(q, code_param="authCode")
        if path == "/v1.0/oauth2/userAccessToken" and method == "POST":
            want = {"clientId": self.app_key, "clientSecret": self.secret, "grantType": "authorization_code"}
            if not self.expect(body, want, path):
                return 400, {"code": "invalidClientSecret", "message": "bad client"}, {}
            user = self.codes.pop(body.get("code", ""), None)
            if user is None:
                return 400, {"code": "invalidAuthCode", "message": "authCode invalid or expired"}, {}
            return 200, {"accessToken": f"uat-{user}", "refreshToken": "r", "expireIn": 7200}, {}
        if path == "/v1.0/contact/users/me" and method == "GET":
            token = h.get("x-acs-dingtalk-access-token", "")
            if not token.startswith("uat-"):
                return self.bad(f"{path}: no user token header")
            user = token[4:]
            return (
                200,
                {"nick": "钉钉用户", "unionId": f"union-{user}", "mobile": self.mobiles.get(user, "")},
                {},
            )
        if path == "/gettoken" and method == "GET":
            if q.get("appkey") != self.app_key or q.get("appsecret") != self.secret:
                return 200, {"errcode": 40089, "errmsg": "invalid appkey or appsecret"}, {}
            return 200, {"errcode": 0, "access_token": self.app_token, "expires_in": 7200}, {}
        if path == "/topapi/user/getbyunionid" and method == "POST":
            self.expect(q, {"access_token": self.app_token}, path)
            union = body.get("unionid", "")
            if not union.startswith("union-") or union == "union-o-outsider":
                return 200, {"errcode": 60121, "errmsg": "找不到该用户"}, {}
            return 200, {"errcode": 0, "result": {"contact_type": 0, "userid": union[6:]}}, {}
        if path == "/topapi/v2/user/getbymobile" and method == "POST":
            self.expect(q, {"access_token": self.app_token}, path)
            for uid, mobile in self.mobiles.items():
                if mobile == body.get("mobile"):
                    return 200, {"errcode": 0, "result": {"userid": uid}}, {}
            return 200, {"errcode": 60121, "errmsg": "not found"}, {}
        return self.bad(f"unexpected {method} {path}")


class FakeFeishu(FakePlatform):
    kind = "feishu"
    app_id = "cli_fake123"
    secret = "feishu-secret-0123456789"
    tenant_token = "t-tenant-1"

    def route(self, method, path, q, body, h):
        if path == "/open-apis/authen/v1/authorize" and method == "GET":
            want = {"client_id": self.app_id, "response_type": "code", "redirect_uri": self.redirect_uri}
            if not self.expect(q, want, path) or not q.get("state"):
                return self.bad(f"{path}: bad authorize request")
            return self.bounce(q)
        if path == "/open-apis/authen/v2/oauth/token" and method == "POST":
            want = {
                "grant_type": "authorization_code",
                "client_id": self.app_id,
                "redirect_uri": self.redirect_uri,
            }
            if not self.expect(body, want, path):
                return 400, {"code": 20001, "error": "invalid_request"}, {}
            if body.get("client_secret") != self.secret:
                return 400, {"code": 20002, "error": "invalid_client", "error_description": "bad secret"}, {}
            user = self.codes.pop(body.get("code", ""), None)
            if user is None:
                return (
                    400,
                    {"code": 20003, "error": "invalid_grant", "error_description": "code not found"},
                    {},
                )
            return (
                200,
                {"code": 0, "access_token": f"u-{user}", "expires_in": 7200, "token_type": "Bearer"},
                {},
            )
        if path == "/open-apis/authen/v1/user_info" and method == "GET":
            auth = h.get("authorization", "")
            if not auth.startswith("Bearer u-"):
                return self.bad(f"{path}: bad Authorization header")
            user = auth[len("Bearer u-") :]
            mobile = self.mobiles.get(user, "")
            data = {
                "open_id": user,
                "user_id": "emp-" + user,
                "name": "飞书用户",
                "mobile": f"+86{mobile}" if mobile else "",
            }
            return 200, {"code": 0, "msg": "success", "data": data}, {}
        if path == "/open-apis/auth/v3/tenant_access_token/internal" and method == "POST":
            if body.get("app_id") != self.app_id or body.get("app_secret") != self.secret:
                return 200, {"code": 10014, "msg": "app secret invalid"}, {}
            return 200, {"code": 0, "tenant_access_token": self.tenant_token, "expire": 7200}, {}
        if path == "/open-apis/contact/v3/users/batch_get_id" and method == "POST":
            rows = []
            for mobile in body.get("mobiles", []):
                uid = next((u for u, m in self.mobiles.items() if m == mobile), None)
                rows.append({"mobile": mobile, **({"user_id": uid} if uid else {})})
            return 200, {"code": 0, "data": {"user_list": rows}}, {}
        return self.bad(f"unexpected {method} {path}")
