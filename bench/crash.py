"""Crash harness: `newsmon run --once` SIGKILLed at many points, rerun, and compared with a clean run.

    python bench/crash.py [--random-kills 60] [--kills-per-point 8] [--corpus-pages 40] [--workers 2]

A loopback site (its own process) serves a fixed corpus: the demo's five outlets (with a republished
story, a missing page, a PDF and a broken feed), generated Lithuania–Belarus stories on two more hosts
(some republished by a second outlet) and, when the shared corpus is there, real pages to make extraction
long. Alerts go to three channels whose receivers run here, outside the killed process: the file channel,
SMTP (aiosmtpd) and a JSON webhook (Apprise `json://` to a loopback receiver).

Every trial starts from an empty state directory, runs `bench/crash_child.py` (the CLI's `run --once
--force`) and kills it: either after a random delay within the clean run's duration, or at the n-th pass
of a named point (n random within what the clean run passed), for each point of KILL_POINTS. It then
reruns, each rerun's clock 11 minutes later (as the next scheduled run), until a run ends with exit 0 and
nothing is left staged, clustered or in the outbox. The state and the channels are then compared with the
clean run:

- documents: the indexed article ids; lost = in the clean run, not here; duplicates = FTS rows or search
  documents beyond one per article;
- clusters: the partition of articles into stories;
- the alert outbox: (rule, story) rows sent; anything pending, sending or failed is a lost alert;
- channels: what each received, by idempotency key: the message key every channel carries (the JSON
  document's `key` in a file line or webhook body, the mail's Message-ID `<key@newsmon>`). A key received
  twice is a repeat; a repeat is expected only when the outbox row of that key was left `sending` by the
  kill (a channel took it just before), and is reported otherwise, as is a repeat whose content differs
  from the first delivery (apart from the document's `created_at`).

Printed: kills per point and per stage, lost / duplicate documents, cluster differences, lost alerts,
repeats per channel (and whether each had a claimed row), leftover processes of killed runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from loopback_site import LoopbackSite  # noqa: E402

# point → what is happening when the child kills itself there (crash_child.install_points wraps them).
KILL_POINTS = {
    "fetched": "polls: right after a feed or page fetch",
    "extracted": "extraction: pages in the workers, results back but not written",
    "staging": "polls: inside the transaction that stages results and marks entries",
    "clustering": "clustering: inside the clustering transaction",
    "indexed": "indexing: FTS rows committed, article statuses not yet updated",
    "delivering": "alert delivery: alert claimed, not yet sent",
    "delivered": "alert delivery: a channel took the alert, the outbox not yet told",
}
RERUN_EVERY_S = 660  # each rerun's clock is this much later: past the outbox's 600 s lease on a cut-off send
MAX_RERUNS = 4
REDRAWS = 3  # new random delays for a run that ended before its kill
CHILD_TIMEOUT_S = 600

# ----------------------------------------------------------------------------------------- the corpus

CHECKPOINTS = ("Medininkai", "Šalčininkai", "Lavoriškės", "Raigardas", "Kena", "Tverečius")
EVENTS = (
    "smuggling balloons from Belarus closed Vilnius airport for the {n}th time this month",
    "Minsk announced military exercises {n} kilometres from the Lithuanian border",
    "the State Border Guard Service turned back {n} migrants overnight",
    "hauliers said {n} lorries were stuck on the Belarusian side",
    "Lithuania's foreign ministry summoned the Belarusian chargé d'affaires for the {n}th time",
    "the Astravets nuclear plant reported an outage of its unit {n}",
)
SENTENCES = (
    "Officials in Vilnius said the measure would stay in place until Minsk stopped the flights.",
    "Belarusian state media accused Lithuania of provoking tension along the frontier.",
    "Drivers waiting at {cp} told reporters they had slept in their cabins for {n} nights.",
    "The interior minister said border guards had been reinforced with {n} officers from other units.",
    "Lukashenko's office did not comment on the Lithuanian statement on day {n}.",
    "Lithuanian carriers' associations asked the government to reopen {cp} within {n} days.",
    "Analysts in Vilnius linked the pressure to sanctions on Belarusian potash transit via Klaipėda.",
    "The European Commission said it was following the situation at {cp} closely.",
    "Polish and Latvian officials reported similar incidents on their own borders with Belarus.",
    "Residents near {cp} said traffic through the village had fallen by {n} percent.",
)


@dataclass
class Story:
    slug: str
    title: str
    paragraphs: list[str]


def stories(count: int, seed: int = 16) -> list[Story]:
    """`count` distinct, on-topic stories in our own words (deterministic for a seed)."""
    rng = random.Random(seed)
    made = []
    for i in range(count):
        cp, n = CHECKPOINTS[i % len(CHECKPOINTS)], 3 + (i * 7) % 40
        event = EVENTS[i % len(EVENTS)].format(n=n)
        picked = rng.sample(SENTENCES, 6)
        paragraphs = [f"Queues grew again at the {cp} checkpoint on the border with Belarus after {event}, "
                      f"Lithuanian officials said on day {i + 1} of the crisis."]
        paragraphs += [" ".join(s.format(cp=cp, n=n + k) for s in picked[k:k + 2]) for k in range(0, 6, 2)]
        made.append(Story(f"story-{i}", f"{cp}: {event[0].upper()}{event[1:]}", paragraphs))
    return made


def page(story: Story, outlet: str, *, copy: bool = False) -> bytes:
    intro = f"<p>This report was first published by Border Wire and is republished by {outlet}.</p>" if copy else ""
    body = "".join(f"<p>{p}</p>" for p in story.paragraphs)
    return (f"<!doctype html><html lang='en'><head><title>{story.title}</title></head><body><nav><a href='/'>Home</a>"
            f" <a href='/border'>Border</a></nav><article><h1>{story.title}</h1>{intro}{body}</article>"
            f"<footer>© {outlet}</footer></body></html>").encode()


def rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{guid}</guid>"
                      f"<pubDate>Thu, 05 Mar 2026 08:00:00 GMT</pubDate></item>" for t, link, guid in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>{entries}</channel></rss>".encode()


def corpus_pages(n: int) -> list[bytes]:
    """`n` real pages of the shared extraction corpus, when it is there."""
    if n <= 0:
        return []
    import bench_replay

    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    try:
        return [body for _url, body in bench_replay.load_pages(shared / "corpus" / "extraction", n)]
    except SystemExit:
        print(f"(no shared corpus at {shared}: the crash corpus has no real pages)")
        return []


def build_site(site: LoopbackSite, n_stories: int, real_pages: list[bytes]) -> list[tuple[str, str, str]]:
    """Serve the corpus; returns the feeds as (id, url, language)."""
    from newsmon.app.demo import content as demo

    routes = [(0, path, r.body, r.content_type, r.status, dict(r.headers))
              for path, r in demo.build_routes(site.base(0)).items()]
    feeds = [(outlet, f"{site.base(0)}{demo.feed_path(outlet)}", demo.FEED_LANG[outlet])
             for outlet in ("baltic-wire", "north-daily", "pasienio-zinios", "minsk-herald", "wilno-tydzien", "misc")]
    feeds.append(("broken", f"{site.base(0)}/broken/rss.xml", "en"))
    wire, daily = [], []
    for i, story in enumerate(stories(n_stories)):
        routes.append((1, f"/wire/{story.slug}.html", page(story, "Border Wire"), "text/html; charset=utf-8", 200, {}))
        wire.append((story.title, f"{site.base(1)}/wire/{story.slug}.html", f"wire-{i}"))
        if i % 4 == 0:  # every fourth story is republished by a second outlet on another host: a near-duplicate
            routes.append((2, f"/daily/{story.slug}.html", page(story, "Frontier Daily", copy=True),
                           "text/html; charset=utf-8", 200, {}))
            daily.append((story.title, f"{site.base(2)}/daily/{story.slug}.html", f"daily-{i}"))
    world = []
    for i, body in enumerate(real_pages):
        routes.append((2, f"/world/{i}.html", body, "text/html; charset=utf-8", 200, {}))
        world.append((f"World story {i}", f"{site.base(2)}/world/{i}.html", f"world-{i}"))
    for host in (1, 2):
        routes.append((host, "/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain", 200, {}))
    routes += [(1, "/wire.xml", rss("Border Wire", wire), "application/rss+xml", 200, {}),
               (2, "/daily.xml", rss("Frontier Daily", daily), "application/rss+xml", 200, {})]
    feeds += [("border-wire", f"{site.base(1)}/wire.xml", "en"), ("frontier-daily", f"{site.base(2)}/daily.xml", "en")]
    if world:
        routes.append((2, "/world.xml", rss("World Wire", world), "application/rss+xml", 200, {}))
        feeds.append(("world-wire", f"{site.base(2)}/world.xml", "en"))
    site.set_many(routes)
    return feeds


# ----------------------------------------------------------------------------------------- receivers

class Webhook:
    """A loopback JSON webhook receiver: every POST body, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.arrived: list[float] = []  # time.time() of each, in the same order
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except ConnectionResetError:  # a killed run hung up mid-request
                    pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.arrived.append(time.time())
                hook.received.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def write_home(home: Path, feeds: list[tuple[str, str, str]], trial: str, smtp_port: int, hook_port: int) -> None:
    config = home / "config"
    shutil.copytree(REPO / "config" / "topics", config / "topics")
    (config / "feeds.yaml").write_text("feeds:\n" + "".join(
        f"  - id: {fid}\n    name: {fid}\n    url: {url}\n    language: {lang}\n"
        "    evidence: served by the crash harness's loopback site\n" for fid, url, lang in feeds))
    channels = ["file:alerts.jsonl", f"smtp://127.0.0.1:{smtp_port}/?to={trial}@example.org&from=newsmon@example.org",
                f"json://127.0.0.1:{hook_port}/{trial}"]
    chans = "".join(f"      - '{c}'\n" for c in channels)
    (config / "alerts.yaml").write_text(
        "rules:\n"
        f"  - name: border\n    query: '*'\n    on_topic: true\n    channels:\n{chans}    mode: instant\n"
        f"  - name: checkpoints\n    query: medininkai OR salcininkai OR checkpoint*\n    on_topic: true\n"
        f"    channels:\n{chans}    mode: instant\n")


def child_env(home: Path, workers: int) -> dict[str, str]:
    return {**os.environ, "NEWSMON_HOME": str(home), "NEWSMON_CONFIG_DIR": str(home / "config"),
            "NEWSMON_STATE_DIR": str(home / "var"), "NEWSMON_ALLOW_LOOPBACK": "true",
            "NEWSMON_PER_HOST_MIN_INTERVAL_S": "0", "NEWSMON_PER_HOST_CONCURRENCY": "4",
            "NEWSMON_EXTRACT_WORKERS": str(workers), "NEWSMON_EXTRACT_POOL_MIN_PAGES": "10",
            "NEWSMON_SMTP_TIMEOUT_S": "10"}


# ----------------------------------------------------------------------------------------- one run

@dataclass
class Run:
    code: int
    seconds: float
    leftovers: int = 0  # processes of the run's group still alive after it was killed and waited for


def run_child(home: Path, workers: int, offset_s: float, *, kill_after_s: float | None = None,
              kill_at: str | None = None, counts_file: Path | None = None) -> Run:
    env = child_env(home, workers)
    if kill_at:
        env["CRASH_AT"] = kill_at
    if counts_file:
        env["CRASH_COUNTS"] = str(counts_file)
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, str(REPO / "bench" / "crash_child.py"), str(offset_s)], env=env,
                             stdout=subprocess.DEVNULL, stderr=(home / "child.log").open("ab"), start_new_session=True)
    try:
        code = child.wait(timeout=kill_after_s) if kill_after_s is not None else child.wait(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        if kill_after_s is None:
            raise
        child.send_signal(signal.SIGKILL)
        code = child.wait()
    run = Run(code, time.monotonic() - started)
    if code == -signal.SIGKILL:
        run.leftovers = _wait_group_gone(child.pid)
    return run


def _wait_group_gone(pgid: int, timeout_s: float = 15.0) -> int:
    """How many processes of the killed run's group outlive it by timeout_s (then they are killed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        members = _group(pgid)
        if not members:
            return 0
        time.sleep(0.1)
    left = _group(pgid)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(left)


def _group(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


# ----------------------------------------------------------------------------------------- outcomes

@dataclass
class Outcome:
    documents: set[str] = field(default_factory=set)
    search_docs: int = 0
    fts_rows: int = 0
    clusters: set[frozenset[str]] = field(default_factory=set)
    unfinished_articles: int = 0  # staged or clustered: the run is not done
    sent: set[tuple[str, str]] = field(default_factory=set)
    not_sent: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, cluster, status)
    channels: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def read_state(home: Path) -> Outcome:
    """The state DB's outcome."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{home / 'var' / 'newsmon.db'}")
    out = Outcome()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status, cluster_id, json_extract(doc, '$.url') AS url FROM articles")).all()
        out.documents = {r.id for r in rows if r.status == "indexed"}
        out.unfinished_articles = sum(r.status in ("staged", "clustered") for r in rows)
        by_cluster: dict[str, set[str]] = {}
        for r in rows:
            by_cluster.setdefault(r.cluster_id or r.id, set()).add(r.id)
        out.clusters = {frozenset(v) for v in by_cluster.values()}
        out.search_docs = conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one()
        out.fts_rows = conn.execute(text("SELECT count(*) FROM search_fts")).scalar_one()
        for rule, cluster, status in conn.execute(text("SELECT rule, cluster_id, status FROM alert_outbox")).all():
            if status == "sent":
                out.sent.add((rule, cluster))
            else:
                out.not_sent.append((rule, cluster, status))
    engine.dispose()
    return out


def sending_keys(home: Path) -> set[str]:
    """The message keys of the outbox rows a kill left `sending` (a channel may have taken them)."""
    from sqlalchemy import create_engine, text

    path = home / "var" / "newsmon.db"
    if not path.exists():
        return set()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            # An instant alert's key is `<rule>.<copy cluster of the payload>` (newsmon/alerts/outbox.py), while a
            # story rule's outbox row is keyed `story:<id>`.
            return {f"{rule.replace(' ', '_')}.{cluster}" for rule, cluster in conn.execute(text(
                "SELECT rule, coalesce(json_extract(payload, '$.cluster_id'), cluster_id) FROM alert_outbox "
                "WHERE status = 'sending'")).all()}
    except Exception:  # no outbox table yet: killed before the schema was made
        return set()
    finally:
        engine.dispose()


def mail_text(message) -> str:
    """The plain-text part of a mail (alert mails are text + HTML)."""
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    return part.get_content() if part is not None else ""


def _document_content(doc: dict) -> str:
    # created_at is when the message was built: a resend builds it again, and everything else must be equal.
    return json.dumps({k: v for k, v in doc.items() if k != "created_at"}, sort_keys=True, ensure_ascii=False)


def channel_keys(home: Path, trial: str, smtp, hook: Webhook) -> dict[str, dict[str, list[str]]]:
    """What each channel received: message key → the deliveries' contents (to check repeats are identical).

    The key is the one every channel carries: the JSON document's `key` (file line, webhook body, and the
    webhook's Idempotency-Key header) and the mail's Message-ID `<key@newsmon>`.
    """
    received: dict[str, dict[str, list[str]]] = {"file": {}, "smtp": {}, "webhook": {}}
    alerts = home / "var" / "alerts.jsonl"
    if alerts.exists():
        for line in alerts.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            received["file"].setdefault(doc["key"], []).append(_document_content(doc))
    for message in list(smtp.messages):
        if message["To"] == f"{trial}@example.org":
            key = str(message["Message-ID"]).strip().strip("<>").removesuffix("@newsmon")
            content = f"{message['Message-ID']}|{message['Subject']}|{mail_text(message)}"
            received["smtp"].setdefault(key, []).append(content)
    for path, body in list(hook.received):
        if path == f"/{trial}":
            received["webhook"].setdefault(body["key"], []).append(_document_content(body))
    return received


# ----------------------------------------------------------------------------------------- trials

@dataclass
class Tally:
    kills: Counter = field(default_factory=Counter)
    not_killed: int = 0
    lost_documents: int = 0
    duplicate_documents: int = 0
    cluster_differences: int = 0
    lost_alerts: int = 0
    lost_deliveries: Counter = field(default_factory=Counter)
    repeats: Counter = field(default_factory=Counter)
    repeats_unexplained: Counter = field(default_factory=Counter)
    repeats_differing: Counter = field(default_factory=Counter)  # a repeat whose content is not the first's
    leftovers: int = 0
    reruns: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


class Harness:
    def __init__(self, workdir: Path, feeds: list[tuple[str, str, str]], workers: int, smtp, hook: Webhook) -> None:
        self.workdir, self.feeds, self.workers, self.smtp, self.hook = workdir, feeds, workers, smtp, hook
        self.tally = Tally()
        self.clean: Outcome | None = None
        self.clean_seconds = 0.0
        self.passes: dict[str, int] = {}
        self._n = 0
        self.rng = random.Random(0)

    def _home(self, trial: str) -> Path:
        home = self.workdir / trial
        write_home(home, self.feeds, trial, self.smtp.port, self.hook.port)
        return home

    def clean_run(self) -> Outcome:
        home = self._home("clean")
        first = run_child(home, self.workers, 0, counts_file=home / "passes.json")
        if first.code != 0:
            raise SystemExit(f"the clean run failed (exit {first.code}); see {home / 'child.log'}")
        self.clean_seconds = first.seconds
        self.passes = json.loads((home / "passes.json").read_text())
        again = run_child(home, self.workers, RERUN_EVERY_S)  # a second pass must change nothing
        self.clean = self._outcome(home, "clean")
        if again.code != 0 or self.clean.not_sent or self.clean.unfinished_articles:
            raise SystemExit(f"the clean run did not end clean; see {home / 'child.log'}")
        for name, keys in self.clean.channels.items():
            if any(len(v) > 1 for v in keys.values()):
                raise SystemExit(f"the clean run's second pass delivered again on {name}")
        return self.clean

    def _outcome(self, home: Path, trial: str) -> Outcome:
        out = read_state(home)
        out.channels = channel_keys(home, trial, self.smtp, self.hook)
        return out

    def trial(self, *, kill_after_s: float | None = None, kill_at: str | None = None) -> None:
        self._n += 1
        trial = f"trial-{self._n}"
        home = self._home(trial)
        killed = run_child(home, self.workers, 0, kill_after_s=kill_after_s, kill_at=kill_at)
        for _ in range(REDRAWS if kill_after_s is not None else 0):
            if killed.code == -signal.SIGKILL:
                break
            # The run ended before its random kill (the shared machine was faster than for the clean run):
            # count it, and draw a new delay within the duration this run actually had, from a fresh state.
            self.tally.not_killed += 1
            shutil.rmtree(home, ignore_errors=True)
            self._n += 1  # a new name too: the mail and webhook receivers keep what the ended run delivered
            trial = f"trial-{self._n}"
            home = self._home(trial)
            killed = run_child(home, self.workers, 0, kill_after_s=self.rng.uniform(0.3, max(0.4, killed.seconds)))
        if killed.code != -signal.SIGKILL:
            self.tally.not_killed += 1
            shutil.rmtree(home, ignore_errors=True)
            return
        label = kill_at.split(":")[0] if kill_at else "random delay"
        self.tally.kills[label] += 1
        self.tally.leftovers += killed.leftovers
        claimed = sending_keys(home)
        for rerun in range(1, MAX_RERUNS + 1):
            done = run_child(home, self.workers, rerun * RERUN_EVERY_S)
            out = self._outcome(home, trial) if done.code == 0 else None
            if out is not None and not out.unfinished_articles and not any(s in ("pending", "sending") for *_, s in out.not_sent):
                self.tally.reruns[rerun] += 1
                break
        else:
            self.tally.problems.append(f"{trial} ({label}): not clean after {MAX_RERUNS} reruns; see {home}")
            return
        self._compare(trial, label, out, claimed)
        shutil.rmtree(home, ignore_errors=True)

    def _compare(self, trial: str, label: str, out: Outcome, claimed: set[str]) -> None:
        clean, t = self.clean, self.tally
        assert clean is not None
        lost = clean.documents - out.documents
        t.lost_documents += len(lost)
        extra = len(out.documents - clean.documents) + max(0, out.search_docs - len(out.documents)) \
            + max(0, out.fts_rows - out.search_docs)
        t.duplicate_documents += extra
        if out.clusters != clean.clusters:
            t.cluster_differences += 1
        lost_alerts = (clean.sent - out.sent) | {(r, c) for r, c, _s in out.not_sent}
        t.lost_alerts += len(lost_alerts)
        for name, keys in out.channels.items():
            missing = set(clean.channels[name]) - set(keys)
            t.lost_deliveries[name] += len(missing)
            for key, contents in keys.items():
                if len(contents) > 1:
                    t.repeats[name] += len(contents) - 1
                    t.repeats_differing[name] += sum(c != contents[0] for c in contents[1:])
                    if key not in claimed:
                        t.repeats_unexplained[name] += len(contents) - 1
        if lost or extra or lost_alerts or out.clusters != clean.clusters:
            t.problems.append(f"{trial} ({label}): lost documents {sorted(lost)[:3]}, duplicates {extra}, "
                              f"lost alerts {sorted(lost_alerts)[:3]}, clusters equal: {out.clusters == clean.clusters}")


def report(h: Harness) -> None:
    t, clean = h.tally, h.clean
    assert clean is not None
    total = sum(t.kills.values())
    print(f"clean run: {h.clean_seconds:.1f} s, "
          f"{len(clean.documents)} documents, {len(clean.clusters)} clusters, {clean.fts_rows} FTS rows, "
          f"{len(clean.sent)} alerts sent; deliveries: "
          + ", ".join(f"{k} {sum(len(c) for c in v.values())}" for k, v in clean.channels.items()))
    print(f"kill points: {total} (runs that ended before their random kill: {t.not_killed}, not counted; "
          f"each got a new delay within its own duration, up to {REDRAWS} times)")
    for label, n in sorted(t.kills.items()):
        print(f"  {label:14s} {n:4d}  {KILL_POINTS.get(label, 'anywhere: uniform over the clean run time')}")
    print(f"reruns needed: {dict(sorted(t.reruns.items()))}")
    print(f"lost documents: {t.lost_documents}   duplicate documents: {t.duplicate_documents}   "
          f"trials whose clusters differ: {t.cluster_differences}")
    print(f"lost alerts (outbox): {t.lost_alerts}   lost deliveries: {dict(t.lost_deliveries)}")
    print(f"repeats (same idempotency key delivered again): {dict(t.repeats)}; of them without a claimed "
          f"outbox row at the kill: {dict(t.repeats_unexplained)}; whose content differs from the first "
          f"delivery: {dict(t.repeats_differing)}")
    print(f"processes of killed runs still alive 15 s after the kill: {t.leftovers}")
    for problem in t.problems[:20]:
        print("  problem:", problem)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random-kills", type=int, default=60)
    parser.add_argument("--kills-per-point", type=int, default=8)
    parser.add_argument("--stories", type=int, default=24)
    parser.add_argument("--corpus-pages", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    from newsmon.app.demo.smtp_sink import SmtpSink

    rng = random.Random(args.seed)
    hook = Webhook()
    with LoopbackSite(3) as site, SmtpSink() as smtp, tempfile.TemporaryDirectory(prefix="newsmon-crash-") as tmp:
        feeds = build_site(site, args.stories, corpus_pages(args.corpus_pages))
        harness = Harness(Path(tmp), feeds, args.workers, smtp, hook)
        harness.rng = random.Random(args.seed + 1)
        harness.clean_run()
        print(f"clean run: {harness.clean_seconds:.1f} s; passes per point: {harness.passes}", flush=True)
        plan: list[dict] = [{"kill_after_s": rng.uniform(0.3, harness.clean_seconds)} for _ in range(args.random_kills)]
        for point in KILL_POINTS:
            passes = harness.passes.get(point, 0)
            plan += [{"kill_at": f"{point}:{rng.randint(1, passes)}"} for _ in range(args.kills_per_point if passes else 0)]
        rng.shuffle(plan)
        for i, kill in enumerate(plan, 1):
            harness.trial(**kill)
            if i % 10 == 0:
                print(f"  {i}/{len(plan)} trials, {sum(harness.tally.kills.values())} kills", flush=True)
        report(harness)
    hook.close()
    t = harness.tally
    bad = t.lost_documents or t.duplicate_documents or t.lost_alerts or sum(t.lost_deliveries.values()) \
        or sum(t.repeats_unexplained.values()) or sum(t.repeats_differing.values()) or t.cluster_differences \
        or t.problems
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
