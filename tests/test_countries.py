"""Tests for index.countries: tagging spellings, demonyms, Russian forms; normalising input."""

from __future__ import annotations

import pytest

from index.countries import COUNTRIES, normalize_country, tag_countries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia and Kazakhstan signed a treaty.", ("Kazakhstan", "Russia")),
        ("the Russian Federation", ("Russia",)),
        ("Russians in Moscow and the Kremlin", ("Russia",)),
        ("Kirghizia, the Kyrgyz Republic", ("Kyrgyzstan",)),
        ("the Kirgiz and Kyrgyz people", ("Kyrgyzstan",)),
        ("Kazakhs and Kazakhstani firms", ("Kazakhstan",)),
        ("Tadjik and Tajikistani migrants", ("Tajikistan",)),
        ("Turkmenia (now Turkmenistan) and Turkmen gas", ("Turkmenistan",)),
        ("Uzbek cotton", ("Uzbekistan",)),
        ("Afghan opiates", ("Afghanistan",)),
        ("Chinese investment and the PRC", ("China",)),
        ("Beijing's Belt and Road", ("China",)),
        ("the U.S. expert", ("United States",)),
        ("US troops left", ("United States",)),
        ("United States of America", ("United States",)),
        ("American bases", ("United States",)),
        ("Mongolia, Iran, Pakistan and India", ("India", "Iran", "Mongolia", "Pakistan")),
        (
            "Turkey, Ukraine, Belarus, Armenia, Azerbaijan, Georgia",
            (
                "Armenia",
                "Azerbaijan",
                "Belarus",
                "Georgia",
                "Turkey",
                "Ukraine",
            ),
        ),
        ("Astana, Bishkek and Dushanbe", ("Kazakhstan", "Kyrgyzstan", "Tajikistan")),
    ],
)
def test_english_names_spellings_and_demonyms(text: str, expected: tuple[str, ...]) -> None:
    assert tag_countries(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Россия", ("Russia",)),
        ("в России и российский бизнес", ("Russia",)),
        ("Казахстан и казахстанские компании", ("Kazakhstan",)),
        ("Кыргызстан", ("Kyrgyzstan",)),
        ("Киргизия", ("Kyrgyzstan",)),
        ("Таджикистана", ("Tajikistan",)),
        ("Туркменистан и Туркмения", ("Turkmenistan",)),
        ("Узбекистане", ("Uzbekistan",)),
        ("из Афганистана", ("Afghanistan",)),
        ("Китай и Китая", ("China",)),
        ("США и РФ", ("Russia", "United States")),
    ],
)
def test_russian_forms(text: str, expected: tuple[str, ...]) -> None:
    assert tag_countries(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Russell Crowe and Bertrand Russell",
        "USA Today reported it first",
        "HELP US WIN THE ELECTION",
        "let us go; trust us",
        "fine bone china and a roast turkey",
        "the Indian Ocean",
        "Latin American and Central American states; the Inter-American Treaty",
        "Kievan Rus was a medieval state",
        "грузить товары, индивидуальный подход",
        "Turkic languages",
        "",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert tag_countries(text) == ()


def test_result_is_sorted_and_canonical() -> None:
    tags = tag_countries("Uzbekistan, Afghanistan, Russia, China, Kazakhstan")
    assert tags == tuple(sorted(tags))
    assert set(tags) <= set(COUNTRIES)


def test_seed_article_countries() -> None:
    text = (
        "Russian President Vladimir Putin's recent visits to the Central Asian states, including "
        "Kyrgyzstan, Tajikistan and Kazakhstan, ... the U.S. expert ... narcotics trafficking from Afghanistan."
    )
    assert tag_countries(text) == (
        "Afghanistan",
        "Kazakhstan",
        "Kyrgyzstan",
        "Russia",
        "Tajikistan",
        "United States",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tajik", "Tajikistan"),
        ("Tajikistan", "Tajikistan"),
        ("  TAJIKISTAN ", "Tajikistan"),
        ("таджикистан", "Tajikistan"),
        ("kg", "Kyrgyzstan"),
        ("kyrgyz", "Kyrgyzstan"),
        ("Kirghizia", "Kyrgyzstan"),
        ("ru", "Russia"),
        ("Russian Federation", "Russia"),
        ("россия", "Russia"),
        ("us", "United States"),
        ("USA", "United States"),
        ("united states", "United States"),
        ("uzbek", "Uzbekistan"),
        ("kz", "Kazakhstan"),
        ("china", "China"),
        ("turkey", "Turkey"),
        ("georgia", "Georgia"),
        ("Narnia", None),
        ("", None),
        ("Russia and China", None),
    ],
)
def test_normalize_country(name: str, expected: str | None) -> None:
    assert normalize_country(name) == expected
