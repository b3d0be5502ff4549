"""SafeClient against hostile and broken servers on loopback: every case ends in time with a named outcome."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import hostile
from bench.hostile import FeedServer
from newsmon.core.settings import load_settings
from newsmon.ingest import http
from newsmon.ingest.http import FetchError, SafeClient, address_refusal

TOTAL_S = 2.0
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Vilnius</title><item><link>http://example.org/a</link></item></channel></rss>"


@pytest.fixture(scope="module")
def server():
    # A smaller bomb than the benchmark's keeps the suite fast; it still dwarfs the 4 MB cap below.
    hostile.BOMB_BYTES = 64 << 20
    for encoding in ("gzip", "deflate", "br"):
        hostile.compressed_zeros(encoding, hostile.BOMB_BYTES)  # built here, not inside a timed request
    with FeedServer() as srv:
        yield srv


def make_client(**overrides: object) -> SafeClient:
    knobs = {"allow_loopback": True, "connect_timeout_s": 1.0, "read_timeout_s": 1.0, "total_timeout_s": TOTAL_S,
             "max_body_bytes": 2 * 1024 * 1024, "max_decompressed_bytes": 4 * 1024 * 1024,
             "per_host_min_interval_s": 0.0, "respect_robots": False, **overrides}
    return SafeClient(load_settings(**knobs))


@pytest.fixture
def client():
    with make_client() as c:
        yield c


def fetch_error(client: SafeClient, url: str, kind: str = "feed") -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        client.fetch(url, kind=kind)
    return info.value, time.monotonic() - started


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "brotli"])
def test_compression_bomb_is_stopped_at_the_decompressed_size_cap(server, client, encoding):
    err, _ = fetch_error(client, server.url(f"/hostile/{encoding}-bomb"))
    assert "decompressed body exceeds 4194304 bytes" in err.reason and not err.retryable


def test_gzip_and_brotli_feeds_within_the_caps_are_decoded(server, client):
    server.add("/gz.xml", gzip.compress(FEED), headers={"Content-Encoding": "gzip"})
    server.add("/br.xml", brotli.compress(FEED), headers={"Content-Encoding": "br"})
    assert client.fetch(server.url("/gz.xml"), kind="feed").body == FEED
    assert client.fetch(server.url("/br.xml"), kind="feed").body == FEED


def test_endless_body_is_cut_at_the_body_size_cap(server, client):
    err, _ = fetch_error(client, server.url("/hostile/endless"))
    assert "body exceeds the 2097152-byte cap" in err.reason


@pytest.mark.parametrize("path", ["/hostile/drip", "/hostile/drip-headers"])
def test_one_byte_per_second_drip_ends_at_the_total_deadline(server, path):
    # A read timeout well above the drip's 1 s gap, so only the total deadline can end it.
    with make_client(read_timeout_s=1.8) as client:
        err, elapsed_s = fetch_error(client, server.url(path))
    assert "total deadline of 2 s exceeded" in err.reason and err.retryable
    assert elapsed_s < TOTAL_S + 1.0


def test_server_that_never_answers_hits_the_read_timeout(server, client):
    err, elapsed_s = fetch_error(client, server.url("/hostile/silent"))
    assert "sent nothing for 1 s" in err.reason and elapsed_s < TOTAL_S + 1.0


def test_a_fetch_waiting_for_a_pooled_connection_gives_up_at_the_connect_timeout_and_says_so(server, monkeypatch):
    # Every connection of the pool is busy: the wait for one is bounded like a connect, not by the whole
    # deadline, and the error names the pool instead of blaming the server.
    monkeypatch.setattr(http, "POOL_MAX_CONNECTIONS", 1)
    server.add("/pooled.xml", FEED)
    with make_client(read_timeout_s=4.0, total_timeout_s=5.0) as client:
        earlier = len(server.hits_for("/hostile/silent"))  # other tests of the module fetch it too
        holder = threading.Thread(target=_fetch_ignoring_errors, args=(client, server.url("/hostile/silent")))
        holder.start()
        while len(server.hits_for("/hostile/silent")) == earlier:  # the one connection is now held by the silent server
            time.sleep(0.01)
        err, _ = fetch_error(client, server.url("/pooled.xml"))
        holder.join()
    assert "no free connection in newsmon's pool within 1 s" in err.reason and err.retryable
    assert server.hits_for("/pooled.xml") == []


def _fetch_ignoring_errors(client: SafeClient, url: str) -> None:
    try:
        client.fetch(url, kind="feed")
    except FetchError:
        pass


@pytest.mark.parametrize(("path", "why"), [("/hostile/to-metadata", "cloud metadata address 169.254.169.254"),
                                           ("/hostile/to-private", "private address 10.0.0.1")])
def test_redirect_to_an_internal_address_is_refused_at_that_hop(server, client, path, why):
    err, _ = fetch_error(client, server.url(path))
    assert why in err.reason and "refused target" in err.reason


def test_metadata_address_is_refused_even_when_private_addresses_are_allowed():
    with make_client(allow_private_addresses=True) as lenient:
        err, _ = fetch_error(lenient, "http://169.254.169.254/latest/meta-data/")
    assert "cloud metadata address" in err.reason and "never fetched" in err.reason


def test_loopback_is_refused_unless_allowed_in_settings(server):
    with make_client(allow_loopback=False) as strict:
        err, _ = fetch_error(strict, server.url("/hostile/304"))
    assert "loopback address 127.0.0.1" in err.reason


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "gopher://x/", "http://user:pw@example.org/"])
def test_only_plain_http_and_https_urls_are_fetched(client, url):
    err, _ = fetch_error(client, url)
    assert "refused" in err.reason or "credentials" in err.reason


@pytest.mark.parametrize("url", ["http://localhost:9/", "http://[::1]:9/", "http://0x7f000001:9/", "http://2130706433:9/",
                                 "http://[::ffff:169.254.169.254]/", "http://0.0.0.0:9/"])
def test_disguised_internal_addresses_are_refused_before_connecting(url):
    with make_client(allow_loopback=False) as strict:
        err, _ = fetch_error(strict, url)
    assert "refused target" in err.reason, err.reason


@pytest.mark.parametrize(("address", "why"), [
    ("2002:a9fe:a9fe::", "cloud metadata address 169.254.169.254 inside 6to4 address"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata address 169.254.169.254 inside NAT64 address"),
    ("168.63.129.16", "cloud metadata address 168.63.129.16"),
    ("::ffff:168.63.129.16", "cloud metadata address 168.63.129.16"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "non-public Teredo tunnel address"),
    ("::a9fe:a9fe", "non-public IPv4-compatible address"),
    ("64:ff9b:1::a00:1", "non-public local-use NAT64 address"),
])
def test_addresses_that_lead_to_metadata_or_tunnels_are_refused_even_with_private_addresses_allowed(address, why):
    refusal = address_refusal(ipaddress.ip_address(address), allow_loopback=True, allow_private=True)
    assert refusal is not None and why in refusal


@pytest.mark.parametrize(("address", "why"), [
    ("2002:a00:1::", "private address 10.0.0.1 inside 6to4 address 2002:a00:1::"),
    ("2002:c0a8:101::1", "private address 192.168.1.1 inside 6to4 address"),
    ("2002:7f00:1::", "loopback address 127.0.0.1 inside 6to4 address"),
    ("64:ff9b::a00:1", "private address 10.0.0.1 inside NAT64 address"),
    ("fec0::1", "site-local address fec0::1"),
])
def test_ipv6_addresses_wrapping_internal_targets_are_refused_by_default_and_name_the_inner_address(address, why):
    refusal = address_refusal(ipaddress.ip_address(address), allow_loopback=False, allow_private=False)
    assert refusal is not None and why in refusal


@pytest.mark.parametrize("address", ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "2a00:1450:4001:80b::200e", "93.184.216.34"])
def test_public_hosts_stay_reachable_through_nat64_and_6to4(address):
    # A DNS64 resolver on an IPv6-only network maps every IPv4-only news site into 64:ff9b::/96.
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=False, allow_private=False) is None


def test_a_refused_tunnel_address_is_reported_as_never_fetched_not_as_a_setting_to_change():
    with make_client(allow_private_addresses=True) as lenient:
        err, _ = fetch_error(lenient, "http://[::a9fe:a9fe]/latest/meta-data/")
    assert "IPv4-compatible address" in err.reason and "never fetched" in err.reason


def test_a_fetch_still_waiting_to_resolve_when_its_client_closes_fails_as_a_fetch_error(server, monkeypatch):
    # Closing a client cancels the host lookups still queued behind its four resolver threads: such a fetch is
    # a retryable FetchError like any connect failure, never a bare CancelledError that escapes the poller.
    entered, release = [], threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host, port, *args, **kwargs):
        entered.append(host)
        release.wait(10)
        return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    port = urlsplit(server.url("/feed.xml")).port
    outcomes: dict[str, BaseException | None] = {}

    def fetch(host: str) -> None:
        try:
            client.fetch(f"http://{host}:{port}/feed.xml", kind="feed")
            outcomes[host] = None
        except BaseException as exc:
            outcomes[host] = exc

    hosts = [f"host{i}.example" for i in range(5)]
    client = make_client(connect_timeout_s=8.0, total_timeout_s=9.0)
    threads = [threading.Thread(target=fetch, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    while len(entered) < 4:  # the resolver's four threads are busy; the fifth lookup waits in its queue
        time.sleep(0.01)
    time.sleep(0.2)
    client.close()
    release.set()
    for t in threads:
        t.join(15)
    waiting = [h for h in hosts if h not in entered]
    assert waiting and all(isinstance(outcomes[h], FetchError) and outcomes[h].retryable for h in waiting)
