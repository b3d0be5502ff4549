"""Dedup quality: pair precision/recall/F1 on the shared real pairs and on generated copies and hard negatives.

Usage:
    .venv/bin/python bench/eval_dedup.py            # tables for the shipped thresholds
    .venv/bin/python bench/eval_dedup.py --sweep    # also F1 over a grid of thresholds (how they were chosen)
    .venv/bin/python bench/eval_dedup.py --json out.json

Reads ../shared/corpus/dedup/ and ../shared/corpus/topic/dev.jsonl (or $NEWSMON_SHARED_DIR/corpus/...).
Every pair is decided by the real newsmon.store.clusters.assign_clusters on an in-memory SQLite state DB (rolled
back after each pair), so LSH banding, verification and the short-text guard are all measured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # for scoring, also when a test imports this file by path

from scoring import HEADER, Counts  # noqa: E402  (bench/ is on sys.path)
from sqlalchemy import create_engine  # noqa: E402

import newsmon.store.clusters as clusters_mod  # noqa: E402
from newsmon.core.records import Article  # noqa: E402
from newsmon.enrich.dedup import content_hash, fingerprint, shingle_count  # noqa: E402
from newsmon.ingest.urls import article_id, canonical_url  # noqa: E402
from newsmon.store.schema import metadata  # noqa: E402

SEED = 8


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str
    language: str = "en"
    url: str | None = None


@dataclass(frozen=True)
class Pair:
    a: Doc
    b: Doc
    same: bool
    group: str  # bucket or transformation name
    kind: str  # "shared" | "generated"


# --- loading -------------------------------------------------------------------------------------


def load_shared() -> tuple[dict[str, Doc], list[dict]]:
    base = shared_dir() / "corpus" / "dedup"
    docs = {}
    with open(base / "docs.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            docs[row["id"]] = Doc(row["id"], row.get("title") or "", row["text"])
    with open(base / "pairs.jsonl", encoding="utf-8") as handle:
        pairs = [json.loads(line) for line in handle]
    return docs, pairs


def load_topic_docs() -> list[Doc]:
    path = shared_dir() / "corpus" / "topic" / "dev.jsonl"
    result = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            result.append(Doc(row["id"], row.get("title") or "", row["text"], row.get("language") or "en", row.get("url")))
    return result


# --- realistic transformations (our own words for every added line) ------------------------------

DATELINES = {
    "en": ["VILNIUS, {d} (BNS) – ", "MINSK/VILNIUS — ", "Vilnius, {d} (ELTA). ", "(Reuters) - "],
    "lt": ["VILNIUS, {d} (BNS). ", "Vilnius, {d} (ELTA). ", "LRT.lt primena: "],
    "ru": ["ВИЛЬНЮС, {d} – ", "МИНСК, {d}. /ТАСС/. ", "Вильнюс, {d}, BNS. "],
    "pl": ["WILNO, {d} (PAP) – ", "Wilno. "],
    "be": ["Вільня, {d}. ", "Мінск. "],
    "de": ["Vilnius ({d}) – ", "VILNIUS (dpa) – "],
}
FOOTERS = {
    "en": [
        "Follow our live coverage of the Baltic region on Telegram and subscribe to the morning newsletter.",
        "This story was first published by a wire agency and edited by our desk. Copying is not permitted without written consent.",
        "Got a tip about the border situation? Write to the newsroom; we read every message.",
    ],
    "lt": [
        "Naujienų agentūros pranešimą perspausdinti be raštiško sutikimo draudžiama.",
        "Sekite naujienas mūsų Telegram kanale ir užsiprenumeruokite naujienlaiškį.",
    ],
    "ru": [
        "Подписывайтесь на наш канал в Telegram, чтобы первыми узнавать новости региона.",
        "Перепечатка материалов агентства без письменного согласия редакции запрещена.",
    ],
    "pl": ["Obserwuj nas w mediach społecznościowych i zapisz się na poranny newsletter."],
    "be": ["Падпісвайцеся на наш канал у Telegram, каб першымі даведвацца навіны."],
    "de": ["Folgen Sie uns auf Telegram und abonnieren Sie den Newsletter am Morgen."],
}
UPDATE_NOTES = {
    "en": "UPDATED with the ministry's statement and the latest figures from the border guard service.",
    "lt": "ATNAUJINTA: papildyta ministerijos komentaru ir naujausiais pasieniečių duomenimis.",
    "ru": "ОБНОВЛЕНО: добавлены заявление министерства и свежие данные пограничной службы.",
    "pl": "AKTUALIZACJA: dodano oświadczenie ministerstwa i najnowsze dane straży granicznej.",
    "be": "АБНОЎЛЕНА: дададзеная заява міністэрства і свежыя даныя памежнікаў.",
    "de": "AKTUALISIERT mit der Erklärung des Ministeriums und neuen Zahlen des Grenzschutzes.",
}
# Same-outlet template: a header and footer that every article of one outlet carries.
TEMPLATE_HEADER = {
    "en": "Home | Politics | Region | Opinion | Video. Latest news from the Baltic states, updated every hour by our newsroom.",
    "lt": "Pradžia | Politika | Regionai | Nuomonės | Vaizdo įrašai. Naujausios žinios iš Baltijos šalių, atnaujinamos kas valandą.",
    "ru": "Главная | Политика | Регион | Мнения | Видео. Последние новости Балтии, обновляются каждый час нашей редакцией.",
    "pl": "Strona główna | Polityka | Region | Opinie | Wideo. Najnowsze wiadomości z krajów bałtyckich, aktualizowane co godzinę.",
    "be": "Галоўная | Палітыка | Рэгіён | Меркаванні | Відэа. Апошнія навіны Балтыі, абнаўляюцца кожную гадзіну.",
    "de": "Startseite | Politik | Region | Meinung | Video. Aktuelle Nachrichten aus dem Baltikum, stündlich aktualisiert.",
}
TEMPLATE_FOOTER = {
    "en": "Share this article. Comments are moderated. Read also: the week on the border, in pictures. © Newsroom, all rights reserved. Subscribe to the newsletter for the morning briefing.",
    "lt": "Dalintis straipsniu. Komentarai moderuojami. Taip pat skaitykite: savaitė pasienyje nuotraukose. Visos teisės saugomos. Užsiprenumeruokite rytinį naujienlaiškį.",
    "ru": "Поделиться статьёй. Комментарии модерируются. Читайте также: неделя на границе в фотографиях. Все права защищены. Подпишитесь на утреннюю рассылку.",
    "pl": "Udostępnij artykuł. Komentarze są moderowane. Czytaj też: tydzień na granicy w zdjęciach. Wszelkie prawa zastrzeżone. Zapisz się na poranny newsletter.",
    "be": "Падзяліцца артыкулам. Каментары мадэруюцца. Чытайце таксама: тыдзень на мяжы ў фотаздымках. Усе правы абароненыя.",
    "de": "Artikel teilen. Kommentare werden moderiert. Lesen Sie auch: die Woche an der Grenze in Bildern. Alle Rechte vorbehalten.",
}


def paragraphs(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    return parts or [text]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _lang(doc: Doc) -> str:
    return doc.language if doc.language in DATELINES else "en"


def t_reheadline_boilerplate(doc: Doc, rng: random.Random, _pool: list[Doc]) -> Doc:
    lang = _lang(doc)
    dateline = rng.choice(DATELINES[lang]).format(d="Oct 28")
    body = paragraphs(doc.text)
    body[0] = dateline + body[0]
    body.append(rng.choice(FOOTERS[lang]))
    if rng.random() < 0.5:
        body.append(rng.choice(FOOTERS[lang]))
    return Doc(doc.id + "~rb", "New headline: " + doc.title, "\n\n".join(body), doc.language)


def t_truncation(doc: Doc, rng: random.Random, _pool: list[Doc]) -> Doc:
    # Aggregators and feed-only copies keep the lead: 45–75 % of the words.
    tokens = doc.text.split()
    keep = max(20, int(len(tokens) * rng.uniform(0.45, 0.75)))
    return Doc(doc.id + "~tr", doc.title, " ".join(tokens[:keep]) + " …", doc.language)


def t_update_adds_paragraphs(doc: Doc, rng: random.Random, pool: list[Doc]) -> Doc:
    # A later version: an update note on top, one or two new paragraphs (from another article in
    # the same language, standing in for new reporting), and a changed figure.
    lang = _lang(doc)
    body = paragraphs(doc.text)
    donors = [d for d in pool if d.id != doc.id and _lang(d) == lang] or [d for d in pool if d.id != doc.id]
    donor = paragraphs(rng.choice(donors).text)
    added_words = 0
    extra: list[str] = []
    budget = max(25, int(len(doc.text.split()) * rng.uniform(0.25, 0.6)))
    for paragraph in donor:
        if added_words >= budget:
            break
        extra.append(paragraph)
        added_words += len(paragraph.split())
    body = [UPDATE_NOTES[lang], *body, *extra]
    text = re.sub(r"\b(\d+)\b", lambda m: str(int(m.group(1)) + 1) if rng.random() < 0.3 else m.group(1), "\n\n".join(body), count=3)
    return Doc(doc.id + "~up", doc.title + " (updated)", text, doc.language)


def t_light_edit(doc: Doc, rng: random.Random, _pool: list[Doc]) -> Doc:
    # A desk edits a wire copy: drops one sentence, swaps a few words, changes quotes and case.
    sents = sentences(doc.text.replace("\n", " \n "))
    if len(sents) > 4:
        del sents[rng.randrange(1, len(sents))]
    tokens = " ".join(sents).split(" ")
    for _ in range(max(1, len(tokens) // 40)):
        index = rng.randrange(len(tokens))
        tokens[index] = rng.choice(["said", "reported", "noted", "added", "also", "on", "the"])
    text = " ".join(tokens).replace('"', "«", 1).replace("'", "’")
    return Doc(doc.id + "~ed", doc.title.upper(), text, doc.language)


def t_teaser(doc: Doc, rng: random.Random, _pool: list[Doc]) -> Doc:
    # An aggregator snippet: the lead only (20–35 % of the words, at least 20) and a link line.
    tokens = doc.text.split()
    keep = max(20, int(len(tokens) * rng.uniform(0.2, 0.35)))
    return Doc(doc.id + "~te", doc.title, " ".join(tokens[:keep]) + " … Read the full story at the outlet.", doc.language)


def t_heavy_rewrite(doc: Doc, rng: random.Random, _pool: list[Doc]) -> Doc:
    # Another outlet's take on the same wire copy: its own lead sentence, one paragraph in five
    # dropped, two paragraphs swapped, about one word in twelve changed.
    lang = _lang(doc)
    body = paragraphs(doc.text)
    first = sentences(body[0])
    if len(first) > 1:
        body[0] = " ".join([rng.choice(DATELINES[lang]).format(d="28 Oct") + "Our correspondent reports.", *first[1:]])
    if len(body) > 4:
        for _ in range(len(body) // 5):
            del body[rng.randrange(1, len(body))]
    if len(body) > 3:
        i = rng.randrange(1, len(body) - 1)
        body[i], body[i + 1] = body[i + 1], body[i]
    tokens = "\n\n".join(body).split(" ")
    for _ in range(max(1, len(tokens) // 12)):
        tokens[rng.randrange(len(tokens))] = rng.choice(["said", "reported", "noted", "added", "also", "on", "the", "a"])
    return Doc(doc.id + "~hr", doc.title, " ".join(tokens), doc.language)


POSITIVE_TRANSFORMS: dict[str, Callable[[Doc, random.Random, list[Doc]], Doc]] = {
    "reheadline_boilerplate": t_reheadline_boilerplate,
    "truncation": t_truncation,
    "update_adds_paragraphs": t_update_adds_paragraphs,
    "light_edit": t_light_edit,
    "teaser": t_teaser,
    "heavy_rewrite": t_heavy_rewrite,
}


def in_template(doc: Doc, lang: str) -> Doc:
    return Doc(doc.id + "~tpl", doc.title, f"{TEMPLATE_HEADER[lang]}\n\n{doc.text}\n\n{TEMPLATE_FOOTER[lang]}", doc.language)


# Read by hand: these "different article" candidates are one article republished with a new top
# paragraph, so they are not negatives.
REVIEWED_SAME_STORY = {frozenset({"fs-6f09e03c5e0c", "fs-bdb454f999a6"})}


def _reviewed_same(a: Doc, b: Doc) -> bool:
    return frozenset({a.id.split("~")[0], b.id.split("~")[0]}) in REVIEWED_SAME_STORY


def generated_pairs(long_docs: list[Doc], topic_docs: list[Doc], rng: random.Random) -> list[Pair]:
    pairs: list[Pair] = []
    sources = long_docs + topic_docs
    for name, transform in POSITIVE_TRANSFORMS.items():
        for doc in sources:
            pairs.append(Pair(doc, transform(doc, rng, sources), True, name, "generated"))
    # Hard negatives 1: different articles on the same event (the topic set is one event family:
    # the Lithuania–Belarus border; pair articles that share language and subtopic).
    on_topic = [d for d in topic_docs]
    by_lang: dict[str, list[Doc]] = defaultdict(list)
    for doc in on_topic:
        by_lang[_lang(doc)].append(doc)
    for group in by_lang.values():
        for i, doc in enumerate(group):
            for other in group[i + 1 : i + 4]:
                if not _reviewed_same(doc, other):
                    pairs.append(Pair(doc, other, False, "neg_same_event", "generated"))
    # Hard negatives 2: different articles wrapped in one outlet's template (header, menu, footer).
    for group in by_lang.values():
        lang = _lang(group[0])
        for i, doc in enumerate(group):
            other = group[(i + 1) % len(group)]
            if other.id != doc.id and not _reviewed_same(doc, other):
                pairs.append(Pair(in_template(doc, lang), in_template(other, lang), False, "neg_same_template", "generated"))
    # Hard negatives 3: a different article of one outlet that reuses one background paragraph of
    # an earlier story (what follow-ups do: "The border was closed on ... after ...").
    for doc in sources:
        body = paragraphs(doc.text)
        if len(body) < 4:
            continue
        other = rng.choice([d for d in sources if d.id != doc.id and _lang(d) == _lang(doc)] or sources)
        other_body = paragraphs(other.text)
        # Follow-ups quote a paragraph, not most of the earlier story: at most a quarter of its words.
        limit = len(doc.text.split()) // 4
        quotable = [p for p in body[1:] if len(p.split()) <= limit]
        if not quotable:
            continue
        other_body.insert(min(2, len(other_body)), rng.choice(quotable))
        pairs.append(Pair(doc, Doc(other.id + "~bg", other.title, "\n\n".join(other_body), other.language), False, "neg_shared_background", "generated"))
    # Hard negatives 4: an update of one story vs a different story it borrowed nothing from.
    for doc in long_docs[:100]:
        other = rng.choice(long_docs)
        if other.id != doc.id:
            pairs.append(Pair(t_reheadline_boilerplate(doc, rng, sources), other, False, "neg_other_long_story", "generated"))
    return pairs


# --- URL variants ---------------------------------------------------------------------------------

URL_BASES = [
    "https://www.lrt.lt/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai",
    "https://www.delfi.lt/news/daily/lithuania/baltarusijos-balionai-uzdare-vilniaus-oro-uosta.d?id=97654321",
    "https://www.15min.lt/naujiena/aktualu/lietuva/sunkvezimiai-istrigo-baltarusijoje-56-2450011",
    "https://www.belta.by/politics/view/lukashenko-o-granitse-s-litvoj-712345-2025/",
    "https://tass.ru/mezhdunarodnaya-panorama/25512345",
    "https://www.reuters.com/world/europe/lithuania-closes-belarus-border-after-balloons-2025-10-27/",
    "https://www.bns.lt/topic/1912/news/78812345/",
    "https://www.elta.lt/lt/pranesimai/astravo-ae-1234567",
    "https://www.ukrinform.ua/rubric-world/4012345-litva-zakryla-kordon-z-bilorussu.html",
    "https://www.lrt.lt/en/news-in-english/19/2712399/lithuania-reopens-checkpoints-with-belarus",
]


def url_pairs(rng: random.Random) -> list[tuple[str, str, bool, str]]:
    result = []
    for base in URL_BASES:
        parts = base.split("://", 1)[1]
        host, _, path = parts.partition("/")
        bare = host.removeprefix("www.")
        sep = "&" if "?" in base else "?"
        variants = {
            "tracking": f"{base}{sep}utm_source=facebook&utm_medium=social&fbclid=IwAR0abc",
            "fragment": f"{base}#comments",
            "default_port": f"https://{host}:443/{path}",
            "http_scheme": f"http://{host}/{path}",
            "www_or_not": f"https://{bare}/{path}" if host.startswith("www.") else f"https://www.{host}/{path}",
            "mobile_host": f"https://m.{bare}/{path}",
            "amp_path": base.rstrip("/") + "/amp" if "?" not in base else base.replace(".d?", ".d/amp?"),
            "amp_cache": f"https://{bare.replace('.', '-')}.cdn.ampproject.org/c/s/{host}/{path}",
            "print_view": f"{base}{sep}print=1",
            "case_host": f"https://{host.upper()}/{path}",
        }
        for name, variant in variants.items():
            result.append((base, variant, True, name))
    # Negatives: different articles of the same outlet (a different numeric id or slug).
    for base in URL_BASES:
        other = re.sub(r"\d{5,}", lambda m: str(int(m.group(0)) + 1), base, count=1)
        if other != base:
            result.append((base, other, False, "neg_other_id"))
        result.append((base, base.rstrip("/") + "-2", False, "neg_other_slug"))
    for base, other in pairwise(URL_BASES):
        result.append((base, other, False, "neg_other_outlet"))
    return result


# --- deciding pairs with the real clustering --------------------------------------------------------

BASE_TIME = datetime(2025, 10, 28, 6, 0, tzinfo=UTC)


def _article(doc: Doc, minutes: int) -> Article:
    url = doc.url or f"https://example.test/{doc.id}"
    return Article(
        id=doc.id + f"#{minutes}",
        url=url,
        canonical_url=url,
        source=f"outlet-{minutes}",
        title=doc.title,
        text=doc.text,
        fetched_at=BASE_TIME + timedelta(minutes=minutes),
        content_hash=content_hash(doc.text),
        fingerprint=fingerprint(doc.text),
    )


class PairJudge:
    """Runs assign_clusters on each pair inside a transaction that is rolled back afterwards."""

    def __init__(self) -> None:
        self.engine = create_engine("sqlite://")
        metadata.create_all(self.engine)

    def same_cluster(self, a: Doc, b: Doc) -> bool:
        with self.engine.connect() as conn:
            transaction = conn.begin()
            first, second = clusters_mod.assign_clusters(conn, [_article(a, 0), _article(b, 1)], BASE_TIME)
            transaction.rollback()
        return first.cluster_id == second.cluster_id


def exact_only(a: Doc, b: Doc) -> bool:
    return content_hash(a.text) == content_hash(b.text)


def shared_pairs(docs: dict[str, Doc], raw: list[dict]) -> Iterator[Pair]:
    for row in raw:
        bucket = row["bucket"]
        same = bucket in {"exact", "near"}
        yield Pair(docs[row["doc_a"]], docs[row["doc_b"]], same, bucket, "shared")


def evaluate(pairs: list[Pair], decide: Callable[[Doc, Doc], bool]) -> dict[str, Counts]:
    scores: dict[str, Counts] = defaultdict(Counts)
    for pair in pairs:
        predicted = decide(pair.a, pair.b)
        scores[pair.group].add(truth=pair.same, predicted=predicted)
        if pair.group != "partial":
            scores[f"ALL {pair.kind}"].add(truth=pair.same, predicted=predicted)
    return scores


def print_table(title: str, scores: dict[str, Counts], order: list[str]) -> None:
    print(f"\n### {title}\n")
    print(HEADER)
    for key in order:
        if key in scores:
            print(scores[key].row(key))


def sweep(pairs: list[Pair]) -> None:
    """F1 of (exact + near) vs negatives over a grid of thresholds, from the estimated similarities."""
    from newsmon.enrich.dedup import estimated_containment, estimated_jaccard

    measured = []
    for pair in pairs:
        if pair.group == "partial":
            continue
        fa, fb = fingerprint(pair.a.text), fingerprint(pair.b.text)
        exact = exact_only(pair.a, pair.b) and bool(fa)
        j = estimated_jaccard(fa, fb)
        c = estimated_containment(j, shingle_count(pair.a.text), shingle_count(pair.b.text))
        measured.append((pair.kind, pair.same, exact, j, c))
    print("\n### threshold sweep (estimated similarities; LSH candidate step not applied)\n")
    print("| near_jaccard | near_containment | min_jaccard | F1 shared | F1 generated |\n|---:|---:|---:|---:|---:|")
    for tj in (0.4, 0.5, 0.6):
        for tc in (0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 1.01):
            for tmin in (0.0, 0.1):
                per_kind = {"shared": Counts(), "generated": Counts()}
                for kind, same, exact, j, c in measured:
                    per_kind[kind].add(truth=same, predicted=exact or j >= tj or (c >= tc and j >= tmin))
                print(f"| {tj:.2f} | {tc:.2f} | {tmin:.2f} | {per_kind['shared'].prf()[2]:.3f} | {per_kind['generated'].prf()[2]:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="print F1 over a grid of thresholds")
    parser.add_argument("--near-jaccard", type=float, help="override newsmon.store.clusters.NEAR_JACCARD for this run")
    parser.add_argument("--near-containment", type=float, help="override newsmon.store.clusters.NEAR_CONTAINMENT")
    parser.add_argument("--min-jaccard", type=float, help="override newsmon.store.clusters.MIN_JACCARD_FOR_CONTAINMENT")
    parser.add_argument("--json", type=Path, help="also write the scores as JSON to this file")
    args = parser.parse_args(argv)
    if args.near_jaccard is not None:
        clusters_mod.NEAR_JACCARD = args.near_jaccard
    if args.near_containment is not None:
        clusters_mod.NEAR_CONTAINMENT = args.near_containment
    if args.min_jaccard is not None:
        clusters_mod.MIN_JACCARD_FOR_CONTAINMENT = args.min_jaccard
    base = shared_dir() / "corpus" / "dedup"
    if not (base / "pairs.jsonl").is_file():
        print(f"skipped: {base} not found; set NEWSMON_SHARED_DIR to the directory holding corpus/", file=sys.stderr)
        return 2
    rng = random.Random(SEED)
    docs, raw_pairs = load_shared()
    topic_docs = load_topic_docs()
    shared = list(shared_pairs(docs, raw_pairs))
    long_sample = sorted(docs.values(), key=lambda d: d.id)
    long_sample = rng.sample(long_sample, 150)
    generated = generated_pairs(long_sample, topic_docs, rng)

    judge = PairJudge()
    shared_scores = evaluate(shared, judge.same_cluster)
    baseline_scores = evaluate(shared, exact_only)
    generated_scores = evaluate(generated, judge.same_cluster)
    generated_baseline = evaluate(generated, exact_only)

    url_scores: dict[str, Counts] = defaultdict(Counts)
    for a, b, same, name in url_pairs(rng):
        predicted = article_id(canonical_url(a)) == article_id(canonical_url(b))
        url_scores[name].add(truth=same, predicted=predicted)
        url_scores["ALL urls"].add(truth=same, predicted=predicted)

    print(f"thresholds: near_jaccard={clusters_mod.NEAR_JACCARD} near_containment={clusters_mod.NEAR_CONTAINMENT} "
          f"min_jaccard_for_containment={clusters_mod.MIN_JACCARD_FOR_CONTAINMENT} bands={clusters_mod.LSH_BANDS}x{clusters_mod.LSH_ROWS}")
    buckets = ["exact", "near", "low", "partial", "ALL shared"]
    print_table("shared real pairs (exact + near = same story, low = different; partial reported alone)", shared_scores, buckets)
    print_table("shared real pairs, baseline: exact normalised-text hash only", baseline_scores, buckets)
    transforms = [*POSITIVE_TRANSFORMS, "neg_same_event", "neg_same_template", "neg_shared_background", "neg_other_long_story", "ALL generated"]
    print_table("generated pairs (per transformation; neg_* are hard negatives)", generated_scores, transforms)
    print_table("generated pairs, baseline: exact normalised-text hash only", generated_baseline, transforms)
    print_table("URL variants (same id = predicted same article)", url_scores, sorted(url_scores))
    if args.sweep:
        sweep(shared + generated)
    if args.json:
        payload = {
            section: {k: {"n": v.n, "tp": v.tp, "fp": v.fp, "fn": v.fn, "tn": v.tn, "f1": round(v.prf()[2], 4)} for k, v in scores.items()}
            for section, scores in {"shared": shared_scores, "shared_baseline": baseline_scores, "generated": generated_scores, "urls": url_scores}.items()
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
