"""How it is measured: one process timed from spawn to exit (or to its first output line)
with its peak RSS and CPU time, the exact-count checks, and the rounds on a live broker."""
