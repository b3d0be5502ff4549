"""A loopback site of three named outlets carrying one story (English, Lithuanian, Russian), served as feeds."""

from __future__ import annotations

from story_fixtures import CLOSURE_EN, CLOSURE_LT, CLOSURE_RU

from newsmon.app.demo import content as demo_content
from newsmon.app.demo.content import DemoArticle
from newsmon.app.demo.fixture_server import Route

# feed id → (outlet name, language, affiliation, the page, published)
OUTLETS = {
    "baltic-wire": ("Baltic Wire", "en", "wire", CLOSURE_EN, "2025-10-29T10:00:00+00:00"),
    "pasienio-zinios": ("Pasienio žinios", "lt", "public_broadcaster", CLOSURE_LT, "2025-10-29T09:00:00+00:00"),
    "minsk-herald": ("Minsk Herald", "ru", "state_controlled", CLOSURE_RU, "2025-10-29T12:00:00+00:00"),
}


def serve(env, carrying: set[str]) -> None:
    """Every outlet's feed, each listing the story only if the outlet is in `carrying` (the others list nothing)."""
    base = env.server.base_url
    env.server.routes.clear()
    env.server.routes["/robots.txt"] = Route(b"User-agent: *\n", "text/plain")
    feeds = ["feeds:"]
    for outlet, (name, lang, affiliation, (title, text), published) in OUTLETS.items():
        page = DemoArticle(outlet, "closure", lang, title, (text,), published)
        env.server.routes[demo_content.article_path(page)] = Route(demo_content.render_page(page, base))
        items = [(page.title, base + demo_content.article_path(page), page.published)] if outlet in carrying else []
        env.server.routes[f"/{outlet}/rss.xml"] = Route(demo_content.render_rss(outlet, items, base, lang),
                                                        "application/rss+xml")
        feeds += [f"  - id: {outlet}", f"    name: {name}", f"    url: {base}/{outlet}/rss.xml",
                  f"    language: {lang}", f"    affiliation: {affiliation}",
                  "    evidence: the test's own loopback site"]
    env.settings.feeds_file.write_text("\n".join(feeds) + "\n", encoding="utf-8")


def mail_channel(env) -> str:
    return f"smtp://127.0.0.1:{env.smtp.port}/?to=desk@example.org&from=newsmon@example.org"


def plain_bodies(env, word: str = "") -> list[str]:
    """The text of every mail the SMTP server took whose subject holds `word`."""
    return [m.get_body(preferencelist=("plain",)).get_content() for m in env.smtp.messages if word in str(m["Subject"])]
