"""One event reported in three languages, and a same-day reaction to it: the team's own short texts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from newsmon.core.records import Article
from newsmon.enrich.dedup import content_hash, fingerprint

CLOSURE_EN = (
    "Lithuania closes Medininkai and Šalčininkai until 30 November",
    "Lithuania's government decided on Wednesday to keep the Medininkai and Šalčininkai checkpoints on the border "
    "with Belarus closed until 30 November after another night of smuggling balloons. Prime Minister Inga "
    "Ruginienė said about 1,000 trucks of Lithuanian hauliers were left on the Belarusian side and that the "
    "cabinet would review the decision every week.",
)
CLOSURE_LT = (
    "Lietuva uždaro Medininkų ir Šalčininkų punktus iki lapkričio 30 d.",
    "Vyriausybė trečiadienį nusprendė, kad Medininkų ir Šalčininkų pasienio kontrolės punktai su Baltarusija liks "
    "uždaryti iki lapkričio 30 d. Premjerė Inga Ruginienė teigė, kad Baltarusijos pusėje liko apie 1 000 "
    "sunkvežimių, o sprendimas bus peržiūrimas kas savaitę.",
)
CLOSURE_RU = (
    "Литва закрыла пункты пропуска Мядининкай и Шальчининкай до 30 ноября",
    "Правительство Литвы в среду решило оставить пункты пропуска Мядининкай и Шальчининкай на границе с "
    "Беларусью закрытыми до 30 ноября. По словам премьер-министра Ингы Ругинене, на белорусской стороне "
    "остались около 1000 фур литовских перевозчиков.",
)
# The same day, the same places and countries, another act by another actor.
REACTION_RU = (
    "Рыженков назвал решение Вильнюса провокацией",
    "Министр иностранных дел Беларуси Максим Рыженков назвал решение Литвы о границе провокацией и заявил, "
    "что Минск ответит на действия Вильнюса. Пункт пропуска Мядининкай остаётся закрытым.",
)

BASE = datetime(2025, 10, 29, 9, 0, tzinfo=UTC)


def article(key: str, texts: tuple[str, str], language: str, source: str, *, hours: float = 0.0,
            entities: tuple[str, ...] = (), affiliation: str | None = None) -> Article:
    title, text = texts
    url = f"https://{source}.example/{key}"
    at = BASE + timedelta(hours=hours)
    return Article(id=f"{key:0<32}"[:32], url=url, canonical_url=url, source=source, title=title, text=text,
                   fetched_at=at, published_at=at, content_hash=content_hash(text), fingerprint=fingerprint(text),
                   language=language, entities=entities, source_affiliation=affiliation)


def closure_articles() -> list[Article]:
    places = ("place/medininkai", "place/salcininkai", "person/ruginiene")
    return [
        article("a1en", CLOSURE_EN, "en", "wire", hours=1, entities=places, affiliation="wire"),
        article("a2lt", CLOSURE_LT, "lt", "lrt", hours=0, entities=places, affiliation="public_broadcaster"),
        article("a3ru", CLOSURE_RU, "ru", "belta", hours=3, entities=places, affiliation="state_controlled"),
    ]


def reaction_article() -> Article:
    return article("b1ru", REACTION_RU, "ru", "belta", hours=5, entities=("place/medininkai", "person/ryzhenkov"),
                   affiliation="state_controlled")


def without_story(articles: list[Article]) -> list[Article]:
    return [replace(a, story_id=None) for a in articles]
