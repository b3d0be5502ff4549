"""`newsmon alerts`: check the rules, see the outbox, deliver pending alerts and digests now, try a rule."""

from __future__ import annotations

import argparse
from datetime import datetime

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from newsmon.alerts.compose import feed_outlets
from newsmon.alerts.outbox import list_outbox, outbox_totals, retry_failed
from newsmon.alerts.preview import preview_rule
from newsmon.alerts.render import affiliation_label
from newsmon.app.stages.alert import send_alerts, send_digests
from newsmon.core.channel_urls import describe_channel
from newsmon.core.config import AlertChannel, AlertRule, QuietHours, check_alert_rules
from newsmon.core.errors import UserError
from newsmon.core.records import Article
from newsmon.core.settings import Settings
from newsmon.core.text import markup
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine


def register(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("check", help="validate config/alerts.yaml and show each rule").set_defaults(func=check)
    outbox = actions.add_parser("outbox", help="alerts queued, sent or failed")
    outbox.add_argument("--status", choices=("pending", "sending", "sent", "failed", "dropped"), help="only this status")
    outbox.add_argument("-n", "--limit", type=int, default=30)
    outbox.set_defaults(func=show_outbox)
    retry = actions.add_parser("retry", help="put failed alerts back in the queue (all, or --id N)")
    retry.add_argument("--id", type=int, action="append", default=[], help="outbox row id (repeatable)")
    retry.set_defaults(func=requeue)
    send = actions.add_parser("send", help="deliver due instant alerts now (or a digest with --digest)")
    send.add_argument("--digest", choices=("hourly", "daily"), help="send this digest now instead")
    send.set_defaults(func=send_now)
    test = actions.add_parser("test", help="what a rule (or a draft --query) would have sent, grouped by story; "
                                           "sends nothing and records nothing")
    test.add_argument("rule", nargs="?", help="a rule of alerts.yaml (its filters, grouping and query)")
    test.add_argument("--query", help="a draft Lucene query to try instead of the rule's (alone: with no filters)")
    test.add_argument("--since", type=_since, default="7d",
                      help="articles published (or, if undated, fetched) since: 2025-06-01, ISO datetime, 6h, 7d "
                           "(default 7d)")
    test.set_defaults(func=try_rule)


def check(args: argparse.Namespace, settings: Settings) -> int:
    checked = check_alert_rules(settings.alerts_file)
    rules = checked.rules
    console = Console(highlight=False)
    if not rules and not checked.problems:
        console.print(f"no alert rules in {markup(settings.alerts_file)}")
        return 0
    table = Table(title=markup(settings.alerts_file))
    for col in ("rule", "query", "filters", "mode", "channels"):
        table.add_column(col)
    for r in rules:
        filters = ", ".join(f"{k}={v}" for k, v in (("on_topic", r.on_topic), ("subtopics", r.subtopics),
                                                     ("languages", r.languages), ("sources", r.sources),
                                                     ("min_relevance", r.min_relevance)) if v not in (None, [], 0.0))
        table.add_row(markup(r.name) + ("" if r.enabled else " (disabled)"), markup(r.query), markup(filters or "-"),
                      "\n".join([r.mode, *_sending(r)]), "\n".join(markup(_channel(r, c)) for c in r.channels))
    console.print(table)
    console.print(f"{len(rules)} rule(s) OK")
    if checked.problems:
        # The pipeline runs the rules above and leaves these out until they are fixed.
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        errors.print(f"newsmon: {len(checked.problems)} rule(s) left out:")
        for problem in checked.problems:
            errors.print("  " + markup(problem))
        return 2
    return 0


def _sending(rule: AlertRule) -> list[str]:
    """The rule's delivery options that differ from the defaults, one per line."""
    lines = [f"updates: {rule.updates}"] if rule.updates != "digest" else []
    lines += _window_and_limit(rule, rule.quiet_hours, rule.max_per_hour)
    if rule.mute_until:
        lines.append(f"muted until {rule.mute_until.isoformat()}")
    stops = lines or any(c.quiet_hours or c.max_per_hour for c in rule.channels)
    if stops and rule.hold == "drop":
        lines.append("stopped alerts dropped")
    return lines


def _window_and_limit(rule: AlertRule, quiet: QuietHours | None, max_per_hour: int | None) -> list[str]:
    lines = []
    if quiet:
        lines.append(f"quiet {quiet.start:%H:%M}–{quiet.end:%H:%M} {quiet.timezone}" + (" (urgent: ignored)" if rule.urgent else ""))
    if max_per_hour:
        lines.append(f"max {max_per_hour}/hour")
    return lines


def _channel(rule: AlertRule, channel: AlertChannel) -> str:
    """A channel as check shows it: never its secret, and its own quiet hours and limit (these hold it alone)."""
    own = _window_and_limit(rule, channel.quiet_hours, channel.max_per_hour)
    return describe_channel(channel.url) + (f" ({', '.join(own)})" if own else "")


def show_outbox(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings.database_url)
    entries = list_outbox(engine, status=args.status, limit=args.limit)
    totals = outbox_totals(engine)
    console = Console(highlight=False)
    table = Table(title="alert outbox (newest first)")
    for col in ("id", "rule", "status", "tries", "created", "story", "last error"):
        table.add_column(col)
    for e in entries:
        status = f"{e.status} (held to {e.held_until:%Y-%m-%d %H:%M})" if e.held_until and e.status == "pending" else e.status
        title = f"update ({e.copy_id}): {e.title}" if e.copy_id else e.title
        table.add_row(str(e.id), markup(e.rule), status, str(e.attempts), e.created_at.strftime("%Y-%m-%d %H:%M"),
                      markup(title[:60]), markup((e.last_error or "")[:60]))
    console.print(table)
    console.print(" · ".join(f"{k}: {v}" for k, v in sorted(totals.items())) or "the outbox is empty")
    return 0


def send_now(args: argparse.Namespace, settings: Settings) -> int:
    counts = send_digests(settings, args.digest) if args.digest else send_alerts(settings)
    print(" · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items() if isinstance(v, int)))
    return 1 if counts.get("retry_later") or counts.get("failed") else 0


def _since(value: str) -> datetime:
    from newsmon.app.commands.search import parse_since

    return parse_since(value)


def _rule_to_try(args: argparse.Namespace, settings: Settings) -> AlertRule:
    if args.rule is None and args.query is None:
        raise UserError("name a rule of alerts.yaml, or give a draft query with --query '…'")
    if args.rule is None:
        rule = AlertRule(name="draft", query=args.query, channels=["file:draft.jsonl"])
    else:
        checked = check_alert_rules(settings.alerts_file)
        found = {r.name: r for r in checked.rules}
        if args.rule not in found:
            broken = [p for p in checked.problems if f"rule {args.rule!r}" in p]
            raise UserError("; ".join(broken) if broken else
                            f"no rule {args.rule!r} in {settings.alerts_file}; rules: {', '.join(found) or 'none'}")
        rule = found[args.rule]
        if args.query is not None:
            rule = AlertRule.model_validate({**rule.model_dump(), "query": args.query})
    return rule


def try_rule(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rule = _rule_to_try(args, settings)
    except ValidationError as exc:  # a draft query that does not parse
        raise UserError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from exc
    engine = open_engine(settings.database_url)
    index = open_index(settings, engine)
    try:
        preview = preview_rule(engine, index, rule, args.since)
    finally:
        index.close()
    feeds = feed_outlets(settings)
    console = Console(highlight=False, soft_wrap=True)  # one line per fact: titles and URLs stay whole
    console.print(f"rule {markup(rule.name)!s} ({rule.mode}, one alert per {rule.group_by}) on {settings.search_backend}, "
                  f"since {args.since:%Y-%m-%d %H:%M} UTC: query {markup(repr(rule.query))}")
    for number, story in enumerate(preview.stories, 1):
        first = story.first
        when = first.published_at.strftime("%Y-%m-%d %H:%M UTC") if first.published_at else "date unknown"
        seen = " [dim](already alerted)[/]" if story.already_alerted else ""
        console.print(f"{number}. [bold]{markup(first.title)}[/]{seen}")
        console.print(f"   {markup(_outlet_label(feeds, first))} · {when} · {markup(first.language or '?')} · "
                      f"{markup(first.url)}")
        for other in story.others:
            console.print(f"   also: {markup(_outlet_label(feeds, other))} · {markup(other.language or '?')} · "
                          f"{markup(other.title)}")
    console.print(f"{len(preview.stories)} alert(s) from {preview.matched} matching article(s) of {preview.scanned} "
                  "indexed in the period; nothing was sent or recorded")
    console.print(f"[dim]the {settings.search_backend} index's own search for the query (what `newsmon search` and Kibana "
                  f"show) finds {preview.index_found} of the {preview.matched}"
                  + (f", and {preview.index_other} article(s) the rule does not match" if preview.index_other else "")
                  + "[/]")
    if preview.truncated:
        console.print("[yellow]the period holds more than a preview reads: narrow --since[/]")
    return 0


def _outlet_label(feeds: dict, article: Article) -> str:
    feed = feeds.get(article.source or "")
    name = feed.name if feed else (article.source or "?")
    affiliation = affiliation_label(article.source_affiliation or (feed.affiliation if feed else None))
    return f"{name} ({affiliation})" if affiliation else name


def requeue(args: argparse.Namespace, settings: Settings) -> int:
    n = retry_failed(open_engine(settings.database_url), args.id)
    print(f"{n} failed alert(s) queued again; they go out with the next run or `newsmon alerts send`")
    return 0
