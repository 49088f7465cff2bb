"""Gunicorn's arbiter and its ``gthread`` workers, configured in code.

``issuer serve`` and ``verifier serve`` call :func:`run` with their app factory. The factory
runs in each worker *after* the fork (no preload), so no database engine, connection pool,
cache or thread crosses a fork: every worker has its own. The caller builds the app once
in the parent first to check the configuration and write first-start files (a development
session secret, a verifier's receipt key) before workers could race to create them, then
drops it.

SIGTERM and SIGINT stop gracefully: workers stop accepting, finish the requests in flight
(at most ``GRACEFUL_TIMEOUT`` seconds) and exit, then the arbiter exits 0. Gunicorn's control
socket (a Unix socket under ``$HOME``, shared by every server of one user) is disabled.

Needs a POSIX system (gunicorn forks): import this module only where a server starts.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

__all__ = ["bind_address", "run"]

#: Seconds a stopping worker may take to finish the requests in flight.
GRACEFUL_TIMEOUT = 30

WSGIApp = Callable[..., Any]


def bind_address(host: str, port: int) -> str:
    """``host:port`` as gunicorn binds it (an IPv6 literal in brackets)."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


class _Worker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    """The ``gthread`` worker, except that SIGINT stops it gracefully, as SIGTERM does (Ctrl-C
    in a terminal reaches every process of its group, workers included)."""

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_exit)
        signal.siginterrupt(signal.SIGINT, False)

    def run(self) -> None:
        super().run()
        # Stopped and done: the arbiter's SIGTERM, which follows a Ctrl-C, must not kill the
        # process while it exits (the interpreter restores the default action as it finishes).
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)


class _Arbiter(Arbiter):  # type: ignore[misc]
    """Gunicorn's arbiter, except that SIGINT is a graceful stop, as SIGTERM is."""

    def handle_int(self) -> None:
        self.handle_term()


class _Application(BaseApplication):  # type: ignore[misc]
    """A gunicorn application configured in code (no config file, no ``GUNICORN_CMD_ARGS``)
    whose workers each build their app with ``factory``."""

    def __init__(self, factory: Callable[[], WSGIApp], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        return self.factory()

    def run(self) -> None:
        try:
            _Arbiter(self).run()
        except RuntimeError as exc:
            print(f"cannot serve: {exc}", file=sys.stderr)
            sys.exit(1)


def run(
    factory: Callable[[], WSGIApp],
    *,
    name: str,
    host: str,
    port: int,
    workers: int,
    threads: int,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``factory()``'s app on ``host:port`` with ``workers`` processes of ``threads``
    threads each until SIGTERM or SIGINT, then exit the process (status 0).

    ``on_ready(url)`` is called in the arbiter once the socket is bound (``url`` names the
    port actually bound, which matters for port 0), before the workers start.
    """

    def when_ready(arbiter: Any) -> None:
        if on_ready is not None:
            bound = arbiter.LISTENERS[0].sock.getsockname()[1]
            on_ready(f"http://{bind_address(host, bound)}")

    options: dict[str, Any] = {
        "bind": [bind_address(host, port)],
        "workers": workers,
        "threads": threads,
        "worker_class": _Worker,
        "preload_app": False,
        "proc_name": name,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "control_socket_disable": True,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "when_ready": when_ready,
    }
    _Application(factory, options).run()
