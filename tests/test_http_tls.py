"""HTTPS through SafeClient's own connection layer: verified TLS works, and deadlines still hold over TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from newsmon.core.settings import load_settings
from newsmon.ingest.http import FetchError, SafeClient

FEED = b"<rss version='2.0'><channel><title>TLS desk</title><item><link>https://example.org/a</link></item></channel></rss>"


def make_cert(tmp: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newsmon test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(0.5)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    ca_path, cert_path, key_path = make_cert(tmp_path_factory.mktemp("tls"))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)

    class _TLSServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            return

    httpd = _TLSServer(("127.0.0.1", 0), _Handler)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(ca_path))
    yield f"https://127.0.0.1:{httpd.server_address[1]}", client_ctx
    httpd.shutdown()
    httpd.server_close()


def client(ctx: ssl.SSLContext | bool, **overrides: object) -> SafeClient:
    knobs = {"allow_loopback": True, "per_host_min_interval_s": 0.0, "respect_robots": False, **overrides}
    return SafeClient(load_settings(**knobs), verify=ctx)


def test_https_feed_is_fetched_over_verified_tls(tls_server):
    base, ctx = tls_server
    with client(ctx) as c:
        assert c.fetch(f"{base}/feed.xml", kind="feed").body == FEED


def test_certificate_from_an_unknown_authority_is_a_fetch_error(tls_server):
    base, _ = tls_server
    with client(True) as c, pytest.raises(FetchError) as info:
        c.fetch(f"{base}/feed.xml", kind="feed")
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.reason or "certificate" in info.value.reason.lower()
    assert info.value.category == "tls"


def test_total_deadline_holds_over_tls(tls_server):
    base, ctx = tls_server
    started = time.monotonic()
    with client(ctx, total_timeout_s=1.5, read_timeout_s=1.0) as c, pytest.raises(FetchError) as info:
        c.fetch(f"{base}/drip", kind="feed")
    assert "total deadline" in info.value.reason and time.monotonic() - started < 2.5
