"""The demo site: feeds and article pages written by the newsmon team (fictional outlets, invented reports).

Several languages, one page with a reader-comment section, one story republished by a second outlet,
an off-topic Poland–Belarus border story, and the kinds of breakage a real feed list always has: a
broken feed, a link to a missing page and a link to a PDF. Used by `newsmon demo`, the tests and the
replay benchmark.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from newsmon.app.demo.fixture_server import Route


@dataclass(frozen=True)
class DemoArticle:
    outlet: str
    slug: str
    lang: str
    title: str
    paragraphs: tuple[str, ...]
    published: str | None  # ISO 8601, or None when the page gives no date
    comments: tuple[str, ...] = ()


STORY_A = (
    "Lithuania closed the Medininkai checkpoint on its border with Belarus on Thursday evening after "
    "dozens of smuggling balloons drifted into Lithuanian airspace and forced Vilnius airport to halt "
    "flights for several hours.",
    "The State Border Guard Service said the balloons, carrying contraband cigarettes, were launched from "
    "the Belarusian side near Ashmyany. Interior ministry officials described the incursions as a "
    "deliberate hybrid attack tolerated by Minsk.",
    "Lorry drivers queuing at the crossing were directed to the Šalčininkai checkpoint, where waiting times "
    "rose above ten hours by midnight. Hauliers' associations asked the government for a clear timetable.",
    "The government in Vilnius said the closure would be reviewed within a week and that the Belarusian "
    "chargé d'affaires had been summoned to explain why the launches continue.",
    "Belarusian state media called the closure a political provocation and said Lithuanian carriers "
    "would bear the costs of the decision.",
)

ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        "baltic-wire", "medininkai-closed", "en",
        "Lithuania shuts Medininkai crossing after balloon incursions from Belarus",
        STORY_A, "2026-11-19T18:40:00+00:00",
    ),
    DemoArticle(
        "north-daily", "border-crossing-shut", "en",
        "Vilnius closes border post as smuggling balloons ground flights",
        ("This report was distributed by Baltic Wire and is republished with permission.", *STORY_A),
        "2026-11-19T21:05:00+00:00",
    ),
    DemoArticle(
        "baltic-wire", "poland-fence-extension", "en",
        "Poland extends its border fence with Belarus near Białowieża",
        (
            "Poland will add another forty kilometres of barrier along its frontier with Belarus, the "
            "defence ministry in Warsaw said on Tuesday, citing continued attempts to cross through the "
            "Białowieża forest.",
            "Polish border guards reported more than two hundred attempted crossings in the past week, "
            "mostly at night and in marshland where the existing fence is weakest.",
            "The ministry said soldiers would stay deployed along the Podlaskie section through the winter "
            "and that new thermal cameras would be installed at Kuźnica and Bobrowniki.",
            "Human rights groups in Warsaw criticised the plan and asked for independent monitors at the "
            "frontier, saying people were being pushed back into the forest in freezing weather.",
        ),
        "2026-11-17T09:15:00+00:00",
    ),
    DemoArticle(
        "pasienio-zinios", "salcininku-punktas", "lt",
        "Šalčininkų pasienio punkte – dešimties valandų eilės",
        (
            "Uždarius Medininkų kontrolės punktą, sunkvežimių vairuotojai nukreipiami į Šalčininkų pasienio "
            "punktą prie Baltarusijos sienos, kur eilės ketvirtadienio naktį išaugo iki dešimties valandų.",
            "Valstybės sienos apsaugos tarnyba teigia, kad iš Baltarusijos paleisti balionai su kontrabandinėmis "
            "cigaretėmis vėl pažeidė Lietuvos oro erdvę, o Vilniaus oro uostas kelioms valandoms sustabdė skrydžius.",
            "Vežėjų asociacijos atstovai prašo Vyriausybės aiškiai pasakyti, kada Medininkų punktas vėl bus "
            "atidarytas, nes įmonės patiria nuostolių kiekvieną dieną.",
            "Vidaus reikalų ministerija pabrėžė, kad sprendimas bus peržiūrėtas per savaitę, o Baltarusijos "
            "diplomatas iškviestas į Užsienio reikalų ministeriją paaiškinimų.",
        ),
        "2026-11-20T06:30:00+00:00",
        comments=(
            "Jonas77: pagaliau kažkas daro tvarką, seniai reikėjo uždaryti visus punktus",
            "Vilnietė: o kas kompensuos vežėjams? niekas neatsakys",
            "Anonimas: kiek galima kęsti tas provokacijas iš kaimynų",
        ),
    ),
    DemoArticle(
        "minsk-herald", "litva-zakryla-kpp", "ru",
        "Литва закрыла пункт пропуска «Мядининкай» на границе с Беларусью",
        (
            "Литва в четверг вечером закрыла пункт пропуска «Мядининкай» на границе с Беларусью после того, "
            "как в воздушное пространство страны залетели десятки воздушных шаров с контрабандными сигаретами.",
            "Из-за шаров аэропорт Вильнюса на несколько часов приостановил приём и отправку рейсов. "
            "Пограничная служба Литвы заявила, что шары запускались с белорусской стороны.",
            "Грузовики направляют на пункт пропуска «Шальчининкай», где очередь к полуночи превысила десять часов. "
            "В Минске решение Вильнюса назвали политической провокацией.",
        ),
        "2026-11-20T08:00:00+00:00",
    ),
    DemoArticle(
        "wilno-tydzien", "soleczniki-kolejki", "pl",
        "Kolejki tirów w Solecznikach po zamknięciu przejścia w Miednikach",
        (
            "Po zamknięciu przez Litwę przejścia granicznego w Miednikach na granicy z Białorusią kierowcy "
            "ciężarówek czekają w Solecznikach nawet dziesięć godzin.",
            "Litewska Państwowa Służba Ochrony Granic informuje, że balony z przemycanymi papierosami, "
            "wypuszczane z terytorium Białorusi, ponownie zakłóciły pracę lotniska w Wilnie.",
            "Przewoźnicy apelują do rządu w Wilnie o jasny harmonogram ponownego otwarcia przejścia.",
        ),
        None,
    ),
)

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title} | {outlet_name}</title>
<link rel="canonical" href="{url}">
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{outlet_name}">
{date_meta}
</head>
<body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<header><nav><a href="/">Home</a> <a href="/{outlet}/politics">Politics</a> <a href="/{outlet}/region">Region</a>
<a href="/{outlet}/sport">Sport</a> <a href="/{outlet}/weather">Weather</a></nav></header>
<main>
<article>
<h1>{title}</h1>
{byline}
{body}
</article>
<aside class="related"><h3>Read also</h3><ul>
<li><a href="/{outlet}/older-1">Weather warning for the weekend</a></li>
<li><a href="/{outlet}/older-2">Basketball league results</a></li></ul></aside>
{comments}
</main>
<footer><p>© {outlet_name}. All rights reserved. Contact the newsroom: desk@example.org</p></footer>
</body>
</html>
"""

COMMENTS_TEMPLATE = """<section id="comments" class="comments-area">
<h3>Komentarai ({n})</h3>
<ol class="comment-list">{items}</ol>
<form class="comment-form"><textarea name="comment"></textarea><button>Komentuoti</button></form>
</section>"""

OUTLET_NAMES = {
    "baltic-wire": "Baltic Wire",
    "north-daily": "North Daily",
    "pasienio-zinios": "Pasienio žinios",
    "minsk-herald": "Minsk Herald",
    "wilno-tydzien": "Tydzień Wileński",
    "misc": "Miscellany",
}


def article_path(a: DemoArticle) -> str:
    return f"/{a.outlet}/{a.slug}.html"


def render_page(a: DemoArticle, base_url: str) -> bytes:
    url = base_url + article_path(a)
    date_meta = f'<meta property="article:published_time" content="{a.published}">' if a.published else ""
    byline = f'<p class="byline">By the {html.escape(OUTLET_NAMES[a.outlet])} desk</p>'
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
    comments = ""
    if a.comments:
        items = "".join(
            f'<li class="comment"><div class="comment-body"><p>{html.escape(c)}</p></div></li>' for c in a.comments
        )
        comments = COMMENTS_TEMPLATE.format(n=len(a.comments), items=items)
    return PAGE_TEMPLATE.format(
        lang=a.lang, title=html.escape(a.title), outlet=a.outlet, outlet_name=html.escape(OUTLET_NAMES[a.outlet]),
        url=html.escape(url), date_meta=date_meta, byline=byline, body=body, comments=comments,
    ).encode("utf-8")


def _rfc822(iso: str | None) -> str:
    if not iso:
        return ""
    return f"<pubDate>{format_datetime(datetime.fromisoformat(iso))}</pubDate>"


def render_rss(outlet: str, items: list[tuple[str, str, str | None]], base_url: str, lang: str) -> bytes:
    """RSS 2.0 with (title, link, iso date) items."""
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link><guid>{html.escape(link)}</guid>"
        f"{_rfc822(d)}</item>"
        for t, link, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(OUTLET_NAMES[outlet])}'
        f"</title><link>{base_url}/{outlet}/</link><language>{lang}</language><description>Latest news</description>"
        f"{body}</channel></rss>"
    ).encode()


def render_atom(outlet: str, items: list[tuple[str, str, str | None]], base_url: str) -> bytes:
    entries = "".join(
        f'<entry><title>{html.escape(t)}</title><link href="{html.escape(link)}"/><id>{html.escape(link)}</id>'
        f"<updated>{d or '2026-11-20T00:00:00+00:00'}</updated></entry>"
        for t, link, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(OUTLET_NAMES[outlet])}</title><id>{base_url}/{outlet}/</id>"
        f"<updated>2026-11-20T08:00:00+00:00</updated>{entries}</feed>"
    ).encode()


FEED_LANG = {"baltic-wire": "en", "north-daily": "en", "pasienio-zinios": "lt", "minsk-herald": "ru",
             "wilno-tydzien": "pl", "misc": "en"}
FEED_META = {  # id -> (country, affiliation)
    "baltic-wire": ("LT", "wire"),
    "north-daily": ("GB", "international"),
    "pasienio-zinios": ("LT", "public_broadcaster"),
    "minsk-herald": ("BY", "state_controlled"),
    "wilno-tydzien": ("LT", "independent"),
    "misc": ("LT", "independent"),
}


def feed_path(outlet: str) -> str:
    return f"/{outlet}/atom.xml" if outlet == "baltic-wire" else f"/{outlet}/rss.xml"


def build_routes(base_url: str) -> dict[str, Route]:
    """Every path of the demo site, rendered for a server listening at base_url."""
    routes: dict[str, Route] = {"/robots.txt": Route(b"User-agent: *\nDisallow: /private/\n", "text/plain")}
    by_outlet: dict[str, list[tuple[str, str, str | None]]] = {}
    for a in ARTICLES:
        routes[article_path(a)] = Route(render_page(a, base_url))
        by_outlet.setdefault(a.outlet, []).append((a.title, base_url + article_path(a), a.published))
    for outlet, items in by_outlet.items():
        if outlet == "baltic-wire":
            routes[feed_path(outlet)] = Route(render_atom(outlet, items, base_url), "application/atom+xml")
        else:
            routes[feed_path(outlet)] = Route(render_rss(outlet, items, base_url, FEED_LANG[outlet]), "application/rss+xml")
    # The breakage every real feed list has: a link to a missing page and a link to a PDF ...
    routes[feed_path("misc")] = Route(render_rss("misc", [
        ("Removed story", base_url + "/misc/removed-story.html", "2026-11-18T10:00:00+00:00"),
        ("Annual report (PDF)", base_url + "/misc/annual-report.pdf", "2026-11-18T11:00:00+00:00"),
    ], base_url, "en"), "application/rss+xml")
    routes["/misc/annual-report.pdf"] = Route(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
                                              "application/pdf")
    # ... and a feed that is not a feed at all.
    routes["/broken/rss.xml"] = Route(b"<html><body>Service temporarily unavailable<", "application/rss+xml")
    return routes


def feeds_yaml(base_url: str) -> str:
    """A config/feeds.yaml for the demo site."""
    lines = ["# Demo feeds served by newsmon's own loopback server.", "feeds:"]
    for outlet in ("baltic-wire", "north-daily", "pasienio-zinios", "minsk-herald", "wilno-tydzien", "misc"):
        country, affiliation = FEED_META[outlet]
        lines += [f"  - id: {outlet}", f"    name: {OUTLET_NAMES[outlet]}", f"    url: {base_url}{feed_path(outlet)}",
                  f"    language: {FEED_LANG[outlet]}", f"    country: {country}", f"    affiliation: {affiliation}",
                  "    evidence: served by the demo's own loopback site"]
    lines += ["  - id: broken", "    name: Broken feed", f"    url: {base_url}/broken/rss.xml", "    language: en",
              "    evidence: the demo's deliberately broken feed (an HTML error page)"]
    return "\n".join(lines) + "\n"


def alerts_yaml(alerts_file: str, smtp_port: int | None) -> str:
    """Alert rules for the demo: one instant rule on checkpoints, delivered to a file and over SMTP."""
    channels = [f"file://{alerts_file}"]
    if smtp_port:
        channels.append(f"smtp://127.0.0.1:{smtp_port}/?to=desk@example.org&from=newsmon@example.org")
    chans = "\n".join(f"      - {c}" for c in channels)
    return (
        "rules:\n"
        "  - name: checkpoints\n"
        "    query: medininkai OR salcininkai OR checkpoint* OR \"border crossing\"\n"
        "    on_topic: true\n"
        f"    channels:\n{chans}\n"
        "    mode: instant\n"
    )
