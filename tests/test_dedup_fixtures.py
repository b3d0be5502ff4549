"""Fixture texts for the dedup tests (no tests here), written by the team: stories, copies, other articles on one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsmon.core.records import Article
from newsmon.enrich.dedup import content_hash, fingerprint
from newsmon.ingest.urls import article_id, canonical_url

BALLOONS = """Lithuania closed its two remaining road checkpoints with Belarus, Medininkai and Šalčininkai, on Tuesday evening after another wave of smugglers' balloons forced Vilnius airport to suspend flights for the third night in a row.

Interior Minister said the closure would last at least a month and that trucks already queuing on the Belarusian side would be let through only if they had entered the queue before midnight.

Border guards counted more than forty balloons carrying cigarette packs over the Šalčininkai district alone. Air traffic controllers halted departures at 21:40 and the first flights resumed only after four in the morning.

Minsk denied any involvement and called the closure a provocation. Hauliers' associations warned that about a thousand lorries could be stranded in Belarus by the weekend."""

BALLOONS_UPDATE_EXTRA = """UPDATE: On Wednesday morning the government said diplomats and EU citizens would still be allowed to cross at Medininkai on foot.

The European Commission said it was in contact with Vilnius and would discuss support for border surveillance with the Baltic states next week."""

FENCE = """Construction of the steel fence along Lithuania's border with Belarus reached 500 kilometres this week, the State Border Guard Service said, leaving only marshland sections near the Druskininkai resort without a physical barrier.

The four-metre fence, topped with razor wire, was started in 2021 when thousands of migrants crossed from Belarus. Officials said cameras and motion sensors would cover the remaining stretches by spring, and that attempted crossings had dropped by two thirds compared with last year."""

ASTRAVETS = """Lithuania's energy ministry said no electricity from the Astravets nuclear power plant in Belarus had entered the Baltic grid since the synchronisation with continental Europe, and that the ban on trading Belarusian power would stay in place.

Radiation monitoring stations near the border recorded normal background levels during the plant's latest refuelling outage, the environmental protection agency reported. Vilnius lies about fifty kilometres from the site, which Lithuanian governments have called unsafe since its construction began."""

# A different article on the same event as BALLOONS: the same facts, told in other words.
BALLOONS_OTHER_ARTICLE = """Vilnius airport was shut again overnight as balloons drifted in from Belarus, and the government answered by sealing the border crossings at Medininkai and Šalčininkai.

Truck drivers caught in the queue described waiting for two days with little food. The prime minister told reporters that the country would not tolerate what she called hybrid attacks, while the Belarusian foreign ministry said Lithuania was punishing its own businesses.

Airlines cancelled eleven flights and diverted six more to Kaunas and Riga, according to the airport operator."""

LT_BALLOONS = """Antradienio vakarą Lietuva uždarė paskutinius du kelių pasienio punktus su Baltarusija – Medininkų ir Šalčininkų – po to, kai kontrabandininkų balionai trečią naktį iš eilės sutrikdė Vilniaus oro uosto darbą.

Vidaus reikalų ministrė teigė, kad punktai liks uždaryti mažiausiai mėnesį. Vilkikai, jau stovintys eilėje Baltarusijos pusėje, bus praleisti tik tuo atveju, jei į eilę atvyko iki vidurnakčio.

Pasieniečiai vien Šalčininkų rajone suskaičiavo daugiau nei keturiasdešimt balionų su cigarečių pakeliais."""

RU_BALLOONS = """Литва во вторник вечером закрыла последние два автомобильных пункта пропуска на границе с Беларусью – Мядининкай и Шальчининкай – после того как воздушные шары контрабандистов третью ночь подряд остановили работу вильнюсского аэропорта.

Министр внутренних дел заявила, что пункты будут закрыты как минимум на месяц. Грузовики, уже стоящие в очереди на белорусской стороне, пропустят только если они встали в очередь до полуночи.

Пограничники насчитали более сорока шаров с сигаретами только над Шальчининкским районом."""

BASE_AT = datetime(2025, 10, 28, 6, 0, tzinfo=UTC)


def article(url: str, text: str, *, minutes: int = 0, source: str | None = None, published: bool = False) -> Article:
    """An Article as the pipeline stages it: canonical id, content hash and fingerprint set."""
    canonical = canonical_url(url)
    at = BASE_AT + timedelta(minutes=minutes)
    return Article(
        id=article_id(canonical),
        url=url,
        canonical_url=canonical,
        source=source or canonical.split("/")[2],
        title=text.split(".")[0][:80],
        text=text,
        fetched_at=at,
        published_at=at if published else None,
        content_hash=content_hash(text),
        fingerprint=fingerprint(text),
    )


def wire_copy(text: str, dateline: str, footer: str) -> str:
    """A republished wire story: the outlet's dateline in front, its own footer at the end."""
    return f"{dateline} {text}\n\n{footer}"
