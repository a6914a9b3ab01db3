"""steppe's retrieval library: load articles, chunk, embed, store, search and answer.

Nothing in this package knows about Telegram.
"""
