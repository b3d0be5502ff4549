"""`newsmon es setup|reindex|status`: install the index template and write alias, rebuild the index, show state."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from newsmon.core.documents import article_to_document
from newsmon.core.settings import Settings
from newsmon.core.text import printable
from newsmon.store.articles import UnreadableArticle, indexed_articles
from newsmon.store.db import open_engine
from newsmon.store.elastic import ElasticIndex


def register(p: argparse.ArgumentParser) -> None:
    p.description = "Manage the Elasticsearch index behind NEWSMON_ES_ALIAS (default newsmon-articles)."
    actions = p.add_subparsers(dest="es_action", metavar="ACTION", required=True)
    setup = actions.add_parser("setup", help="install the index template, first index and write alias (idempotent)")
    setup.set_defaults(func=run)
    reindex = actions.add_parser(
        "reindex", help="rebuild from the state DB into a new index and swap the alias (after a mapping change)")
    reindex.add_argument("--delete-old", action="store_true",
                         help="delete the old indices in the same atomic alias swap (default: keep them)")
    reindex.set_defaults(func=run)
    status = actions.add_parser("status", help="show the alias, its indices, the template version and the count")
    status.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    index = ElasticIndex.from_settings(settings)
    try:
        if args.es_action == "setup":
            return _setup(index)
        if args.es_action == "reindex":
            return _reindex(index, settings, delete_old=args.delete_old)
        return _status(index)
    finally:
        index.close()


def _setup(index: Any) -> int:
    report = index.setup()
    template = "installed" if report.previous_template_version is None else (
        "updated" if report.template_changed else "unchanged")
    first = "created" if report.created_index else "already there"
    print(f"index template {report.template}: {template}")
    print(f"alias {index.alias} -> write index {report.write_index} ({first})")
    for note in report.notes:
        print(f"note: {printable(note)}")
    return 0


def _reindex(index: Any, settings: Settings, *, delete_old: bool) -> int:
    engine = open_engine(settings.database_url)
    skipped: list[UnreadableArticle] = []

    def documents() -> Iterator[dict[str, Any]]:
        # Through the record, so the documents have the shape ingestion gives them today.
        return (article_to_document(article) for article in indexed_articles(engine, skipped))

    report = index.reindex(documents, delete_old=delete_old)
    print(f"built {report.new_index}: {report.created} created, {report.duplicates} duplicate id(s)")
    if skipped:
        # The documents are read twice (build, then catch-up): count each unreadable article once.
        unreadable = len({s.article_id for s in skipped})
        print(f"newsmon: {unreadable} stored article(s) could not be read and were left out, e.g. "
              f"{printable(skipped[0].article_id)}: {printable(skipped[0].reason)}", file=sys.stderr)
    if not report.swapped:
        first_id, reason = next(iter(report.failed.items()))
        print(f"newsmon: {len(report.failed)} document(s) failed (e.g. {first_id}: {printable(reason)}); the alias "
              f"still points "
              f"at {', '.join(report.old_indices) or 'nothing'} and {report.new_index} is left for inspection",
              file=sys.stderr)
        return 2
    old = ", ".join(report.old_indices) or "none"
    print(f"alias {index.alias} -> {report.new_index}; old indices {'deleted' if report.deleted_old else 'kept'}: {old}")
    if report.caught_up:
        print(f"caught up {report.caught_up} article(s) indexed while the new index was being built")
    if report.failed:
        print(f"newsmon: {len(report.failed)} article(s) failed during the catch-up; they are still in the state DB "
              "and the next run retries them", file=sys.stderr)
        return 2
    return 0


def _status(index: Any) -> int:
    state = index.status()
    print(f"cluster {index.url}, alias {index.alias}")
    if not state.indices:
        print("no alias yet: run `newsmon es setup`")
        return 2
    for name, is_write in sorted(state.indices.items()):
        print(f"  {name}{' (write index)' if is_write else ''}")
    print(f"documents: {state.count}")
    print(f"template version: installed {state.installed_template_version}, this newsmon {state.file_template_version}")
    if state.installed_template_version != state.file_template_version:
        print("the installed template differs: run `newsmon es setup`, then `newsmon es reindex`")
    return 0
