"""The bot's words for conversations, inline mode and feedback (merged into ``bot.strings.STRINGS``).

Kept apart from bot/strings.py so the catalogue of the core bot stays readable; the same rules
apply: Telegram HTML, keyword values escaped by ``t``.
"""

from __future__ import annotations

CHAT_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "reading_as": "<i>Reading this as:</i> {question}",
        "reading_more": "<i>Reading this as:</i> more about passage [{n}] of my last answer",
        "no_passage": "My last answer had no passage [{n}]; it had {total}. Ask again to see more.",
        "no_previous_answer": "That answer has expired, so I cannot open its passages. Please ask again.",
        "vote_up": "Thanks! Glad it helped.",
        "vote_down": "Thanks, noted: the people running this bot review answers marked 👎.",
        "vote_changed": "Vote changed. Thanks!",
        "vote_same": "You have already voted this way.",
        "cmd_feedback": "Admins: how users rated answers",
        "feedback_off": "Feedback is turned off (STEPPE_FEEDBACK_DAYS=0).",
        "feedback_report": "<b>Feedback</b>\n<pre>{report}</pre>",
        "inline_hint": "Type a question about Russia and Central Asia",
        "inline_not_found": "Nothing found in the corpus",
        "inline_not_found_text": "I found nothing in the corpus that answers: <i>{question}</i>",
        "inline_slow": "Too many questions: please wait {seconds} s",
        "inline_busy": "Busy right now: please try again in a moment",
        "inline_private": "This is a private bot",
    },
    "ru": {
        "reading_as": "<i>Понимаю вопрос так:</i> {question}",
        "reading_more": "<i>Понимаю вопрос так:</i> подробнее об отрывке [{n}] из моего последнего ответа",
        "no_passage": "В моём последнем ответе нет отрывка [{n}]; их было {total}. Спросите ещё раз, чтобы увидеть больше.",
        "no_previous_answer": "Этот ответ устарел, и открыть его отрывки я не могу. Спросите, пожалуйста, ещё раз.",
        "vote_up": "Спасибо! Рад, что помогло.",
        "vote_down": "Спасибо, учтено: те, кто ведёт бота, разбирают ответы с 👎.",
        "vote_changed": "Оценка изменена. Спасибо!",
        "vote_same": "Вы уже так проголосовали.",
        "cmd_feedback": "Для админов: как пользователи оценили ответы",
        "feedback_off": "Оценки отключены (STEPPE_FEEDBACK_DAYS=0).",
        "feedback_report": "<b>Оценки</b>\n<pre>{report}</pre>",
        "inline_hint": "Напишите вопрос о России и Центральной Азии",
        "inline_not_found": "В корпусе ничего не нашлось",
        "inline_not_found_text": "Я не нашёл в корпусе ничего, что отвечает на вопрос: <i>{question}</i>",
        "inline_slow": "Слишком много вопросов: подождите {seconds} с",
        "inline_busy": "Сейчас занят: попробуйте чуть позже",
        "inline_private": "Это частный бот",
    },
}
