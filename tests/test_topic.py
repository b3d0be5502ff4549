"""The Lithuania–Belarus tagger: what users see as on-topic, and why (fixtures written by the team)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.enrich.textnorm import fold_aligned
from newsmon.enrich.topic import TopicPack, load_topic_pack, tag
from newsmon.enrich.topic.pack import ENTITY_ID_RE

PACK_PATH = Path(__file__).resolve().parents[1] / "config" / "topics" / "lt-by.yaml"


@pytest.fixture(scope="module")
def pack() -> TopicPack:
    return load_topic_pack(PACK_PATH)


# One short report per language, each using inflected (not dictionary) forms of the names.
ON_TOPIC_BY_LANGUAGE = {
    "en": ("Lithuanian border guards turned back 40 migrants who tried to cross from Belarus near the "
           "Medininkai checkpoint on Sunday night."),
    "lt": ("Lietuvos pasieniečiai sekmadienį prie sienos su Baltarusija apgręžė 40 migrantų, bandžiusių "
           "neteisėtai patekti į Lietuvą Šalčininkų rajone."),
    "lv": ("Lietuva slēdza robežšķērsošanas punktus uz robežas ar Baltkrieviju, jo no Baltkrievijas "
           "ielidoja baloni ar kontrabandas cigaretēm un Viļņas lidosta bija slēgta."),
    "pl": ("Litwa zamknęła przejścia graniczne z Białorusią w Miednikach i Solecznikach po tym, jak balony "
           "z przemycanymi papierosami sparaliżowały lotnisko w Wilnie."),
    "ru": ("Литва закрыла пункты пропуска «Мядининкай» и «Шальчининкай» на границе с Белоруссией после "
           "того, как воздушные шары с контрабандными сигаретами парализовали аэропорт Вильнюса."),
    "uk": ("Литва закрила кордон з Білоруссю після того, як повітряні кулі з контрабандними цигарками "
           "порушили роботу аеропорту Вільнюса."),
    "be": ("Літва зачыніла мяжу з Беларуссю пасля таго, як з Беларусі ў літоўскую паветраную прастору "
           "заляцелі метэазонды з кантрабанднымі цыгарэтамі."),
    "de": ("Litauen schließt die Grenzübergänge zu Belarus, nachdem Ballons mit geschmuggelten Zigaretten "
           "den Flughafen von Vilnius lahmgelegt haben."),
}


@pytest.mark.parametrize("language", sorted(ON_TOPIC_BY_LANGUAGE))
def test_inflected_report_in_each_language_is_on_topic(pack: TopicPack, language: str) -> None:
    result = tag(pack, None, ON_TOPIC_BY_LANGUAGE[language], language)
    assert result.on_topic, result.explanation
    assert result.relevance >= 0.5
    assert all(ENTITY_ID_RE.fullmatch(entity) for entity in result.entities), result.entities


@pytest.mark.parametrize("language", sorted(ON_TOPIC_BY_LANGUAGE))
def test_language_is_not_needed_to_recognise_the_names(pack: TopicPack, language: str) -> None:
    assert tag(pack, None, ON_TOPIC_BY_LANGUAGE[language], None).on_topic


def test_belarusian_independent_media_name_for_lithuania_is_recognised(pack: TopicPack) -> None:
    result = tag(pack, None, "Летува зачыніла мяжу з Беларуссю, і летувіскія памежнікі не пускаюць фуры.", "be")
    assert result.on_topic
    assert [m.surface for m in result.matched if m.term == "Lithuania"] == ["Летува", "летувіскія"]


def test_transliterations_of_lukashenko_all_point_at_one_person(pack: TopicPack) -> None:
    text = "Lukashenko. Lukashenka. Лукашенко. Лукашэнка. Łukaszenka. Lukašenka. Lukašenkos. Лукашенку."
    people = [m for m in tag(pack, None, text + " Lithuania.", "en").matched if m.term == "Alexander Lukashenko"]
    assert len(people) == 8


POLAND_BELARUS = """Poland closes Kuźnica crossing as migrants gather on Belarus border

Polish border guards said on Monday that several hundred migrants had gathered on the Belarusian side of the frontier near Kuźnica, and that the crossing would stay closed until further notice.

Warsaw accused Minsk of flying people in and pushing them towards the fence. The Polish interior minister said soldiers would reinforce the Podlasie section of the border.

Lithuania and Latvia have reported similar pressure on their borders with Belarus this year.

The European Commission said it was in contact with the Polish authorities."""

LATVIA_BELARUS_LV = """Latvija izsludina ārkārtējo situāciju pierobežā ar Baltkrieviju

Latvijas valdība otrdien izsludināja ārkārtējo situāciju Latgales pierobežā, jo no Baltkrievijas pēdējās dienās nelikumīgi robežu mēģinājuši šķērsot vairāk nekā simts migrantu.

Robežsardze ziņo, ka migranti pie Silenes robežkontroles punkta tiek atgriezti Baltkrievijā. Līdzīga situācija iepriekš bija arī Lietuvā.

Valsts robežsardzes priekšnieks sacīja, ka Latvija stiprinās robežu ar papildu patruļām."""

BELARUS_ONLY_EN = """Minsk court jails three opposition activists

A court in Minsk sentenced three opposition activists to long prison terms on Tuesday, rights groups said.

The three had taken part in the 2020 protests against Alexander Lukashenko and were arrested last spring in Grodno.

Viasna, a Belarusian human rights group, said the trial was held behind closed doors and that the defendants had not been allowed to see their lawyers.

One of the activists had briefly studied in Lithuania before returning home.

Belarusian state television described the defendants as extremists financed from abroad.

Lukashenko has pardoned some political prisoners in recent months, but hundreds remain behind bars in Belarus."""

KALININGRAD_TRANSIT = """Trains from Moscow to Kaliningrad cross two borders: Russian passengers travel through Belarus and Lithuania to reach the exclave.

Lithuania has restricted the rail transit of sanctioned goods to Kaliningrad, and Moscow called it a blockade of the Kaliningrad region, while Vilnius says it only applies EU sanctions."""

SPORT = """Lithuania beat Belarus 84–70 in a EuroBasket qualifier in Vilnius on Sunday.

The national team led from the first quarter, and the championship group is now open again after the tournament's second round of games; Belarus play Spain next."""


def test_poland_belarus_border_story_stays_off_topic(pack: TopicPack) -> None:
    title, _, text = POLAND_BELARUS.partition("\n\n")
    result = tag(pack, title, text, "en")
    assert not result.on_topic, result.explanation


def test_latvia_belarus_border_story_in_latvian_stays_off_topic(pack: TopicPack) -> None:
    title, _, text = LATVIA_BELARUS_LV.partition("\n\n")
    result = tag(pack, title, text, "lv")
    assert not result.on_topic, result.explanation


def test_belarus_story_naming_lithuania_once_stays_off_topic(pack: TopicPack) -> None:
    title, _, text = BELARUS_ONLY_EN.partition("\n\n")
    result = tag(pack, title, text, "en")
    assert not result.on_topic, result.explanation
    assert "person/lukashenko" in result.entities  # its people and places are reported all the same


def test_kaliningrad_transit_story_stays_off_topic(pack: TopicPack) -> None:
    assert not tag(pack, None, KALININGRAD_TRANSIT, "en").on_topic


def test_sports_fixture_between_the_two_countries_stays_off_topic(pack: TopicPack) -> None:
    assert not tag(pack, None, SPORT, "en").on_topic
    assert not tag(pack, "Lithuania beat Belarus in EuroBasket qualifier", SPORT, "en").on_topic


def test_a_border_guard_unit_is_not_a_national_team(pack: TopicPack) -> None:
    text = ("Varėnos pasienio rinktinės pareigūnai prie sienos su Baltarusija sulaikė penkis migrantus, "
            "bandžiusius neteisėtai patekti į Lietuvą.")
    result = tag(pack, None, text, "lt")
    assert result.on_topic, result.explanation
    assert not [m for m in result.matched if m.term == "sport"]


def test_story_naming_only_one_country_is_off_topic_with_zero_relevance(pack: TopicPack) -> None:
    result = tag(pack, "Seimas passes the budget", "The Lithuanian parliament approved next year's budget.", "en")
    assert not result.on_topic
    assert result.relevance == 0.0
    assert "Belarus not mentioned" in result.explanation


def test_multi_country_closure_with_a_substantive_lithuanian_part_is_on_topic(pack: TopicPack) -> None:
    title = "Poland, Lithuania and Latvia tighten borders with Belarus"
    text = ("Poland, Lithuania and Latvia said on Thursday they would tighten controls on their borders with Belarus.\n"
            "Lithuania will close the Šalčininkai and Raigardas checkpoints from Friday, its interior minister said, "
            "leaving Medininkai as the only crossing open to cars from Belarus.\n"
            "Lithuanian border guards reported 120 attempts to cross the border from Belarus over the weekend.")
    result = tag(pack, title, text, "en")
    assert result.on_topic, result.explanation
    assert "border_crossings" in result.subtopics


def test_balloon_story_gets_airspace_and_smuggling_subtopics(pack: TopicPack) -> None:
    result = tag(pack, "Balloons from Belarus close Vilnius airport again",
                 "Vilnius airport suspended flights for five hours after balloons carrying contraband cigarettes "
                 "drifted in from Belarus, Lithuanian authorities said.", "en")
    assert result.on_topic
    assert {"airspace", "smuggling"} <= set(result.subtopics)
    assert "energy_nuclear" not in result.subtopics


def test_astravets_dispute_is_energy_nuclear(pack: TopicPack) -> None:
    result = tag(pack, None, "Lithuania again asked Belarus to stop the Astravets nuclear power plant, "
                 "saying the reactor 50 km from Vilnius does not meet safety standards.", "en")
    assert result.on_topic
    assert "energy_nuclear" in result.subtopics


def test_every_match_points_at_its_surface_form_in_the_given_field(pack: TopicPack) -> None:
    title = "Литва закрыла «Мядининкай»"
    text = ON_TOPIC_BY_LANGUAGE["ru"] + "\n\nЛукашенко заявил, что Вильнюс «пожалеет»."
    result = tag(pack, title, text, "ru")
    assert result.matched
    for match in result.matched:
        source = title if match.field == "title" else text
        assert source[match.start:match.end] == match.surface
        assert 0 <= match.start < match.end <= len(source)
    kinds = {m.kind for m in result.matched}
    assert {"side:lt", "side:by"} <= kinds
    assert any(k.startswith("subtopic:") for k in kinds)


def test_offsets_stay_true_when_text_contains_letters_that_lower_case_to_two_characters(pack: TopicPack) -> None:
    text = "İİİ Lithuania closed Medininkai after balloons from Belarus."
    result = tag(pack, None, text, "en")
    for match in result.matched:
        assert text[match.start:match.end] == match.surface
        assert fold_aligned(match.surface) == fold_aligned(text)[match.start:match.end]


def test_explanation_says_why_in_words(pack: TopicPack) -> None:
    result = tag(pack, None, ON_TOPIC_BY_LANGUAGE["en"], "en")
    assert "both sides" in result.explanation
    assert "Medininkai" in result.explanation


def test_empty_or_missing_text_is_off_topic_without_error(pack: TopicPack) -> None:
    assert not tag(pack, None, "", None).on_topic
    assert not tag(pack, "", "   \n\n ", "en").on_topic


def test_words_that_merely_start_like_a_name_do_not_match(pack: TopicPack) -> None:
    result = tag(pack, None, "Police in Polokwane and the Minskowski-Litvinenko family said nothing.", "en")
    assert not result.matched


def test_article_delivered_as_one_line_is_still_read_paragraph_by_paragraph(pack: TopicPack) -> None:
    title, _, text = BELARUS_ONLY_EN.partition("\n\n")
    one_line = " ".join(text.split("\n\n"))
    result = tag(pack, title, one_line, "en")
    assert not result.on_topic, result.explanation
    for match in result.matched:
        source = title if match.field == "title" else one_line
        assert source[match.start:match.end] == match.surface


def test_on_topic_story_delivered_as_one_line_stays_on_topic(pack: TopicPack) -> None:
    text = ("Lithuania will close the Šalčininkai and Raigardas checkpoints on its border with Belarus from Friday, "
            "the interior minister said, leaving Medininkai as the only crossing open to cars from Belarus. "
            "Lithuanian border guards reported 120 attempts to cross the border from Belarus over the weekend, "
            "most of them near Druskininkai. Vilnius accuses Minsk of organising the flow of migrants and of "
            "sending balloons with contraband cigarettes into Lithuanian airspace. The Belarusian border committee "
            "said Lithuania's decision would hurt ordinary travellers on both sides of the border.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation


def test_wire_dateline_naming_another_country_does_not_make_it_the_subject(pack: TopicPack) -> None:
    text = ("WARSAW, Poland (AP) — Lithuania said on Monday it would keep its border with Belarus closed for "
            "another month after more balloons drifted in from Belarus.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation
    assert "opens on Poland" not in result.explanation


@pytest.mark.parametrize(
    "text",
    [
        "Orange and Simone said they weren't told; the post office kept silence.",
        "Keli asmenys nusipirko vilnonius megztinius.",  # lt: persons, woollen
        "Na polu rosną ziemniaki.",  # pl: in the field
        "Это пошло на пользу учёным; Литвинов и Шимон Перес встретились в Грузии.",
        "Вареники з варенням і калі ласка.",
        "Kali Linux and the Armed Forces Day parade.",
        "She polished the car, lapped the field and was turning for home.",
        "Il lavorare stanca.",  # Italian
        "Šeimos nariai ir jų šeimų vaikai grįžo namo.",  # lt: family members (šeima, not the Seimas)
    ],
)
def test_everyday_words_that_begin_like_a_pack_name_do_not_match_it(pack: TopicPack, text: str) -> None:
    result = tag(pack, None, text + " Lithuania Belarus", None)
    names = {m.surface for m in result.matched} - {"Lithuania", "Belarus"}
    assert not {m.term for m in result.matched if m.kind.startswith(("side:", "negative:")) and m.surface in names}


# Inflected forms (cases, adjectives, demonyms) of the main anchors in the eight languages.
INFLECTED_FORMS = {
    "Lithuania": "Литвою Литві Литву литовського литовській литовськими Lietuvā Lietuvai Lietuvu Lietuvas "
                 "lietuviešu lietuvieši Litwie Litwą Litwy Litwę litewskiej litewskim Литвой Литве Литвы "
                 "литовской литовским Lietuvai Lietuvoje Lietuvą lietuvių Litauens litauischen litauische "
                 "Lithuanians Літвой Літве літоўскай літоўскіх",
    "Belarus": "Білоруссю Білорусі білоруського білоруській білоруськими Baltkrievijā Baltkrievijai Baltkrieviju "
               "Baltkrievijas baltkrievu Białorusi Białorusią białoruskiej białoruskich Белоруссией Беларусью "
               "белорусскими белорусского Baltarusijai Baltarusijoje baltarusių Baltarusiją belarussischen "
               "Weißrusslands Belarusians Беларуссю Беларусі беларускай беларускіх",
    "Vilnius": "Вільнюсі Вільнюса Viļņā Viļņas Wilnie Wilna Вильнюсом Вильнюсе Vilniuje Vilniaus Вільні",
    "Minsk": "Мінська Мінську Minskā Minskas Mińsku Mińska Минском Минске Minske Minsko Менску Мінску",
    "Alexander Lukashenko": "Лукашенка Лукашенком Лукашенкові Lukašenko Lukašenkam Łukaszenki Łukaszence Łukaszenką "
                            "Лукашенко Lukašenkos Lukašenkai Lukašenką Lukaschenkos Лукашэнкам Лукашэнку",
    "Šalčininkai": "Šalčininkų Šalčininkuose Шальчининкай Solecznikach Salcininkai",
    "Medininkai": "Medininkų Medininkuose Miednikach Мядининкай",
    "Astravets nuclear power plant": "Astravo Astravyets Островецкой Островецкая Астравецкай Островецької",
    "Poland": "Польщею Польщі польського Polijā Polijas Lenkijoje Lenkijos Polsce Polską Польшей Польше польской "
              "Polens polnischen Польшчы Польшчай",
    "Latvia": "Латвією Латвії латвійського Latvijā Latvijas latviešu Latvijoje Łotwie Łotwą Латвией Латвии "
              "латвийской Lettlands lettischen Латвіяй",
    "Kaliningrad": "Калінінграді Kaļiņingradā Kaliningrado Karaliaučiaus Kaliningradzie Калининграде Kaliningrads",
}


@pytest.mark.parametrize(
    ("concept", "form"), [(concept, form) for concept, forms in INFLECTED_FORMS.items() for form in forms.split()]
)
def test_inflected_form_is_recognised_as_its_anchor(pack: TopicPack, concept: str, form: str) -> None:
    found = {m.term for m in tag(pack, None, f"{form} Lithuania Belarus", None).matched if m.start == 0}
    assert concept in found


def test_names_typed_with_look_alike_letters_from_the_other_script_still_match(pack: TopicPack) -> None:
    text = "Литвa закрыла границу с Бeларусью."  # Latin a and e inside Cyrillic words
    result = tag(pack, None, text, "ru")
    assert result.on_topic
    assert [m.surface for m in result.matched if m.kind.startswith("side:")] == ["Литвa", "Бeларусью"]


HARD_WRAPPED = """VILNIUS, March 3 (Wire) - Lithuania's government on
Tuesday ordered the border guard service to close the
crossing at Raigardas on the border with Belarus after
weeks of smuggling incidents, officials said.
The interior minister said the closure would last until
the end of the month and that trucks would be sent to
the remaining crossings further north.
Belarus's border committee called the decision unfriendly
and said it would answer with measures of its own.
Freight companies said queues would grow at the other
crossings, where drivers already wait for two days.
The government will review the closure on March 31."""


def test_hard_wrapped_wire_copy_is_read_as_paragraphs_not_as_lines(pack: TopicPack) -> None:
    result = tag(pack, None, HARD_WRAPPED, "en")
    assert result.on_topic, result.explanation
    assert "penalty: only" not in result.explanation  # 4 paragraphs, not 11 lines that mostly name one side


def test_ukraines_state_border_guard_service_is_not_lithuanias(pack: TopicPack) -> None:
    text = ("Belarus moved troops towards the frontier, the State Border Guard Service of Ukraine said on Monday.\n"
            "A spokesman of the State Border Guard Service of Ukraine said no crossing had been attempted.")
    result = tag(pack, "Ukraine watches the Belarus border", text, "en")
    assert not result.on_topic
    assert "org/vsat" not in result.entities
    assert not [m for m in result.matched if m.term == "State Border Guard Service"]


def test_a_checkpoint_names_the_border_where_the_neighbour_is_not_named(pack: TopicPack) -> None:
    text = ("Vyriausybė trečiadienį nusprendė, kad per Medininkų pasienio kontrolės punktą nuo pirmadienio bus "
            "galima vykti tik automobiliais.\n"
            "Pėstiesiems ir dviratininkams punktas lieka uždarytas, sakė vidaus reikalų ministras.")
    result = tag(pack, None, text, "lt")
    assert result.on_topic, result.explanation
    assert "border_crossings" in result.subtopics


def test_a_district_named_like_a_crossing_does_not_make_a_domestic_story_bilateral(pack: TopicPack) -> None:
    text = ("Šalčininkų rajono gyventojai penktadienį susirinko į savivaldybę aptarti naujos mokyklos statybų.\n"
            "Meras sakė, kad Šalčininkų rajone mokykla bus pastatyta iki rudens, o Vyriausybė skirs lėšų.")
    assert not tag(pack, None, text, "lt").on_topic


def test_lithuania_as_one_of_three_baltic_states_is_not_the_pair(pack: TopicPack) -> None:
    text = ("Estonia, Latvia and Lithuania left the power grid they had shared with Russia and Belarus and "
            "joined the continental European network on Sunday.\n"
            "The three Baltic states had planned the switch for years; Estonia and Latvia said the first hours "
            "went smoothly, and Lithuania reported stable frequency.")
    result = tag(pack, "Baltic states leave grid shared with Russia and Belarus", text, "en")
    assert not result.on_topic, result.explanation


def test_a_headline_about_the_region_is_penalised_once_when_the_story_is_lithuanias(pack: TopicPack) -> None:
    text = ("Литва этой ночью закрыла два пункта пропуска на границе с Белоруссией, заявило МВД в Вильнюсе.\n"
            "Вильнюс объяснил решение угрозами безопасности; белорусская сторона назвала его недружественным.")
    result = tag(pack, "Польша и страны Балтии обсуждают закрытие границ с Белоруссией", text, "ru")
    assert result.on_topic, result.explanation
    assert "opens on Poland" not in result.explanation


def test_lithuanian_customs_seizing_belarusian_cigarettes_inland_is_on_topic(pack: TopicPack) -> None:
    text = ("Muitinės pareigūnai naktį prie Kėdainių sulaikė vilkiką su baltarusiškomis cigaretėmis, "
            "paslėptomis po statybinėmis medžiagomis.\n"
            "Kontrabandos vertė siekia pusę milijono eurų, pradėtas ikiteisminis tyrimas.")
    result = tag(pack, None, text, "lt")
    assert result.on_topic, result.explanation
    assert "org/customs-lt" in result.entities


def test_lithuania_written_in_belarusian_latin_letters_is_recognised(pack: TopicPack) -> None:
    text = "Na mjazhy z Litvoj utvarylasja cherga: bolsh za sto mashyn chakali na vyezd z Belarusi."
    assert "Lithuania" in {m.term for m in tag(pack, None, text, "be").matched}


def test_a_flight_bound_for_vilnius_diverted_over_belarus_is_a_belarus_story(pack: TopicPack) -> None:
    text = ("Лайнер, следовавший из Рима в Вильнюс, экстренно сел в Минске после звонка о бомбе на борту.\n"
            "В Минске пассажиров продержали шесть часов, после чего самолёт улетел в Вильнюс.")
    result = tag(pack, None, text, "ru")
    assert not result.on_topic, result.explanation


def test_vilnius_standing_for_lithuania_next_to_the_country_name_still_counts(pack: TopicPack) -> None:
    text = ("Lithuania summoned the Belarusian chargé d'affaires on Monday over the balloons.\n"
            "Vilnius said Minsk must stop the flights of smuggling balloons across the border.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation


def test_a_lead_that_names_lithuania_only_as_a_flight_destination_does_not_make_the_story_bilateral(pack: TopicPack) -> None:
    text = ("Рейс из Милана в Вильнюс был вынужденно посажен в Минске, где белорусские силовики задержали двух пассажиров.\n"
            "По данным авиакомпании, на борту находились 140 человек, в том числе граждане Литвы и Италии. "
            "Через восемь часов самолёт продолжил полёт.")
    result = tag(pack, None, text, "ru")
    assert not result.on_topic, result.explanation
    assert "only by its capital" in result.explanation


def test_lithuania_named_only_in_a_list_of_countries_does_not_make_a_belarus_story_bilateral(pack: TopicPack) -> None:
    text = ("Belarusian exiles living in Germany, Lithuania, Sweden and the Czech Republic met in Prague on Saturday "
            "to discuss the future of Belarus.\n"
            "Speakers from Belarus's independent media said more than 1,000 political prisoners are still held in "
            "Belarusian jails.")
    result = tag(pack, "Belarusian exiles meet in Prague", text, "en")
    assert not result.on_topic, result.explanation
    assert "Lithuania only in a list of countries" in result.explanation


def test_balloons_from_belarus_landing_in_a_list_of_lithuanian_districts_are_on_topic(pack: TopicPack) -> None:
    text = ("Naktį iš Baltarusijos atskridę kontrabandininkų balionai nusileido Vilniaus, Trakų ir Šalčininkų rajonuose.\n"
            "Pareigūnai rado apie 3000 pakelių baltarusiškų cigarečių, pradėtas ikiteisminis tyrimas.")
    result = tag(pack, None, text, "lt")
    assert result.on_topic, result.explanation


def test_lithuania_named_once_after_the_lede_sentence_of_a_short_belarus_story_is_a_passing_mention(pack: TopicPack) -> None:
    text = ("Belarus will build a second potash terminal on the Russian coast near St Petersburg, the state "
            "company said on Tuesday, to ship fertiliser to buyers in Asia and Africa. Until 2022 the potash "
            "went through Lithuania; now it travels by rail across Russia, and Minsk says the new berth will "
            "double its export capacity by 2028.")
    result = tag(pack, None, text, "en")
    assert not result.on_topic, result.explanation
    assert "Lithuania named only once" in result.explanation


def test_a_lede_sentence_with_an_initial_still_counts_as_one_sentence(pack: TopicPack) -> None:
    text = ("Prezidentas G. Nausėda pareiškė, kad A. Lukašenkos režimas sąmoningai siunčia kontrabandininkų "
            "balionus per sieną. Pasak jo, tai hibridinė ataka, o pasieniečiai budi visą naktį.")
    result = tag(pack, None, text, "lt")
    assert result.on_topic, result.explanation


def test_the_border_of_lithuania_with_belarus_named_once_in_one_phrase_is_not_a_passing_mention(pack: TopicPack) -> None:
    text = ("Премьер-министр сообщила, что все ведомства уже получили поручения. В четверг кабинет обсудит "
            "закрытие границы Литвы с Белоруссией на месяц. Исключения сделают для дипломатов и грузов гуманитарной помощи.")
    result = tag(pack, None, text, "ru")
    assert result.on_topic, result.explanation


def test_a_belarus_story_filed_from_vilnius_is_not_about_lithuania(pack: TopicPack) -> None:
    text = ("VILNIUS, Lithuania (AP) — A court in Belarus on Tuesday sentenced a blogger to eight years in prison "
            "on extremism charges, the Belarusian Association of Journalists said.\n"
            "The blogger ran a channel that the authorities in Minsk banned in 2021. More than 30 journalists are "
            "behind bars in Belarus, the association said.")
    result = tag(pack, "Belarus jails blogger for eight years", text, "en")
    assert not result.on_topic, result.explanation
    assert "Lithuania not mentioned outside the dateline" in result.explanation


def test_a_russian_agency_dateline_names_where_the_story_was_filed(pack: TopicPack) -> None:
    text = ("ВИЛЬНЮС, 5 марта. /ТАСС/. Силовики в Белоруссии задержали трёх сотрудников независимого издания, "
            "сообщает Белорусская ассоциация журналистов.\n"
            "Им грозит до шести лет лишения свободы по статье об экстремизме, издание заблокировано с 2023 года.")
    result = tag(pack, None, text, "ru")
    assert not result.on_topic, result.explanation
    assert "Lithuania not mentioned outside the dateline" in result.explanation


def test_a_belarusian_film_festival_in_lithuania_is_culture_not_relations(pack: TopicPack) -> None:
    text = ("Vilniuje vyko baltarusių kino festivalis, kuriame parodyta 20 filmų. Festivalį organizavo Lietuvoje "
            "gyvenantys baltarusių menininkai.\n"
            "Filmai pasakoja apie gyvenimą Baltarusijoje po 2020 metų protestų.")
    result = tag(pack, None, text, "lt")
    assert not result.on_topic, result.explanation
    assert "no paragraph about both names a subject" in result.explanation


def test_a_lithuanian_club_signing_a_belarusian_player_is_sport(pack: TopicPack) -> None:
    text = ("Lithuanian basketball club Zalgiris Kaunas has signed Belarusian centre Ivan Petrov on a two-year deal, "
            "the club said.\nThe 24-year-old played in Minsk last season and averaged 12 points.")
    result = tag(pack, "Zalgiris signs Belarusian centre", text, "en")
    assert not result.on_topic, result.explanation
    assert "sport context" in result.explanation


def test_balloons_from_belarus_closing_vilnius_airport_are_on_topic_without_naming_lithuania(pack: TopicPack) -> None:
    text = ("Vilniaus oro uostas naktį vėl buvo uždarytas dėl iš Baltarusijos atskridusių kontrabandinių balionų.\n"
            "Dešimt skrydžių nukreipta į Kauną ir Rygą, pranešė oro uostas.")
    result = tag(pack, "Vilniaus oro uostas vėl uždarytas", text, "lt")
    assert result.on_topic, result.explanation
    assert "place/vilnius-airport" in result.entities


def test_migrants_from_belarus_held_at_a_lithuanian_camp_are_on_topic_without_naming_lithuania(pack: TopicPack) -> None:
    text = ("Rūdninkų poligone įrengtoje stovykloje laikomi 300 migrantų, neteisėtai atvykusių iš Baltarusijos.\n"
            "Migrantai skundžiasi maistu, o stovyklos vadovybė sako, kad sąlygos gerinamos.")
    result = tag(pack, None, text, "lt")
    assert result.on_topic, result.explanation


def test_a_lead_opening_with_the_pair_before_a_dash_is_not_mistaken_for_a_dateline(pack: TopicPack) -> None:
    text = ("Lithuania – Belarus relations have worsened again. Vilnius closed the border after balloons "
            "from Belarus shut its airport twice in one week.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation


def test_the_two_countries_after_an_introductory_word_are_the_pair_not_a_list(pack: TopicPack) -> None:
    text = ("On Tuesday, Lithuania and Belarus exchanged protest notes over the smuggling balloons. "
            "Minsk denied sending them.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation


def test_a_belarusian_held_in_lithuania_on_spying_charges_is_a_security_story(pack: TopicPack) -> None:
    text = ("В Литве задержали гражданина Белоруссии по подозрению в шпионаже, сообщил Департамент госбезопасности. "
            "Минск назвал задержание провокацией.")
    result = tag(pack, None, text, "ru")
    assert result.on_topic, result.explanation
    assert "security_military" in result.subtopics


def test_a_polish_report_on_transit_to_krolewiec_is_about_kaliningrad(pack: TopicPack) -> None:
    text = ("Litwa wstrzymała tranzyt towarów objętych sankcjami do obwodu królewieckiego. Białoruś nie jest "
            "objęta tą decyzją.\n"
            "Rosja zapowiada odwet, a gubernator obwodu kaliningradzkiego mówi o blokadzie.\n"
            "Komisja Europejska ma wydać wytyczne w sprawie tranzytu.")
    result = tag(pack, "Tranzyt do Królewca", text, "pl")
    assert not result.on_topic, result.explanation


def test_a_friendly_football_match_reported_in_belarusian_is_sport(pack: TopicPack) -> None:
    text = "Беларускія футбалісты прайгралі Літве ў таварыскім матчы ў Вільні з лікам 0:2."
    result = tag(pack, None, text, "be")
    assert not result.on_topic, result.explanation
    assert "sport context" in result.explanation


def test_a_closure_of_the_borders_with_lithuania_and_poland_is_about_lithuania_too(pack: TopicPack) -> None:
    title = "Lukashenko says he will close the borders with Lithuania and Poland"
    text = ("Belarus is forced to close its borders with Lithuania and Poland and to reinforce the border with Ukraine, "
            "Alexander Lukashenko told a forum in Minsk on Friday. It is not yet clear whether the crossings will really shut.")
    result = tag(pack, title, text, "en")
    assert result.on_topic, result.explanation


def test_a_russian_report_spelling_the_checkpoint_tveriachius_names_the_shared_border(pack: TopicPack) -> None:
    text = "Таможенники Литвы нашли 40 тысяч пачек сигарет в тайнике фуры на пункте пропуска «Тверячюс»."
    result = tag(pack, None, text, "ru")
    assert result.on_topic, result.explanation
    assert "place/tverecius" in result.entities


def test_a_short_excerpt_whose_border_closure_is_in_its_lithuanian_paragraph_has_a_subject(pack: TopicPack) -> None:
    text = ("“The Belarusian side is holding the vehicles. It is only logical to turn to Belarus for the damages,” "
            "Lithuania's prime minister Inga Ruginienė told reporters on Wednesday.\n"
            "“From the very first day it shut the border, Lithuania said clearly that the hauliers could come back "
            "with their lorries,” she added.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation
    assert "no paragraph about both names a subject" not in result.explanation


def test_a_russian_report_of_people_spying_for_belarus_in_lithuania_is_a_security_story(pack: TopicPack) -> None:
    text = "В Литве задержали троих, шпионивших в пользу Беларуси. Прокуратура сообщила о задержании в среду."
    result = tag(pack, None, text, "ru")
    assert result.on_topic, result.explanation
    assert "security_military" in result.subtopics


def test_a_polish_report_naming_lithuania_by_the_plural_litewscy_is_on_topic(pack: TopicPack) -> None:
    text = ("Litewscy funkcjonariusze zawrócili w czwartek 59 migrantów, którzy próbowali nielegalnie przejść granicę "
            "z Białorusi.")
    result = tag(pack, None, text, "pl")
    assert result.on_topic, result.explanation


@pytest.mark.parametrize(("word", "country"), [("polscy", "Poland"), ("łotewscy", "Latvia")])
def test_polish_plural_adjectives_of_the_other_neighbours_name_those_countries(pack: TopicPack, word: str,
                                                                               country: str) -> None:
    result = tag(pack, None, f"Na granicy z Białorusią {word} funkcjonariusze zatrzymali migrantów, a Litwa nie.", "pl")
    assert [m.term for m in result.matched if m.surface == word] == [country]


def test_a_side_named_once_as_the_country_across_the_border_is_not_a_passing_mention(pack: TopicPack) -> None:
    text = ("The parliament of Lithuania has voted to make the turning back of migrants legal. It formalises a practice "
            "used since the summer of 2021 on the country's border with the authoritarian neighbour Belarus. "
            "In the Seimas, 86 members voted for the change.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation
    assert "named only once" not in result.explanation


def test_a_story_opening_on_poland_with_lithuanian_paragraphs_on_the_border_is_on_topic(pack: TopicPack) -> None:
    text = ("Poland has extended the buffer zone along its frontier by another 90 days, the interior ministry in Warsaw "
            "said on Monday.\n"
            "Lithuania, too, has kept its crossings with Belarus shut since October, and the Lithuanian government says "
            "it will not reopen them while smuggling balloons keep coming from Belarus.\n"
            "Lithuanian hauliers say more than a thousand of their trucks are still stuck in Belarus.\n"
            "Human rights groups in both countries have criticised the measures.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation


def test_a_joint_statement_lithuania_signs_with_its_neighbours_on_belarus_is_on_topic(pack: TopicPack) -> None:
    text = ("In a joint statement, the prime ministers of Poland, Lithuania, Latvia and Estonia condemned Belarus for "
            "pushing migrants across their borders.\n"
            "They called the crisis a hybrid attack organised by the regime in Minsk and asked Brussels for money "
            "for border fences.")
    result = tag(pack, None, text, "en")
    assert result.on_topic, result.explanation


def test_a_list_of_countries_exiles_live_in_is_still_a_round_up(pack: TopicPack) -> None:
    text = ("Belarusian exiles now live in Poland, Lithuania, Latvia and Estonia, a new survey of the diaspora finds.\n"
            "Most of them left Belarus after the 2020 protests and say they cannot go back.")
    result = tag(pack, None, text, "en")
    assert not result.on_topic, result.explanation
    assert "only in a list of countries" in result.explanation
