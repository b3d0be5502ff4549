"""`newsmon demo`: the whole pipeline offline, on a loopback site of the team's own feeds and pages."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from newsmon.app.commands.run import run_pass
from newsmon.app.demo import content as demo_content
from newsmon.app.demo.fixture_server import FixtureServer
from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.core.settings import Settings, load_settings
from newsmon.core.text import markup
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep", action="store_true", help="keep the temporary store and print where it is")
    p.set_defaults(func=run)


def demo_settings(base: Settings, workdir: Path, *, base_url: str, smtp_port: int | None) -> Settings:
    """Settings for a demo/test run: a config dir for the loopback site, the project's topic pack, loopback allowed."""
    config = workdir / "config"
    (config / "topics").mkdir(parents=True, exist_ok=True)
    for pack in sorted(base.topics_dir.glob("*.yaml")):
        shutil.copy(pack, config / "topics" / pack.name)
    (config / "feeds.yaml").write_text(demo_content.feeds_yaml(base_url), encoding="utf-8")
    alerts_file = workdir / "alerts.jsonl"
    (config / "alerts.yaml").write_text(demo_content.alerts_yaml(str(alerts_file), smtp_port), encoding="utf-8")
    return load_settings(
        home=workdir, config_dir=config, state_dir=workdir / "var", state_url=None, search_backend="sqlite",
        allow_loopback=True, per_host_min_interval_s=0.02, per_host_concurrency=4,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(highlight=False)
    workdir = Path(tempfile.mkdtemp(prefix="newsmon-demo-"))
    with FixtureServer() as server, SmtpSink() as smtp:
        server.routes.update(demo_content.build_routes(server.base_url))
        demo = demo_settings(settings, workdir, base_url=server.base_url, smtp_port=smtp.port)
        console.rule("[bold]newsmon demo")
        console.print(f"Local site: {server.base_url} · SMTP server: 127.0.0.1:{smtp.port} · store: {workdir}")
        console.print(f"{len(demo_content.ARTICLES)} articles by 5 outlets in en/lt/ru/pl, plus a broken feed, "
                      "a missing page and a PDF.\n")
        console.rule("1. First ingest pass")
        run_pass(demo, console)

        engine = open_engine(demo.database_url)
        index = open_index(demo, engine)
        console.rule("2. What was indexed")
        table = Table(show_header=True, header_style="bold")
        for col in ("title", "source", "lang", "published", "LT–BY", "subtopics", "story"):
            table.add_column(col)
        for hit in index.search(SearchQuery(q="*", limit=50, sort="date")):
            table.add_row(markup(hit.title[:60]), markup(hit.source), markup(hit.language or "?"),
                          hit.published_at.strftime("%Y-%m-%d") if hit.published_at else "unknown",
                          f"yes {hit.relevance:.2f}" if hit.on_topic else "no", ", ".join(hit.subtopics) or "-",
                          f"{hit.cluster_id[:8]} ({hit.cluster_size})" if hit.cluster_id else "-")
        console.print(table)

        console.rule("3. Searches")
        for q in ("salcininkai", "balloons AND NOT source:north-daily"):
            hits = index.search(SearchQuery(q=q, limit=5))
            console.print(f"[bold]newsmon search {q!r}[/] → {len(hits)} hit(s)")
            for h in hits:
                console.print(f"  {markup(h.title)} [dim]({markup(h.source)}, {markup(h.language)})[/]")
                console.print(f"    [dim]{markup(h.snippet[:150])}[/]")

        console.rule("4. Alerts")
        alerts_file = workdir / "alerts.jsonl"
        lines = alerts_file.read_text(encoding="utf-8").splitlines() if alerts_file.exists() else []
        console.print(f"Alert file {alerts_file}: {len(lines)} alert(s)")
        for line in lines:
            alert = json.loads(line)
            console.print(f"  rule {markup(repr(alert['rule']))}: {markup(alert['title'])} ({markup(alert['source'])})")
        console.print(f"SMTP server received {len(smtp.messages)} message(s)")
        for msg in smtp.messages:
            console.print(f"  To: {markup(msg['To'])} · Subject: {markup(msg['Subject'])}")
            body = msg.get_body(preferencelist=("plain",))
            if body is not None:
                for text_line in body.get_content().splitlines()[:4]:
                    console.print(f"    [dim]{markup(text_line)}[/]")

        console.rule("5. Second pass over every feed: nothing new, no new alerts")
        run_pass(demo, console, force=True)
        console.print(f"SMTP messages after the second pass: {len(smtp.messages)}")
        index.close()
    if args.keep:
        console.print(f"Store kept in {workdir}; try: NEWSMON_HOME={workdir} NEWSMON_CONFIG_DIR={workdir / 'config'} "
                      f"newsmon search balloons")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
