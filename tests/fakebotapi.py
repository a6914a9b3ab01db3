"""A small but real HTTP fake of the Telegram Bot API, for end-to-end tests of the bot.

It serves ``POST /bot<token>/<method>`` on 127.0.0.1 from a thread (http.server), accepting
form-encoded bodies (nested objects as JSON strings, as python-telegram-bot sends them) or
JSON. ``getUpdates`` long-polls and honours ``offset``; sends and edits return realistic
Message objects with increasing ``message_id`` and are checked the way Telegram checks them
(HTML entities, 4,096 characters after parsing, 64-byte callback data). Every call is
recorded. Faults can be injected per method: 429 with retry_after, 500/502, slow answers and
dropped connections. Like a self-hosted telegram-bot-api server in local mode, once
``setWebhook`` is called it POSTs every new update to the webhook, http:// or https://, on any
port, with the secret token header (``deliveries`` records the answers).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Tags Telegram accepts that steppe uses (Telegram knows a few more; we never send them).
ALLOWED_TAGS = {"b", "i", "a", "code", "pre", "blockquote"}
TEXT_LIMIT = 4096
CALLBACK_TEXT_LIMIT = 200
_TOKEN = re.compile(
    r"""<(?P<close>/)?(?P<tag>[a-z]+)(?P<attrs>(?:\s+[a-z]+="[^"<>]*")*)\s*>"""
    r"""|&(?:lt|gt|amp|quot|\#[0-9]+|\#x[0-9a-fA-F]+);"""
    r"""|[^<&]+"""
)
# Parameters that are strings as sent; everything else is JSON-decoded when it parses.
_STRING_PARAMS = {
    "text",
    "url",
    "secret_token",
    "callback_query_id",
    "query_id",
    "inline_query_id",
    "description",
    "short_description",
}


class TelegramHTMLError(ValueError):
    """Text that Telegram's HTML parser would reject (or that steppe must never send)."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise TelegramHTMLError(f"unsupported start tag {tag!r}")
        if tag == "a":
            if len(attrs) != 1 or attrs[0][0] != "href" or not attrs[0][1]:
                raise TelegramHTMLError("<a> needs exactly one href")
            scheme = urlsplit(attrs[0][1]).scheme
            if scheme not in ("http", "https"):
                raise TelegramHTMLError(f"unsupported URL scheme {scheme!r}")
        elif attrs:
            raise TelegramHTMLError(f"<{tag}> takes no attributes")
        if tag in self.stack and tag in ("a", "blockquote", "pre", "code"):
            raise TelegramHTMLError(f"<{tag}> cannot be nested in itself")
        self.stack.append(tag)
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise TelegramHTMLError(f"unexpected end tag {tag!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramHTMLError(f"self-closing tag {tag!r}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        raise TelegramHTMLError("comment")

    def handle_decl(self, decl: str) -> None:
        raise TelegramHTMLError("declaration")

    def handle_pi(self, data: str) -> None:
        raise TelegramHTMLError("processing instruction")

    def unknown_decl(self, data: str) -> None:
        raise TelegramHTMLError("unknown declaration")


def parse_telegram_html(text: str) -> tuple[str, list[str]]:
    """The visible text and the tags (in order) of Telegram HTML.

    Raises TelegramHTMLError for a bare ``<`` or ``&``, an unknown entity, an unsupported or
    unbalanced tag, or a link that is not http(s).
    """
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise TelegramHTMLError(f"bad markup at {pos}: {text[pos : pos + 20]!r}")
        pos = match.end()
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise TelegramHTMLError(f"unclosed tags {checker.stack}")
    return "".join(checker.text), checker.tags


@dataclass
class Call:
    """One request the fake answered."""

    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)  # when it was answered (a long poll: when it returned)
    received: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Fault:
    """An injected failure for the next ``times`` calls of a method."""

    kind: str  # "429", "500", "502", "slow", "drop"
    times: int
    retry_after: int = 1
    delay: float = 0.5


class FakeBotAPI:
    """The fake server. Use as a context manager or call ``start``/``stop``."""

    BOT_ID = 7000001
    USERNAME = "steppe_test_bot"

    def __init__(self, token: str) -> None:
        self.token = token
        self.bot_user = {
            "id": self.BOT_ID,
            "is_bot": True,
            "first_name": "Steppe",
            "username": self.USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self.last_update_id = 0
        self._next_message = 1000
        self._next_query = 1
        self._closing = False
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.log: list[Call] = []
        self.faults: dict[str, deque[Fault]] = {}
        self.confirmed_offset = 0
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters (delivered to 127.0.0.1 only)
        self.deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status) of webhook POSTs
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-bot-api", daemon=True
        )

    # lifecycle

    @property
    def base_url(self) -> str:
        """The Bot API base URL to give the bot (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotAPI:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release long polls and shut the server down."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # faults

    def inject(self, method: str, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next ``times`` calls of ``method`` fail: "429", "500", "502", "slow" or "drop"."""
        with self._cond:
            self.faults.setdefault(method, deque()).append(Fault(kind, times, **options))

    def _take_fault(self, method: str) -> Fault | None:
        with self._cond:
            queue = self.faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return fault

    # what tests feed in

    def private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        """The private chat with ``user``."""
        return self._chat({"id": user["id"], "type": "private", "first_name": user["first_name"]})

    def group_chat(self, chat_id: int, title: str = "Steppe fans") -> dict[str, Any]:
        """A supergroup (ids starting -100) or a basic group."""
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return self._chat({"id": chat_id, "type": kind, "title": title})

    def _chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        self.chats[chat["id"]] = chat
        return chat

    def message(
        self, chat: dict[str, Any], user: dict[str, Any], text: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A user's message (stored, not yet delivered), with command and mention entities."""
        with self._cond:
            self._next_message += 1
            message_id = self._next_message
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": user}
        if text is not None:
            message["text"] = text
            entities = _entities(text)
            if entities:
                message["entities"] = entities
        message.update(extra)
        with self._cond:
            self.messages[(chat["id"], message_id)] = message
        return message

    def push(self, key: str, payload: dict[str, Any]) -> int:
        """Queue an update ``{key: payload}`` for getUpdates; returns its update_id."""
        with self._cond:
            update_id = self._next_update
            self._next_update += 1
            self.last_update_id = update_id
            update = {"update_id": update_id, key: payload}
            webhook = self.webhook
            if webhook is None:
                self._updates.append(update)
            self._cond.notify_all()
        if webhook is not None and urlsplit(webhook["url"]).hostname in ("127.0.0.1", "localhost"):
            threading.Thread(target=self._deliver, args=(webhook, update), daemon=True).start()
        return update_id

    def _deliver(self, webhook: dict[str, Any], update: dict[str, Any]) -> None:
        """POST one update to the webhook, as a self-hosted Bot API server does."""
        import httpx  # only webhook tests need it

        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook["secret_token"]} if webhook.get("secret_token") else {}
        try:
            with httpx.Client(trust_env=False, timeout=10) as client:
                status = client.post(webhook["url"], json=update, headers=headers).status_code
        except httpx.HTTPError:
            status = 0
        with self._cond:
            self.deliveries.append((update["update_id"], status))
            self._cond.notify_all()

    def send(self, chat: dict[str, Any], user: dict[str, Any], text: str | None = None, **extra: Any) -> dict[str, Any]:
        """Deliver a new message from ``user`` in ``chat``; returns the message."""
        message = self.message(chat, user, text, **extra)
        self.push("message", message)
        return message

    def inline(self, user: dict[str, Any], query: str) -> str:
        """Deliver an inline query (``@bot query`` typed in some chat); returns the query id."""
        with self._cond:
            query_id = f"i{self._next_query}"
            self._next_query += 1
        self.push("inline_query", {"id": query_id, "from": user, "query": query, "offset": "", "chat_type": "sender"})
        return query_id

    def edit(self, message: dict[str, Any], text: str) -> None:
        """Deliver an edit of an earlier message."""
        edited = {**message, "text": text, "edit_date": int(time.time()), "entities": _entities(text)}
        self.push("edited_message", edited)

    def press(self, message: dict[str, Any], user: dict[str, Any], data: str) -> str:
        """Deliver a callback query for a button on ``message``; returns the query id."""
        with self._cond:
            query_id = f"q{self._next_query}"
            self._next_query += 1
        self.push(
            "callback_query",
            {"id": query_id, "from": user, "chat_instance": "ci-1", "data": data, "message": message},
        )
        return query_id

    # what tests check

    def calls(self, method: str | None = None, **match: Any) -> list[Call]:
        """Successful calls, optionally of one method and with matching parameters."""
        with self._cond:
            calls = list(self.log)
        return [
            c
            for c in calls
            if c.status == 200
            and (method is None or c.method == method)
            and all(c.params.get(k) == v for k, v in match.items())
        ]

    def all_calls(self, method: str) -> list[Call]:
        """Every call of ``method``, failed ones included."""
        with self._cond:
            return [c for c in self.log if c.method == method]

    def replies_to(self, message: dict[str, Any]) -> list[Call]:
        """sendMessage calls replying to ``message``."""
        return [
            c
            for c in self.calls("sendMessage", chat_id=message["chat"]["id"])
            if (c.params.get("reply_parameters") or {}).get("message_id") == message["message_id"]
        ]

    def bot_replies(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's messages (as they are now, after edits) replying to ``message``."""
        with self._cond:
            return [
                m
                for m in self.messages.values()
                if m["from"]["id"] == self.BOT_ID
                and (m.get("reply_to_message") or {}).get("message_id") == message["message_id"]
                and m["chat"]["id"] == message["chat"]["id"]
            ]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every call); returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:  # an RLock: the predicate may take it again
            while not (value := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
                self._cond.wait(min(remaining, 0.05))
            return value

    def wait_for_reply(self, message: dict[str, Any], count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait for ``count`` replies to ``message``; returns them."""
        return self.wait_for(lambda: (r := self.replies_to(message)) and len(r) >= count and r, timeout)

    def wait_until_delivered(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until the bot has fetched and confirmed ``update_id`` (asked for a later offset)."""
        self.wait_for(lambda: self.confirmed_offset > update_id, timeout)

    # the API itself

    def handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """Answer one request: (HTTP status, JSON body), body None to drop the connection."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        received = time.monotonic()
        fault = self._take_fault(method)
        if fault is not None:
            failed = self._fault_response(method, params, fault)
            if failed is not None or fault.kind == "drop":
                return failed if failed is not None else (0, None)
        status, body = self._dispatch(method, params)
        with self._cond:
            self.log.append(Call(method, params, status, received=received))
            self._cond.notify_all()
        return status, body

    def _fault_response(self, method: str, params: dict[str, Any], fault: Fault) -> tuple[int, dict[str, Any]] | None:
        record = Call(method, params, int(fault.kind) if fault.kind.isdigit() else 0)
        with self._cond:
            self.log.append(record)
            self._cond.notify_all()
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return None
        if fault.kind == "drop":
            return None
        if fault.kind == "429":
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
        code = int(fault.kind)
        phrase = {500: "Internal Server Error", 502: "Bad Gateway"}.get(code, "Error")
        return code, {"ok": False, "error_code": code, "description": phrase}

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        simple = {"setMyCommands", "deleteMyCommands", "leaveChat",
                  "sendChatAction", "close", "logOut"}  # fmt: skip
        try:
            if method == "getMe":
                result: Any = self.bot_user
            elif method == "getUpdates":
                result = self._get_updates(params)
            elif method == "getWebhookInfo":
                url = (self.webhook or {}).get("url", "")
                result = {"url": url, "has_custom_certificate": False, "pending_update_count": 0}
            elif method == "setWebhook":
                with self._cond:
                    self.webhook = dict(params)
                result = True
            elif method == "deleteWebhook":
                with self._cond:
                    self.webhook = None
                result = True
            elif method == "sendMessage":
                result = self._send_message(params)
            elif method == "editMessageText":
                result = self._edit_message_text(params)
            elif method == "answerInlineQuery":
                result = self._answer_inline_query(params)
            elif method == "answerCallbackQuery":
                if utf16_len(str(params.get("text") or "")) > CALLBACK_TEXT_LIMIT:
                    raise BadRequest("MESSAGE_TOO_LONG")
                result = True
            elif method in simple:
                result = True
            else:
                return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        except BadRequest as exc:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            if offset:
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._cond.notify_all()
            while not self._updates and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._updates[:limit])

    def _check_text(self, params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str):
            raise BadRequest("message text is empty")
        if params.get("parse_mode") == "HTML":
            try:
                text, _ = parse_telegram_html(text)
            except TelegramHTMLError as exc:
                raise BadRequest(f"can't parse entities: {exc}") from exc
        if not text.strip():
            raise BadRequest("message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise BadRequest("message is too long")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if not button.get("text") or len(button.get("callback_data", "").encode()) > 64:
                    raise BadRequest("BUTTON_DATA_INVALID")
        return text

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        """Check results as Telegram does: at most 50, unique ids of 1-64 bytes, valid message texts."""
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise BadRequest("RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise BadRequest("RESULT_ID_INVALID")
        for result in results:
            content = result.get("input_message_content") or {}
            if result.get("type") != "article" or not result.get("title"):
                raise BadRequest("RESULT_TYPE_INVALID")
            self._check_text({"text": content.get("message_text"), "parse_mode": content.get("parse_mode")})
        button = params.get("button")
        if button is not None and (not button.get("text") or not button.get("start_parameter")):
            raise BadRequest("BUTTON_INVALID")
        return True

    def _chat_of(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise BadRequest("chat not found")
        return self.chats.get(chat_id) or {"id": chat_id, "type": "private" if chat_id > 0 else "group"}

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        text = self._check_text(params)
        reply = params.get("reply_parameters") or {}
        with self._cond:
            replied = self.messages.get((chat["id"], reply.get("message_id", -1)))
        if reply and replied is None and not reply.get("allow_sending_without_reply"):
            raise BadRequest("message to be replied not found")
        with self._cond:
            self._next_message += 1
            message_id = self._next_message
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": text,
        }
        if replied is not None:
            message["reply_to_message"] = replied
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        with self._cond:
            self.messages[(chat["id"], message_id)] = message
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        with self._cond:
            message = self.messages.get((chat["id"], params.get("message_id", -1)))
        if message is None:
            raise BadRequest("message to edit not found")
        text = self._check_text(params)
        markup = params.get("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise BadRequest("message is not modified")
        message = {**message, "text": text, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        with self._cond:
            self.messages[(chat["id"], message["message_id"])] = message
        return message


class BadRequest(Exception):
    """A 400 answer; the message is Telegram's description."""


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities the way Telegram marks them (UTF-16 offsets)."""
    entities = []
    for match in re.finditer(r"(?:^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?)|(?:@[A-Za-z0-9_]{5,32})", text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        offset = utf16_len(text[: match.start()])
        entities.append({"type": kind, "offset": offset, "length": utf16_len(match.group())})
    return entities


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}")
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8", "surrogatepass"), keep_blank_values=True):
        if key in _STRING_PARAMS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _handler_for(api: FakeBotAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real Bot API: clients reuse their connections

        def do_POST(self) -> None:
            match = re.fullmatch(r"/bot([^/]+)/(\w+)", urlsplit(self.path).path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if match is None:
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            params = _decode(body, self.headers.get("Content-Type", ""))
            status, payload = api.handle(match[1], match[2], params)
            if payload is None:  # a dropped connection: close without answering
                self.close_connection = True
                return
            self._reply(status, payload)

        do_GET = do_POST

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancelled long poll)
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
