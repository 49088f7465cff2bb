"""Serving a WSGI app on every core: the settings both services share (this module imports
nothing but the standard library) and, in :mod:`serving.server`, gunicorn's arbiter with
``gthread`` workers, which ``issuer serve`` and ``verifier serve`` run.
"""

from __future__ import annotations

import os

__all__ = ["DEFAULT_THREADS", "MAX_THREADS", "MAX_WORKERS", "default_workers"]

#: Bounds of the worker processes and threads per worker (options and environment).
MAX_WORKERS = 256
MAX_THREADS = 64
#: Threads per worker when nothing says otherwise.
DEFAULT_THREADS = 8


def default_workers() -> int:
    """One worker per core this process may run on (its CPU affinity: a container's cpuset)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))
