"""The follow-up reader (index/followup.py): how short messages continue the previous question."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SHARED_CORPUS

from index.countries import find_countries, tag_countries
from index.followup import Reading, read_followup

BASE = "Does Russia have a military base in Tajikistan?"
BASE_RU = "Есть ли у России военная база в Таджикистане?"


@pytest.mark.parametrize(
    ("previous", "message", "expected"),
    [
        (BASE, "and in Kyrgyzstan?", "Does Russia have a military base in Kyrgyzstan?"),
        (BASE, "What about Kyrgyzstan", "Does Russia have a military base in Kyrgyzstan?"),
        ("What influenced Kyrgyzstan's legal system?", "and Kazakhstan?", "What influenced Kazakhstan's legal system?"),
        (
            "How many Uzbek migrant workers are in Russia?",
            "and kyrgyz?",
            "How many Kyrgyz migrant workers are in Russia?",
        ),
        # the preposition tells which country goes: "from" Russia, not Kazakhstan
        (
            "What share of Kazakhstan's imports comes from Russia?",
            "and from China?",
            "What share of Kazakhstan's imports comes from China?",
        ),
        # without one, Russia (the constant side) stays
        ("Russia Kazakhstan trade", "and Uzbekistan?", "Russia Uzbekistan trade"),
        (
            "Is Turkmenistan a full member of the CIS?",
            "and of the Organization of Turkic States?",
            "Is Turkmenistan a full member of the Organization of Turkic States?",
        ),
        (
            "When was Uzbekistan suspended from the CSTO?",
            "and the EAEU?",
            "When was Uzbekistan suspended from the EAEU?",
        ),
        ("When did Putin visit Astana?", "and Medvedev?", "When did Medvedev visit Astana?"),
        (
            "According to the 2012 Factbook, how long is the Kazakhstan-Russia land border?",
            "and in 2026?",
            "According to the 2026 Factbook, how long is the Kazakhstan-Russia land border?",
        ),
        ("What is the CSTO?", "and in 2015?", "What is the CSTO in 2015?"),
        (BASE_RU, "а в Киргизии?", "Есть ли у России военная база в Киргизии?"),
        (
            "Сколько узбекских трудовых мигрантов в России?",
            "а киргизских?",
            "Сколько киргизских трудовых мигрантов в России?",
        ),
        (
            "Когда Узбекистан приостановил членство в ОДКБ?",
            "а в ЕврАзЭС?",
            "Когда Узбекистан приостановил членство в ЕврАзЭС?",
        ),
        ("Когда Путин приезжал в Астану?", "а Медведев?", "Когда Медведев приезжал в Астану?"),
    ],
)
def test_a_new_entity_replaces_the_matching_one(previous: str, message: str, expected: str) -> None:
    assert read_followup(previous, message) == Reading(expected, "replace")


@pytest.mark.parametrize(
    ("previous", "message", "expected"),
    [
        (
            "Does Russia have a military base in Kyrgyzstan?",
            "since when?",
            "Since when does Russia have a military base in Kyrgyzstan?",
        ),
        (
            "Why does Russia keep a base in Tajikistan?",
            "Since when?",
            "Since when does Russia keep a base in Tajikistan?",
        ),
        (
            "When did Turkmenistan stop selling gas to Russia?",
            "and why?",
            "Why did Turkmenistan stop selling gas to Russia?",
        ),
        ("russia base tajikistan", "why", "Why russia base tajikistan?"),
        (
            "Есть ли у России военная база в Киргизии?",
            "с какого года?",
            "С какого года есть у России военная база в Киргизии?",
        ),
        (
            "Когда Туркменистан перестал продавать газ России?",
            "а почему?",
            "Почему Туркменистан перестал продавать газ России?",
        ),
    ],
)
def test_a_bare_question_word_asks_about_the_same_subject(previous: str, message: str, expected: str) -> None:
    assert read_followup(previous, message) == Reading(expected, "ask")


def test_an_entity_and_a_question_word_together() -> None:
    reading = read_followup("Why does Russia keep a base in Tajikistan?", "and since when in Kyrgyzstan?")
    assert reading == Reading("Since when does Russia keep a base in Kyrgyzstan?", "replace")


@pytest.mark.parametrize(
    ("message", "passage"),
    [
        ("more about 2", 2),
        ("Tell me more", 1),
        ("more about that", 1),
        ("more on [3]", 3),
        ("more about the second one", 2),
        ("подробнее о втором", 2),
        ("расскажи подробнее", 1),
        ("подробнее про 4", 4),
    ],
)
def test_more_about_a_passage(message: str, passage: int) -> None:
    assert read_followup(BASE, message) == Reading(BASE, "more", passage)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("only the Factbook", f"{BASE} source:factbook"),
        ("just Wikipedia", f"{BASE} source:wikipedia"),
        ("only since 2015", f"{BASE} since:2015"),
        ("только справочник ЦРУ", f"{BASE} source:factbook"),
        ("только до 2010 года", f"{BASE} until:2010"),
    ],
)
def test_only_a_source_or_period(message: str, expected: str) -> None:
    assert read_followup(BASE, message) == Reading(expected, "filter")


def test_a_filter_replaces_the_same_filter_and_filters_in_the_message_are_kept() -> None:
    assert read_followup(f"{BASE} source:wikipedia", "only the factbook") == Reading(
        f"{BASE} source:factbook", "filter"
    )
    source = "What source says Russia has a base in Tajikistan?"
    assert read_followup(source, "only the factbook") == Reading(f"{source} source:factbook", "filter")
    reading = read_followup(BASE, "and in Kyrgyzstan? since:2010")
    assert reading == Reading("Does Russia have a military base in Kyrgyzstan? since:2010", "replace")


@pytest.mark.parametrize(
    "message",
    [
        "What is the capital of Kazakhstan?",
        "Почему Киргизия отказалась от рубля?",
        "tell me more about Kazakhstan",
        "and migrants?",
        "Where does most of the marijuana sold in Russia come from?",
        "hello",
        "",
        "   ",
        "why and when?",
        "and in Tajikistan?",  # nothing new
    ],
)
def test_standalone_messages_are_never_rewritten(message: str) -> None:
    assert read_followup(BASE, message) is None


def test_a_bare_name_is_a_follow_up_too() -> None:
    assert read_followup(BASE, "Kyrgyzstan") == Reading("Does Russia have a military base in Kyrgyzstan?", "replace")


def test_no_previous_question_no_reading() -> None:
    assert read_followup("", "and in Kyrgyzstan?") is None


def test_chains_read_against_the_last_reading() -> None:
    first = read_followup(BASE, "and in Kyrgyzstan?")
    assert first is not None
    second = read_followup(first.question, "since when?")
    assert second == Reading("Since when does Russia have a military base in Kyrgyzstan?", "ask")


def test_country_mentions_have_positions() -> None:
    text = "Russia's base in Tajikistan and Таджикистане"
    mentions = find_countries(text)
    assert [(text[m.start : m.end], m.country) for m in mentions] == [
        ("Russia", "Russia"),
        ("Tajikistan", "Tajikistan"),
        ("Таджикистане", "Tajikistan"),
    ]
    assert tag_countries(text) == ("Russia", "Tajikistan")


def run_checker(*args: str) -> subprocess.CompletedProcess[str]:
    script = ROOT / "eval" / "check_followups.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)


def test_the_follow_up_set_checks_out(tmp_path: Path) -> None:
    done = run_checker("--schema-only")
    assert done.returncode == 0, done.stdout
    assert "46 pairs" in done.stdout and "OK" in done.stdout
    if SHARED_CORPUS.is_dir():
        assert run_checker("--corpus", str(SHARED_CORPUS)).returncode == 0
    rows = [json.loads(line) for line in (ROOT / "eval" / "followups.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[0]["kind"] = "more"  # a "more" pair without a passage number, and with gold
    rows[1]["twin"] = "fr999"
    broken = tmp_path / "followups.jsonl"
    broken.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    done = run_checker("--schema-only", str(broken))
    assert done.returncode == 1
    assert "needs the passage number" in done.stdout and "twin fr999 missing" in done.stdout


def test_the_split_is_frozen_and_shared_by_twins() -> None:
    rows = [json.loads(line) for line in (ROOT / "eval" / "followups.jsonl").read_text(encoding="utf-8").splitlines()]
    by_id = {row["id"]: row for row in rows}
    assert {row["split"] for row in rows} == {"dev", "test"}
    assert all(by_id[row["twin"]]["split"] == row["split"] for row in rows if row.get("twin"))
