"""Extraction on every core: a poll's pages go to worker processes, and a worker that dies or hangs loses nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hostile import FeedServer
from newsmon.app.stages.page_pool import Finished, InlinePages, WorkerPages
from newsmon.app.stages.page_work import PageJob
from newsmon.app.stages.poll import load_pack, poll_feeds
from newsmon.core.records import Feed, FeedEntry, Page
from newsmon.core.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
STORIES = 6
ARTICLE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>Lithuania's border guard said on Thursday that lorries queued again at the Medininkai checkpoint on the
border with Belarus ({n}), after Vilnius kept two other crossings closed for a third day running.</p>
<p>Drivers said they had waited for more than a day. Officials in Minsk blamed the Lithuanian side, while
the government in Vilnius pointed to smuggling balloons that had again closed the capital's airport.</p>
</article></body></html>"""
# Nine thousand blocks (27,000 elements, under the 30,000 limit) of long paragraphs: well over a second of CPU to
# extract, so it is still running when a test steps in (half a second is too little margin: extraction got faster).
PARAGRAPH = ("<p>Lorries waited at the checkpoint as officials traded blame over the closed crossings again. "
             "Drivers said the queue had not moved since the morning and that nobody had told them why. "
             "Border guards on both sides counted the vehicles and wrote the numbers into their reports.</p>")
SLOW_PAGE = ("<html><body><article>" + "".join(f"<div><span>{i}</span>{PARAGRAPH}</div>" for i in range(9000))
             + "</article></body></html>").encode()


def feed_xml(base: str) -> bytes:
    items = "".join(f"<item><title>Border story {i}</title><link>{base}/news/{i}.html</link><guid>story-{i}</guid>"
                    f"<pubDate>Thu, 05 Mar 2026 0{i}:00:00 GMT</pubDate></item>" for i in range(STORIES))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Desk</title>{items}</channel></rss>".encode()


@pytest.fixture
def site(tmp_path):
    with FeedServer() as server:
        for i in range(STORIES):
            server.add(f"/news/{i}.html", ARTICLE.format(title=f"Border story {i}", n=i).encode(), content_type="text/html")
        server.add("/feed.xml", feed_xml(server.base))
        config = tmp_path / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - id: desk\n    name: Desk\n    url: {server.url('/feed.xml')}\n    language: en\n"
            "    evidence: served by the test's loopback site\n", encoding="utf-8")
        yield server, dict(home=tmp_path, config_dir=config, allow_loopback=True, per_host_min_interval_s=0.0,
                           respect_robots=False)


def staged_documents(settings) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    from newsmon.app.stages.index import articles_in_status
    from newsmon.store.db import open_engine

    with open_engine(settings.database_url).connect() as conn:
        return sorted((a.title, a.text, a.topic.on_topic, a.topic.subtopics) for a in articles_in_status(conn, "staged"))


def test_a_poll_with_enough_pages_processes_them_in_worker_processes_with_the_same_articles(site, tmp_path):
    from newsmon.app.stages.page_pool import PagePools

    _server, knobs = site
    inline = load_settings(**knobs, state_dir=tmp_path / "inline", extract_workers=0)
    pooled = load_settings(**knobs, state_dir=tmp_path / "pooled", extract_workers=2, extract_pool_min_pages=2)
    assert poll_feeds(inline, ["desk"], NOW)["staged"] == STORIES
    with PagePools(pooled) as pools:
        assert poll_feeds(pooled, ["desk"], NOW, pools=pools)["staged"] == STORIES
        workers = set(pools.started.peak_rss_mb) if pools.started else set()
    assert len(workers) >= 1 and os.getpid() not in workers
    assert staged_documents(pooled) == staged_documents(inline)


def test_a_poll_with_fewer_pages_than_the_pool_minimum_stays_in_its_own_process(site, tmp_path):
    from newsmon.app.stages.page_pool import PagePools

    _server, knobs = site
    settings = load_settings(**knobs, state_dir=tmp_path / "var", extract_workers=2, extract_pool_min_pages=STORIES + 1)
    with PagePools(settings) as pools:
        assert poll_feeds(settings, ["desk"], NOW, pools=pools)["staged"] == STORIES
        assert pools.started is None


class _StoppingPages(InlinePages):
    """Processes pages in-process, except one whose worker "dies" every time (as a segfault would end it)."""

    def __init__(self, pack, doomed: str) -> None:
        super().__init__(pack)
        self.doomed, self.tries = doomed, []

    def submit(self, key, job, *, alone=False):
        if job.page.final_url.endswith(self.doomed):
            self.tries.append(alone)
            self._finished.append(Finished(key, None))
        else:
            super().submit(key, job, alone=alone)


class _Pools:
    def __init__(self, pages) -> None:
        self.pages = pages

    def expect(self, pages: int) -> None:
        pass

    def for_pages(self, pages: int, pack):
        return self.pages


def test_a_page_that_keeps_killing_its_worker_is_retried_alone_then_given_up_while_the_rest_is_staged(site, tmp_path):
    _server, knobs = site
    settings = load_settings(**knobs, state_dir=tmp_path / "var")
    pages = _StoppingPages(load_pack(settings), "/news/2.html")
    counts = poll_feeds(settings, ["desk"], NOW, pools=_Pools(pages))
    assert pages.tries == [False, True]  # first with the others, then alone: it is the page, not bad luck
    assert counts["staged"] == STORIES - 1
    assert counts["skipped_reasons"] == {"page_unfinished": 1}
    assert "stopped (worker crash or timeout) 2 times" in counts["examples"][0]["detail"]
    # Given up for good: the next poll neither fetches nor processes it again.
    again = poll_feeds(settings, ["desk"], NOW, pools=_Pools(pages))
    assert pages.tries == [False, True] and "skipped" not in again


def _job(url: str, body: bytes) -> PageJob:
    page = Page(url=url, final_url=url, status=200, headers={"content-type": "text/html; charset=utf-8"}, body=body,
                fetched_at=NOW)
    return PageJob(Feed(id="desk", url="http://127.0.0.1:1/feed.xml", name="Desk", language="en"),
                   FeedEntry(entry_id=url, link=url, published_at=NOW), page)


def _collect_all(pool: WorkerPages, expected: int, timeout_s: float = 120.0) -> dict:
    done: dict = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < expected and time.monotonic() < deadline:
        for finished in pool.collect():
            done[finished.key] = finished.done
        if len(done) < expected and pool.futures():
            wait(list(pool.futures()), timeout=pool.wait_s(), return_when=FIRST_COMPLETED)
    return done


def _workers_of(pid: int) -> list[int]:
    """Processes forked by the forkserver that `pid` started (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    return [w for server in children.get(pid, []) for w in children.get(server, [])]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds worker processes through /proc")
def test_pages_in_a_worker_that_died_come_back_as_stopped_and_a_fresh_pool_takes_the_next(site):
    _server, knobs = site
    pool = WorkerPages(2, load_pack(load_settings(**knobs)), 60.0)
    try:
        pool.submit("slow", _job("http://127.0.0.1:1/news/slow.html", SLOW_PAGE))
        time.sleep(0.3)  # the page is in a worker, which is now killed as the kernel's OOM killer would
        for worker in _workers_of(os.getpid()):
            os.kill(worker, signal.SIGKILL)
        assert _collect_all(pool, 1) == {"slow": None}
        pool.submit("next", _job("http://127.0.0.1:1/news/0.html", ARTICLE.format(title="Border story 0", n=0).encode()))
        done = _collect_all(pool, 1)
        assert done["next"] is not None and done["next"].article.title == "Border story 0"
    finally:
        pool.close()


def test_a_page_past_the_wall_limit_is_stopped_and_pages_caught_with_it_are_processed_anyway(site):
    _server, knobs = site
    pool = WorkerPages(2, load_pack(load_settings(**knobs)), wall_limit_s=0.5)
    try:
        pool.submit("slow", _job("http://127.0.0.1:1/news/slow.html", SLOW_PAGE))
        for i in range(3):
            pool.submit(i, _job(f"http://127.0.0.1:1/news/{i}.html", ARTICLE.format(title=f"Border story {i}", n=i).encode()))
        done = _collect_all(pool, 4)
    finally:
        pool.close()
    assert done.pop("slow") is None
    assert sorted(d.article.title for d in done.values()) == [f"Border story {i}" for i in range(3)]


# A poll task in its own process, with two workers and pages that keep them busy.
POLL_TASK = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from newsmon.app.stages.poll import poll_feeds
from newsmon.core.settings import load_settings
if __name__ == "__main__":
    home = Path(sys.argv[1])
    settings = load_settings(home=home, config_dir=home / "config", state_dir=home / "var", allow_loopback=True,
                             per_host_min_interval_s=0.0, respect_robots=False, extract_workers=2,
                             extract_pool_min_pages=1)
    poll_feeds(settings, ["desk"], datetime.now(UTC))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds worker processes through /proc")
def test_a_killed_poll_task_leaves_no_worker_process_behind(site, tmp_path):
    server, _knobs = site
    for i in range(STORIES):
        server.add(f"/news/{i}.html", SLOW_PAGE, content_type="text/html")
    script = tmp_path / "poll_task.py"
    script.write_text(POLL_TASK)
    task = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while len(workers := _workers_of(task.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2
        task.send_signal(signal.SIGKILL)
        task.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w for w in workers if _alive(w)] == []
    finally:
        task.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _stored_docs(settings) -> dict[str, dict]:
    from sqlalchemy import select

    from newsmon.store.db import open_engine
    from newsmon.store.schema import articles

    with open_engine(settings.database_url).connect() as conn:
        return {row.id: row.doc for row in conn.execute(select(articles.c.id, articles.c.doc))}


def _strip_worker_extras(settings) -> None:
    """Make the staged rows look as an earlier release staged them: without the workers' fingerprint and signals."""
    from sqlalchemy import update

    from newsmon.app.stages.index import STAGED_KEY
    from newsmon.store.db import open_engine
    from newsmon.store.schema import articles

    with open_engine(settings.database_url).begin() as conn:
        for article_id, doc in _stored_docs(settings).items():
            doc.pop(STAGED_KEY)
            conn.execute(update(articles).where(articles.c.id == article_id).values(doc=doc))


def test_worker_fingerprints_cluster_and_index_the_same_as_the_cluster_step_computing_them_and_never_reach_the_index(
        site, tmp_path):
    from newsmon.app.stages.index import STAGED_KEY, articles_in_status, cluster_and_index
    from newsmon.app.stages.page_pool import PagePools
    from newsmon.enrich.dedup import fingerprint
    from newsmon.store.db import open_engine

    _server, knobs = site
    runs = {}
    for name in ("workers", "earlier_release"):
        settings = load_settings(**knobs, state_dir=tmp_path / name, extract_workers=2, extract_pool_min_pages=2)
        with PagePools(settings) as pools:
            assert poll_feeds(settings, ["desk"], NOW, pools=pools)["staged"] == STORIES
        staged = _stored_docs(settings)
        assert all(doc[STAGED_KEY]["fingerprint"] == list(fingerprint(doc["text"])) for doc in staged.values())
        if name == "earlier_release":
            _strip_worker_extras(settings)
        assert cluster_and_index(settings, NOW)["indexed"] == STORIES
        with open_engine(settings.database_url).connect() as conn:
            runs[name] = sorted((a.id, a.cluster_id, a.story_id, a.dup_reason) for a in articles_in_status(conn, "indexed"))
        assert not any(STAGED_KEY in doc for doc in _stored_docs(settings).values())
    assert runs["workers"] == runs["earlier_release"]


def test_two_links_to_one_article_in_one_poll_stage_it_once_and_the_next_poll_fetches_neither(tmp_path):
    from newsmon.app.stages.page_pool import PagePools

    with FeedServer() as server:
        canonical = server.url("/news/story.html")
        page = ARTICLE.format(title="Border story", n=1).replace(
            "</title>", f"</title><link rel='canonical' href='{canonical}'>").encode()
        links = [f"/news/{name}.html" for name in ("story-amp", "story-print", "story-mobile")]
        for link in links:
            server.add(link, page, content_type="text/html")
        items = "".join(f"<item><title>Border story</title><link>{server.url(link)}</link><guid>{link}</guid></item>"
                        for link in links)
        server.add("/feed.xml", f"<?xml version='1.0'?><rss version='2.0'><channel><title>Desk</title>{items}"
                                "</channel></rss>".encode())
        config = tmp_path / "config"
        shutil.copytree(REPO / "config" / "topics", config / "topics")
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - id: desk\n    name: Desk\n    url: {server.url('/feed.xml')}\n    language: en\n"
            "    evidence: served by the test's loopback site\n", encoding="utf-8")
        settings = load_settings(home=tmp_path, config_dir=config, allow_loopback=True, per_host_min_interval_s=0.0,
                                 respect_robots=False, state_dir=tmp_path / "var", extract_workers=2,
                                 extract_pool_min_pages=2)
        with PagePools(settings) as pools:
            first = poll_feeds(settings, ["desk"], NOW, pools=pools)
        assert (first["staged"], first["duplicates_url"]) == (1, 2)
        assert len(_stored_docs(settings)) == 1
        fetched = len(server.hits)
        again = poll_feeds(settings, ["desk"], NOW)
        assert "staged" not in again and "duplicates_url" not in again
        assert len(server.hits) == fetched + 1  # the feed only


def test_a_worker_starts_with_the_warmed_libraries_frozen_out_of_its_cycle_collections():
    import gc
    from concurrent.futures import ProcessPoolExecutor

    from newsmon.app.stages import page_pool

    if page_pool._context().get_start_method() != "forkserver":
        pytest.skip("workers fork from a warm server only where forkserver exists")
    with ProcessPoolExecutor(1, mp_context=page_pool._context()) as pool:
        frozen = pool.submit(gc.get_freeze_count).result(timeout=60)
    # trafilatura, lxml's wrappers, dateparser and the tagger, imported and set up before the fork
    assert frozen > 10_000


# A program that, like the airflow command inside a task, cannot be run a second time in a worker.
PROGRAM_THAT_MUST_NOT_RUN_TWICE = """
import sys
if __name__ != "__main__":
    raise RuntimeError("a worker re-ran the program that started its pool")
from datetime import UTC, datetime
from pathlib import Path
from newsmon.app.stages.page_pool import PagePools
from newsmon.app.stages.poll import poll_feeds
from newsmon.core.settings import load_settings
home, config, state = map(Path, sys.argv[1:4])
settings = load_settings(home=home, config_dir=config, state_dir=state, allow_loopback=True, per_host_min_interval_s=0.0,
                         respect_robots=False, extract_workers=2, extract_pool_min_pages=2)
with PagePools(settings) as pools:
    counts = poll_feeds(settings, ["desk"], datetime(2026, 3, 5, 9, 0, tzinfo=UTC), pools=pools)
    print(counts["staged"], len(pools.started.peak_rss_mb) if pools.started else 0)
"""


def test_workers_never_re_run_the_program_that_started_their_pool(site, tmp_path):
    _server, knobs = site
    program = tmp_path / "program.py"
    program.write_text(PROGRAM_THAT_MUST_NOT_RUN_TWICE, encoding="utf-8")
    done = subprocess.run([sys.executable, str(program), str(knobs["home"]), str(knobs["config_dir"]),
                           str(tmp_path / "var")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "re-ran the program" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    staged, workers = map(int, done.stdout.split())
    assert (staged, workers >= 1) == (STORIES, True)
