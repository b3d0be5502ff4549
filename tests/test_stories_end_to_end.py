"""One event from three loopback outlets in three languages: one story, one alert per rule, a digest showing all three."""

from __future__ import annotations

import json

from sqlalchemy import select
from story_fixtures import CLOSURE_EN, CLOSURE_LT, CLOSURE_RU, REACTION_RU

from newsmon.app.demo import content as demo_content
from newsmon.app.demo.content import DemoArticle
from newsmon.app.demo.fixture_server import Route
from newsmon.app.stages.alert import send_digests
from newsmon.app.stages.run import run_once
from newsmon.store.db import open_engine
from newsmon.store.schema import alert_outbox
from newsmon.store.stories import list_stories

OUTLETS = {  # outlet id of the demo site → (language, affiliation, the page)
    "baltic-wire": ("en", "wire", CLOSURE_EN, "2025-10-29T10:00:00+00:00"),
    "pasienio-zinios": ("lt", "public_broadcaster", CLOSURE_LT, "2025-10-29T09:00:00+00:00"),
    "minsk-herald": ("ru", "state_controlled", CLOSURE_RU, "2025-10-29T12:00:00+00:00"),
}


def _serve(env, *, with_reaction: bool = False) -> None:
    base = env.server.base_url
    env.server.routes.clear()
    env.server.routes["/robots.txt"] = Route(b"User-agent: *\n", "text/plain")
    feeds = ["feeds:"]
    for outlet, (lang, affiliation, (title, text), published) in OUTLETS.items():
        pages = [DemoArticle(outlet, "closure", lang, title, (text,), published)]
        if with_reaction and outlet == "minsk-herald":
            pages.append(DemoArticle(outlet, "reaction", lang, REACTION_RU[0], (REACTION_RU[1],), "2025-10-29T14:00:00+00:00"))
        for page in pages:
            env.server.routes[demo_content.article_path(page)] = Route(demo_content.render_page(page, base))
        items = [(p.title, base + demo_content.article_path(p), p.published) for p in pages]
        env.server.routes[f"/{outlet}/rss.xml"] = Route(demo_content.render_rss(outlet, items, base, lang), "application/rss+xml")
        feeds += [f"  - id: {outlet}", f"    name: {outlet}", f"    url: {base}/{outlet}/rss.xml", f"    language: {lang}",
                  f"    affiliation: {affiliation}", "    evidence: the test's own loopback site"]
    env.settings.feeds_file.write_text("\n".join(feeds) + "\n", encoding="utf-8")
    mail = f"smtp://127.0.0.1:{env.smtp.port}/?to=desk@example.org&from=newsmon@example.org"
    env.settings.alerts_file.write_text(
        "rules:\n"
        f"  - {{name: border, query: '*', on_topic: true, channels: ['file:{env.alerts_file}'], mode: instant}}\n"
        f"  - {{name: digest, query: '*', on_topic: true, channels: ['{mail}'], mode: daily}}\n"
        f"  - {{name: copies, query: '*', on_topic: true, group_by: cluster, channels: ['file:{env.alerts_file}'], mode: daily}}\n"
        f"  - {{name: pickups, query: 'medininkai', pickup: true, channels: ['file:{env.workdir}/pickups.jsonl'], mode: instant}}\n",
        encoding="utf-8")


def _outbox(env) -> list[tuple[str, str]]:
    with open_engine(env.settings.database_url).connect() as conn:
        return sorted(conn.execute(select(alert_outbox.c.rule, alert_outbox.c.cluster_id)).all())


def test_one_event_in_three_languages_is_one_story_one_alert_per_rule_and_a_digest_of_three_outlets(demo_env):
    _serve(demo_env)
    run_once(demo_env.settings)

    [story] = list_stories(open_engine(demo_env.settings.database_url))
    assert story.summary.languages == ("en", "lt", "ru")
    assert story.summary.size == 3
    rows = _outbox(demo_env)
    assert [r for r in rows if r[0] == "border"] == [("border", f"story:{story.summary.story_id}")]
    assert len([r for r in rows if r[0] == "digest"]) == 1
    assert len([r for r in rows if r[0] == "copies"]) == 3  # a rule grouped by copy cluster sees three texts
    assert len(demo_env.alerts_file.read_text().splitlines()) == 1

    send_digests(demo_env.settings, "daily")
    [mail] = [m for m in demo_env.smtp.messages if "digest" in str(m["Subject"])]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "also reported by 2 other outlets: baltic-wire (en, wire), minsk-herald (ru, state-controlled)" in body


def test_a_pickup_rule_alerts_when_the_story_reaches_a_new_language_and_a_state_controlled_outlet(demo_env):
    _serve(demo_env, with_reaction=True)
    run_once(demo_env.settings)
    pickups = [json.loads(line) for line in (demo_env.workdir / "pickups.jsonl").read_text().splitlines()]
    notes = sorted(p["stories"][0]["note"] for p in pickups)
    assert notes == [
        "pickup: the pasienio-zinios story is now carried by baltic-wire, in English",
        "pickup: the pasienio-zinios story is now carried by minsk-herald, a state-controlled outlet, in Russian",
        "pickup: the pasienio-zinios story is now carried by minsk-herald, in Russian",
    ]
    # The reaction is its own story, whose first article is no pickup of anything.
    assert all(p["stories"][0]["article_id"] != _reaction_id(demo_env) for p in pickups)


def _reaction_id(env) -> str:
    listings = list_stories(open_engine(env.settings.database_url))
    [reaction] = [s for s in listings if s.summary.size == 1]
    return reaction.summary.first_article_id
