"""Shared fixtures: a tiny corpus, a deterministic embedder, and paths to ../shared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botkit import TOKEN, BotRunner, settings_for
from fakebotapi import FakeBotAPI
from fakelib import FakeLibrary, Recorder

from index.embedding import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
SEED = ROOT / "corpus" / "000_6deba38a01d7e54b.txt"

TINY_ARTICLES = {
    "dushanbe-base.md": """---
title: Russia's military base in Tajikistan
source: Example News
date: 2013-05-02
url: https://example.org/base
---

Russia keeps its 201st military base in Tajikistan, near Dushanbe. The base guards the long border with Afghanistan.

Officials in Moscow say the border is the first line of defence against drug trafficking from Afghanistan.
""",
    "kazakh-oil.md": """---
title: Kazakhstan's oil exports
source: Example News
date: 2011-03-15
---

Kazakhstan exports most of its crude oil through the Caspian Pipeline Consortium to the Black Sea. Oil revenue funds the national budget.
""",
    "uzbek-cotton.md": """---
title: Cotton in Uzbekistan
source: Other Wire
date: 2015-09-01
---

Uzbekistan remains one of the largest cotton exporters in the world. The harvest relies on seasonal labour.
""",
}


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory):
    """One cache of exported models for the whole run, never the user's (the first export takes seconds).

    Session-wide, so module-scoped fixtures that load a model before any test's own
    environment is set up use it too.
    """
    cache = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STEPPE_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> None:
    """Keep every test away from the developer's own index, settings and caches."""
    monkeypatch.setenv("STEPPE_INDEX_DIR", str(tmp_path / "default-index"))
    monkeypatch.setenv("STEPPE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("STEPPE_FEEDS", str(tmp_path / "feeds.toml"))  # never the developer's watched feeds
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("STEPPE_SHARED_CORPUS", "off")  # a default build reads only what the test gives it
    monkeypatch.delenv("STEPPE_ONNX", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("STEPPE_MODEL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # httpx honours them; the local test servers are reached directly


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    """A deterministic bag-of-words embedder: exact, fast, no model download."""
    return HashEmbedder(dim=64, max_tokens=128)


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """Three short Markdown articles with front matter."""
    root = tmp_path / "tiny"
    root.mkdir()
    for name, text in TINY_ARTICLES.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def shared_corpus() -> Path:
    """../shared/corpus, or skip when it is absent."""
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return SHARED_CORPUS


# The bot end to end (tests/test_bot.py, tests/test_conversations.py): a module may override ``library``.


@pytest.fixture
def library() -> Any:
    """The answer layer under test; swap in a real small index (``Library.open(...)``) here."""
    return FakeLibrary()


@pytest.fixture
def recorder(library: Any) -> Recorder:
    """What the bot is given: the library, wrapped to record calls and to hold or break questions."""
    return Recorder(library)


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture
def start_bot(api: FakeBotAPI, recorder: Recorder) -> Iterator[Callable[..., BotRunner]]:
    runners: list[BotRunner] = []

    def start(webhook: bool = False, **env: str) -> BotRunner:
        runner = BotRunner(settings_for(api, **env), recorder)
        runners.append(runner)
        return runner.start(webhook)

    yield start
    for runner in runners:
        runner.stop()


@pytest.fixture
def bot(start_bot: Callable[..., BotRunner]) -> BotRunner:
    return start_bot()
