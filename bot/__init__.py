"""steppe's Telegram bot: python-telegram-bot handlers over the answer layer in index/.

render.py is the one renderer for every front end (terminal, JSON, Telegram HTML).
"""
