"""Bot under load: simulated users through the real Application and the fake Bot API server.

The fake server (tests/fakebotapi.py) runs in this process; the bot runs as a separate
process, as in production: ``python -m bot.cli bot`` pointed at the fake server with
STEPPE_BASE_URL. Each simulated user has a private chat and asks its next question as soon
as the previous one is answered (a closed loop), all users at once. Every question must get
exactly one reply. The per-user flood limit is switched off (STEPPE_RATE_LIMIT=0): this
measures capacity, not flood control. Questions are the 200 benchmark questions, with two
harmless prefixes ("Please tell me: ...") beyond the first 200 so no question vector is cached.

Baselines in the same run, before the bot starts: the same questions through
``Library.answer`` sequentially and from 6 threads (the size of asyncio's default thread pool
here), without and with micro-batching of concurrent encodes (index/microbatch.py). The bot
itself (the real CLI, which also gives the cold start: process start to the first getUpdates,
and to the first answer) is then run without micro-batching (STEPPE_MICROBATCH=0) and with it
(the default).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import (
    PROJECT_ROOT,
    PYTHON,
    Stats,
    bench_env,
    clear_answer_caches,
    ensure_index,
    load_questions,
    log,
    markdown_table,
)

TOKEN = "123456789:AAHbenchTOKENforLoad_abcdefghijklmnop"
USERS, PER_USER = 50, 10
QUICK_USERS, QUICK_PER_USER = 10, 5
PREFIXES = ("", "Please tell me: ", "Tell me, please: ")
WORKERS = min(32, (os.cpu_count() or 1) + 4)  # asyncio.to_thread's default pool size
TIMEOUT = 900.0
# Answers/s of the micro-batched bot with 50 users before sentence vectors were stored (answers
# encoded the top passages' sentences; README, 2026-11-28). The target is twice that.
BEFORE_SENTENCES_ANSWERS_PER_S = 13.9
TARGET_ANSWERS_PER_S = 2 * BEFORE_SENTENCES_ANSWERS_PER_S


def questions_for(users: int, per_user: int) -> list[list[str]]:
    """users x per_user distinct questions: the 200, then with prefixes that add no search terms."""
    base = load_questions()
    out = []
    for user in range(users):
        row = []
        for j in range(per_user):
            k = user * per_user + j
            row.append(PREFIXES[(k // len(base)) % len(PREFIXES)] + base[k % len(base)])
        out.append(row)
    return out


# --- the library alone -----------------------------------------------------------------------


def library_baselines(index_dir: Path, questions: list[str]) -> dict[str, Any]:
    """Answers/s and latency of Library.answer: sequential; 6 threads plain, single-threaded ops, micro-batched."""
    from index.embedding import load_embedder
    from index.microbatch import MicroBatchEmbedder
    from index.service import Library
    from index.store import open_store

    reader = open_store(index_dir).open()
    model = reader.manifest.model
    reader.close()
    embedder = load_embedder(model)  # the index's own model, whatever the default is
    plain = Library.open(index_dir, embedder=embedder)
    batched_embedder = MicroBatchEmbedder(embedder)
    batched = Library.open(index_dir, embedder=batched_embedder)
    for question in ("What is the capital of Tajikistan?", "Who leads Turkmenistan?"):
        plain.answer(question)
    out: dict[str, Any] = {}
    for name, library, workers in (
        ("sequential", plain, 1),
        ("threads", plain, WORKERS),
        ("threads_microbatch", batched, WORKERS),
    ):
        clear_answer_caches(library)  # every run starts cold, like a new bot process
        log(f"bot: Library.answer x {len(questions)}, {name}")
        latencies: list[float] = []

        def answer(question: str, library: Any = library, latencies: list[float] = latencies) -> None:
            start = time.perf_counter()
            library.answer(question)
            latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(answer, questions))
        seconds = time.perf_counter() - start
        out[name] = {
            "workers": workers,
            "seconds": round(seconds, 2),
            "answers_per_s": round(len(questions) / seconds, 2),
            "latency": Stats.of(latencies).__dict__,
        }
    out["microbatch_requests_per_batch"] = round(batched_embedder.requests / max(1, batched_embedder.batches), 2)
    return out


# --- the bot ---------------------------------------------------------------------------------


def _fake_api():
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from fakebotapi import FakeBotAPI

    return FakeBotAPI


def _bot_env(api: Any, index_dir: Path) -> dict[str, str]:
    env = bench_env()
    for name in list(env):
        if name.startswith("STEPPE_") or name == "TELEGRAM_BOT_TOKEN":
            del env[name]  # nothing from the developer's own settings
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "STEPPE_BASE_URL": api.base_url,
            "STEPPE_INDEX_DIR": str(index_dir),
            "STEPPE_RATE_LIMIT": "0",
            "STEPPE_LOG_LEVEL": "WARNING",
        }
    )
    return env


class BotProcess:
    """A bot process against the fake server; stopped with SIGINT like Ctrl-C."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.log_path = workdir / "bot.log"
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.started = time.monotonic()
        # cwd: a temporary folder, so no .env file of the developer is read.
        self.proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT)

    def check_alive(self) -> None:
        """Raise with the bot's log if it has exited."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"the bot exited ({self.proc.returncode}): {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        """SIGINT, then wait (kill after 20 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _wait(predicate: Any, bot: BotProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        bot.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"bot did not get there in {timeout:.0f} s; log: {bot.log_path.read_text()[-2000:]}")
        time.sleep(0.005)


def cold_start(api: Any, bot: BotProcess) -> dict[str, float]:
    """Process start -> first getUpdates (ready); ready -> first answer (the model loads lazily)."""
    _wait(lambda: api.all_calls("getUpdates"), bot, 120)
    ready = api.all_calls("getUpdates")[0].received - bot.started  # the first long poll began
    # Where the start-up goes: imports and Library.open end at the first API call (getMe);
    # post_init (index stats, command menus) ends at the last call before polling starts.
    first_call = min(call.at for call in api.log) - bot.started
    before_polling = [call.at for call in api.log if call.method != "getUpdates"]
    user = {"id": 999, "is_bot": False, "first_name": "Warm", "language_code": "en"}
    sent = time.monotonic()
    message = api.send(api.private_chat(user), user, "What is the capital of Kazakhstan?")
    _wait(lambda: api.replies_to(message), bot, 120)
    first = api.replies_to(message)[0].at - sent
    return {
        "start_to_first_api_call_s": round(first_call, 3),
        "start_to_post_init_done_s": round(max(before_polling, default=first_call + bot.started) - bot.started, 3),
        "start_to_ready_s": round(ready, 3),
        "first_answer_s": round(first, 3),
    }


def load(api: Any, bot: BotProcess, plan: list[list[str]]) -> dict[str, Any]:
    """All users at once, each asking its next question when the last one is answered."""
    users = [
        {"id": 20_000 + i, "is_bot": False, "first_name": f"User{i}", "language_code": "en"} for i in range(len(plan))
    ]
    chats = [api.private_chat(user) for user in users]
    pending: dict[tuple[int, int], tuple[int, int, float]] = {}  # (chat, message) -> user, j, sent at
    replies: dict[tuple[int, int], int] = {}
    latencies: list[float] = []
    with_excerpts = 0
    total = sum(len(row) for row in plan)
    seen = len(api.log)
    lock = threading.Lock()

    def ask(user: int, j: int) -> None:
        message = api.message(chats[user], users[user], plan[user][j])
        key = (chats[user]["id"], message["message_id"])
        with lock:
            pending[key] = (user, j, time.monotonic())
            replies[key] = 0
        api.push("message", message)

    started = time.monotonic()
    for user in range(len(users)):
        ask(user, 0)
    deadline = started + TIMEOUT
    finished_at = started
    while len(latencies) < total:
        bot.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(latencies)} of {total} answered after {TIMEOUT:.0f} s")
        calls = api.log[seen:]
        seen += len(calls)
        for call in calls:
            if call.method != "sendMessage" or call.status != 200:
                continue
            key = (call.params.get("chat_id"), (call.params.get("reply_parameters") or {}).get("message_id"))
            with lock:
                if key not in replies:
                    continue
                replies[key] += 1
                if replies[key] > 1:
                    continue
                user, j, sent = pending[key]
            latencies.append(call.at - sent)
            finished_at = max(finished_at, call.at)
            with_excerpts += bool(call.params.get("reply_markup"))
            if j + 1 < len(plan[user]):
                ask(user, j + 1)
        time.sleep(0.005)
    time.sleep(2.0)  # late duplicates would show up now
    for call in api.log[seen:]:
        key = (call.params.get("chat_id"), (call.params.get("reply_parameters") or {}).get("message_id"))
        if call.method == "sendMessage" and key in replies:
            replies[key] += 1
    counts = list(replies.values())
    seconds = finished_at - started
    return {
        "users": len(plan),
        "questions": total,
        "answered_exactly_once": sum(c == 1 for c in counts),
        "unanswered": sum(c == 0 for c in counts),
        "answered_twice_or_more": sum(c > 1 for c in counts),
        "with_excerpts": with_excerpts,
        "seconds": round(seconds, 2),
        "answers_per_s": round(total / seconds, 2),
        "latency": Stats.of(latencies).__dict__,
        "chat_actions": len(api.calls("sendChatAction")),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used (Linux /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss(pid: int) -> int | None:
    """VmHWM of a live process (Linux), in bytes: its peak resident memory so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_bot_load(index_dir: Path, plan: list[list[str]], microbatch: bool) -> dict[str, Any]:
    """Start a fake server and a bot process, measure the cold start, then the load."""
    fake_api = _fake_api()
    command = [PYTHON, "-m", "bot.cli", "bot"]
    with tempfile.TemporaryDirectory(prefix="steppe-bench-bot-") as tmp, fake_api(TOKEN) as api:
        env = {**_bot_env(api, index_dir), "STEPPE_MICROBATCH": "1" if microbatch else "0"}
        bot = BotProcess(command, env, Path(tmp))
        try:
            log(f"bot: starting the bot ({'micro-batched' if microbatch else 'STEPPE_MICROBATCH=0'})")
            cold = cold_start(api, bot)
            log(f"bot: ready in {cold['start_to_ready_s']} s; {len(plan)} users x {len(plan[0])} questions")
            bot_cpu, own_cpu = _cpu_seconds(bot.proc.pid), time.process_time()
            result = load(api, bot, plan)
            # CPU per answer: what the bot (and the fake Bot API beside it) spend, however busy the machine.
            result["bot_cpu_ms_per_answer"] = round(
                (_cpu_seconds(bot.proc.pid) - bot_cpu) * 1000 / result["questions"], 2
            )
            result["api_cpu_ms_per_answer"] = round((time.process_time() - own_cpu) * 1000 / result["questions"], 2)
            result["peak_rss_bytes"] = _peak_rss(bot.proc.pid)
        finally:
            bot.stop()
    return {"cold": cold, **result}


def run(quick: bool = False) -> dict[str, Any]:
    """Library baselines, then the plain bot, then the micro-batched bot."""
    index_dir = ensure_index(quick)
    users, per_user = (QUICK_USERS, QUICK_PER_USER) if quick else (USERS, PER_USER)
    plan = questions_for(users, per_user)
    flat = [q for row in plan for q in row]
    baselines = library_baselines(index_dir, flat)
    plain = run_bot_load(index_dir, plan, microbatch=False)
    batched = run_bot_load(index_dir, plan, microbatch=True)
    return {
        "index_dir": str(index_dir),
        "users": users,
        "per_user": per_user,
        "library": baselines,
        "bot": plain,
        "bot_microbatch": batched,
        "bot_vs_library_threads": round(plain["answers_per_s"] / baselines["threads"]["answers_per_s"], 3),
    }


def table(result: dict[str, Any]) -> str:
    """Markdown: the bot plain and micro-batched against Library.answer alone."""
    rows = []
    lib = result["library"]
    labels = {
        "sequential": "`Library.answer`, one at a time (baseline)",
        "threads": f"`Library.answer`, {lib['threads']['workers']} threads",
        "threads_microbatch": f"`Library.answer`, {lib['threads']['workers']} threads, micro-batched encodes",
    }
    for name, label in labels.items():
        if name not in lib:  # older result files
            continue
        entry = lib[name]
        rows.append([label, f"{entry['answers_per_s']:.2f}", Stats(**entry["latency"]).fmt_ms(p95=True), "", "", ""])
    for name, label in (
        ("bot", "bot (`steppe bot`, STEPPE_MICROBATCH=0)"),
        ("bot_microbatch", "bot, micro-batched encodes (default)"),
    ):
        entry = result[name]
        once = f"{entry['answered_exactly_once']}/{entry['questions']}"
        rows.append(
            [
                f"{label}: {entry['users']} users × {result['per_user']} questions",
                f"{entry['answers_per_s']:.2f}",
                Stats(**entry["latency"]).fmt_ms(p95=True),
                once,
                f"{entry['cold']['start_to_ready_s']:.1f} s / {entry['cold']['first_answer_s']:.1f} s",
                f"{entry['peak_rss_bytes'] / 2**20:.0f} MiB" if entry.get("peak_rss_bytes") else "",
            ]
        )
    text = markdown_table(
        [
            "run",
            "answers/s",
            "latency median (min–max, p95)",
            "answered exactly once",
            "start→ready / first answer",
            "bot peak RSS",
        ],
        rows,
    )
    cold = result["bot"]["cold"]
    if "start_to_first_api_call_s" in cold:
        text += (
            f"\n\nBot start-up (`steppe bot`): first Bot API call after {cold['start_to_first_api_call_s']:.1f} s "
            f"(imports, `Library.open`), `post_init` done after {cold['start_to_post_init_done_s']:.1f} s, "
            f"polling (ready) after {cold['start_to_ready_s']:.1f} s; the first answer then takes "
            f"{cold['first_answer_s']:.1f} s (the model loads on the first question)."
        )
    for name in ("bot", "bot_microbatch"):
        entry = result[name]
        if "bot_cpu_ms_per_answer" in entry:
            text += (
                f"\n\n{'Micro-batched bot' if name == 'bot_microbatch' else 'Bot'}: "
                f"{entry['bot_cpu_ms_per_answer']:.1f} ms of CPU per answer in the bot process "
                f"(the fake Bot API: {entry['api_cpu_ms_per_answer']:.1f} ms)."
            )
    best = max(result["bot"]["answers_per_s"], result["bot_microbatch"]["answers_per_s"])
    if not result.get("quick"):
        verdict = "✓" if best >= TARGET_ANSWERS_PER_S else "below target"
        text += (
            f"\n\nTarget: at least {TARGET_ANSWERS_PER_S:.1f} answers/s with {USERS} users, twice the "
            f"{BEFORE_SENTENCES_ANSWERS_PER_S} before sentence vectors were stored: {best:.1f} {verdict}."
        )
    text += (
        f"\n\nThe bot delivers {result['bot_vs_library_threads']:.2f}× the answers/s of the library alone "
        f"with the same thread count; micro-batching merged "
        f"{lib['microbatch_requests_per_batch']:.1f} encode calls per model call on average."
    )
    return text
