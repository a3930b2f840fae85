"""`psvs-ledger serve --workers N`: N API processes sharing one listening socket.

The parent binds the socket once (with TCP_NODELAY, which accepted connections inherit on
Linux: uvicorn's own `--workers` loses it and every keep-alive request then waits ~40 ms),
forks the workers, restarts one that dies, and on SIGTERM or SIGINT stops them all. Each worker
opens its own runtime and observes the views, which one projection worker process keeps
(api/core/projection_worker.py), started and supervised by the parent too. With no database
configured, the parent starts the embedded PostgreSQL once and hands its URL to the workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from typing import Any

from api.core.settings import Settings

# A worker that dies this soon after it started is not restarted (something is wrong).
MIN_UPTIME_SECONDS = 5.0
STOP_SECONDS = 20.0


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(settings: Settings, sock: socket.socket) -> None:
    import uvicorn

    from api.app import create_app
    from api.core.logs import uvicorn_log_config

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    config = uvicorn.Config(
        create_app(settings, projections="elsewhere"),  # the parent's projection worker keeps them
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level),  # JSON lines too
        access_log=False,
        timeout_graceful_shutdown=5,  # feed followers keep connections open; do not wait forever
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(
    settings: Settings, *, host: str, port: int, workers: int, projections: bool
) -> int:
    """Runs `workers` API processes on host:port until SIGTERM or SIGINT; returns 0."""
    from api.core.embedded import stop_embedded_postgres
    from api.core.preflight import listen_error
    from api.core.projection_worker import ProjectionWorker
    from api.core.runtime import database_url, embedded_dir

    try:  # before the database starts: a busy port is one line (api/core/preflight.py)
        sock = listening_socket(host, port)
    except OSError as error:
        raise listen_error(host, port, "port", error) from None
    embedded = embedded_dir(settings)
    settings = settings.model_copy(update={"database_url": database_url(settings)})
    context = multiprocessing.get_context("fork")
    stopping = False

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_worker, args=(settings, sock))
        process.start()
        return process, time.monotonic()

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    running = [start() for _ in range(workers)]
    # After the forks: the projection worker's supervising thread lives in this process only.
    views = ProjectionWorker(settings) if projections else None
    if views is not None:
        views.start()
    try:
        while not stopping:
            time.sleep(0.2)
            for index, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                if time.monotonic() - started < MIN_UPTIME_SECONDS:
                    raise SystemExit(f"worker {process.pid} exited at start ({process.exitcode})")
                running[index] = start()
    finally:
        if views is not None:
            views.stop()
        for process, _ in running:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process, _ in running:
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                process.kill()
        sock.close()
        if embedded is not None:
            stop_embedded_postgres(embedded)
    return 0
