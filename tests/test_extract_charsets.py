"""One stray byte in a UTF-8 page costs one character, not the whole page; real legacy charsets are still read."""

from __future__ import annotations

import pytest

from newsmon.ingest.extract import ExtractionSkip, extract_article

URL = "https://pasienio.example/naujienos/1"
SENTENCES = (
    "Pasienio žinios: šeštadienį prie Medininkų kontrolės punkto vėl susidarė ilgos sunkvežimių eilės.",
    "Vairuotojai skundėsi, kad laukti teko beveik dvylika valandų, o pasieniečiai tikrino kiekvieną krovinį.",
    "Ūkio ministerija žada peržiūrėti, kaip dirba pasienio punktai, ir išgirsti vežėjų asociacijų nuomonę.",
    "Vežėjai sako, kad dėl uždaryto punkto jų sąnaudos per savaitę išaugo beveik ketvirtadaliu.",
    "Šalčininkų rajono gyventojai pasakoja, jog naktį girdi virš miško skrendančius balionus.",
    "Vidaus reikalų ministrė pabrėžė, kad Baltarusijos režimas sąmoningai kursto įtampą pasienyje.",
)


def _lithuanian_page(*, meta: bool, stray: bytes) -> bytes:
    head = '<meta charset="utf-8">' if meta else ""
    paragraphs = "".join(f"<p>{s}</p>" for s in SENTENCES)
    # The stray byte sits at the end of the article, as a broken template or ad snippet leaves it.
    return (f'<!DOCTYPE html><html lang="lt"><head>{head}<title>Eilės pasienyje</title></head><body>'
            '<nav><a href="/">Pradžia</a> <a href="/lietuvoje">Lietuvoje</a> <a href="/pasaulyje">Pasaulyje</a></nav>'
            f"<article><h1>Eilės pasienyje</h1>{paragraphs}").encode() + stray + (
            "</article><footer>© Pasienio žinios</footer></body></html>").encode()


@pytest.mark.parametrize("meta", [True, False], ids=["meta-charset", "no-declaration"])
@pytest.mark.parametrize("stray", [b"\xff", b"\x00"], ids=["xff", "nul"])
def test_one_bad_byte_in_a_lithuanian_utf8_page_leaves_every_lithuanian_letter_readable(meta: bool, stray: bytes) -> None:
    result = extract_article(_lithuanian_page(meta=meta, stray=stray), URL)
    for sentence in SENTENCES:
        assert sentence in result.text
    assert result.title == "Eilės pasienyje"


def test_a_russian_windows_1251_page_mislabelled_utf8_is_still_read_as_cyrillic() -> None:
    text = ("Пограничники сообщили, что очередь грузовиков у пункта пропуска Каменный Лог выросла до "
            "трёхсот машин, а водители ждут больше суток. ")
    page = (f'<html><head><meta charset="utf-8"><title>Очередь на границе</title></head><body><article>'
            f"<p>{text * 2}</p><p>{text}</p></article></body></html>").encode("cp1251")
    result = extract_article(page, URL)
    assert "очередь грузовиков у пункта пропуска Каменный Лог" in result.text


def test_a_lithuanian_windows_1257_page_is_still_read_by_its_declared_charset() -> None:
    page = ('<html><head><meta charset="windows-1257"><title>Eilės</title></head><body><article>'
            + "".join(f"<p>{s}</p>" for s in SENTENCES) + "</article></body></html>").encode("cp1257")
    result = extract_article(page, URL)
    assert SENTENCES[1] in result.text


def test_a_body_full_of_nul_bytes_is_still_refused_as_binary() -> None:
    page = b"<html><body>" + b"\x00\x01\x02\x00" * 500 + b"</body></html>"
    with pytest.raises(ExtractionSkip) as caught:
        extract_article(page, URL)
    assert caught.value.reason.startswith("binary content")
