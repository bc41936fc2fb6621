"""Outbound HTTP for every URL a user (or an admin) supplies, with an SSRF guard.

- resolve the host, refuse loopback, private, link-local, CGNAT, IPv4-mapped IPv6, multicast,
  reserved and metadata addresses (anything not globally routable);
- connect to the address that was checked (no second DNS lookup an attacker could rebind),
  while TLS still sends the host name for SNI and verifies the certificate against it;
- never follow a redirect.

For intranets, `NOTIFY_ALLOWLIST` (hosts or CIDRs) lets chosen private targets through and
`NOTIFY_PROXY` sends everything through an HTTP proxy; both empty by default.
`NOTIFY_ALLOW_LOOPBACK` (tests only) lets 127.0.0.0/8 and ::1 through.
"""

import functools
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


class UnsafeURL(Exception):
    """The URL may not be fetched; the message says why (safe to show the admin)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        import json

        return json.loads(self.body.decode("utf-8") or "null")


def _allowlist() -> tuple[set[str], list]:
    hosts: set[str] = set()
    nets = []
    for item in getattr(settings, "NOTIFY_ALLOWLIST", []) or []:
        item = item.strip().lower()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item)
    return hosts, nets


def _address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address is refused, or None when it is fine."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _("an IPv4-mapped IPv6 address")
    if ip.is_loopback:
        if getattr(settings, "NOTIFY_ALLOW_LOOPBACK", False):
            return None
        return _("a loopback address")
    if ip.is_link_local:
        return _("a link-local or metadata address")
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return _("a carrier-grade NAT address")
    if ip.is_private:
        return _("a private address")
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return _("a non-public address")
    return None


def check_url(url: str) -> tuple[str, str, int, str]:
    """Validate `url` and resolve it. Returns (scheme, host, port, ip to connect to).
    Raises UnsafeURL with a message naming the problem."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise UnsafeURL(_("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(_("Enter a full http:// or https:// URL."))
    if parts.username or parts.password:
        raise UnsafeURL(_("The URL must not contain a user name or password."))
    host = parts.hostname.lower().rstrip(".")
    port = port or (443 if parts.scheme == "https" else 80)
    hosts, nets = _allowlist()
    if host in _METADATA_HOSTS:
        raise UnsafeURL(_("The address %(host)s is a metadata endpoint.") % {"host": host})
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(_("The host %(host)s could not be resolved.") % {"host": host}) from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UnsafeURL(_("The host %(host)s could not be resolved.") % {"host": host})
    allowed_host = host in hosts
    for ip in addresses:
        if allowed_host or any(ip in net for net in nets):
            continue
        reason = _address_refusal(ip)
        if reason:
            raise UnsafeURL(
                _("The address of %(host)s is %(reason)s; notifications may not be sent there.")
                % {"host": host, "reason": reason}
            )
    return parts.scheme, host, port, str(addresses[0])


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA store costs ~90 ms: once per process, not once per message.
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, **kw):
        super().__init__(host, port, **kw)
        self._ip = ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, **kw):
        super().__init__(host, port, **kw)
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        # server_hostname keeps SNI and the certificate check on the name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Response:
    """One HTTP request to a checked address. Raises UnsafeURL, or OSError / http.client
    errors on network trouble (the caller decides what is transient)."""
    scheme, host, port, ip = check_url(url)
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    timeout = timeout if timeout is not None else getattr(settings, "NOTIFY_HTTP_TIMEOUT", 10)
    proxy = getattr(settings, "NOTIFY_PROXY", "") or ""
    context = _tls_context() if (scheme == "https" or proxy) else None
    headers = {"User-Agent": "Closeloop-notify/1", **(headers or {})}
    if proxy:
        pparts = urlsplit(proxy)
        phost, pport = pparts.hostname or "", pparts.port or 3128
        if scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                phost, pport, timeout=timeout, context=context
            )
            conn.set_tunnel(host, port)
        else:
            conn = http.client.HTTPConnection(phost, pport, timeout=timeout)
            target = url
    elif scheme == "https":
        conn = _PinnedHTTPSConnection(host, port, ip, timeout=timeout, context=context)
    else:
        conn = _PinnedHTTPConnection(host, port, ip, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read(2 * 1024 * 1024)
        return Response(status=resp.status, headers={k.lower(): v for k, v in resp.getheaders()}, body=data)
    finally:
        conn.close()
