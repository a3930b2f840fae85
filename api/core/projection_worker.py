"""`serve`'s projection worker: a process of its own that keeps the views, supervised by `serve`.

Keeping the views up to date (reading the log, folding pages, writing rows) is a steady load
that competed in the API process with requests for the one interpreter lock. `serve` therefore
starts this worker (a fresh interpreter: `multiprocessing`'s spawn, since the API process has
threads) and observes the views' positions from the database (projections/runner.py). The
supervisor restarts a worker that dies, with a growing pause when it dies young, reports it as
every view's error meanwhile (`/readyz`), and stops it with SIGTERM when `serve` stops. The
worker stops by itself when its parent is gone (even SIGKILLed), so no orphan keeps the views'
locks from the next `serve`.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from api.core.settings import Settings

# A worker that lived this long had started well: the pause before the next start resets.
MIN_UPTIME_SECONDS = 5.0
RESTART_PAUSE_SECONDS = 0.5
MAX_RESTART_PAUSE_SECONDS = 30.0
STOP_SECONDS = 20.0
HEALTH_SECONDS = 1.0
# Out of the request path, a view gathers a busy moment's commits a little longer into one page
# (each page costs each view a read, a transaction and a position check).
GATHER_SECONDS = 0.05


class ProjectionWorker:
    """Runs `run_worker(settings)` in a child process and keeps it running."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._started_at = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._problem: str | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Starts the worker and its supervision (returns at once)."""
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="projection-worker")
        self._thread.daemon = True
        self._thread.start()

    def problem(self) -> str | None:
        """Why the views are not being kept, or None while the worker runs."""
        with self._lock:
            process = self._process
            alive = process is not None and process.is_alive()
            if alive and self._uptime() >= MIN_UPTIME_SECONDS:
                self._problem = None
            return self._problem

    def stop(self) -> None:
        """SIGTERM to the worker; SIGKILL when it has not stopped within STOP_SECONDS."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            process = self._process
        if process is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
        process.close()

    # --- supervision ------------------------------------------------------------------------
    def _spawn(self) -> None:
        process = self._context.Process(
            target=run_worker, args=(self.settings,), name="psvs-ledger projections", daemon=True
        )
        process.start()
        with self._lock:
            self._process, self._started_at = process, time.monotonic()

    def _uptime(self) -> float:
        return time.monotonic() - self._started_at

    def _supervise(self) -> None:
        pause = RESTART_PAUSE_SECONDS
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            wait([process.sentinel], timeout=0.5)
            if process.is_alive() or self._stopping.is_set():
                continue
            young = self._uptime() < MIN_UPTIME_SECONDS
            with self._lock:
                self._problem = f"the projection worker exited with status {process.exitcode}"
            process.close()
            pause = min(pause * 2, MAX_RESTART_PAUSE_SECONDS) if young else RESTART_PAUSE_SECONDS
            if self._stopping.wait(pause):
                return
            self.restarts += 1
            self._spawn()


# --- the worker process ------------------------------------------------------------------------
def run_worker(settings: Settings) -> None:
    """The worker's body: every view's runner here, until SIGTERM, SIGINT or its parent's end.
    A view that fails ends the worker with status 1 (its supervisor starts another)."""
    from api.core import logs
    from api.core.keys import generated_key_warnings
    from api.core.runtime import open_runtime

    stop = threading.Event()

    def on_signal(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = multiprocessing.parent_process()
    if parent is not None:  # its sentinel is ready once the parent is gone, however it ended
        sentinel = parent.sentinel

        def watch_parent() -> None:
            wait([sentinel])
            stop.set()

        threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    logs.configure(settings.log_level)
    # `serve` has said already that a key was generated: the worker reads the same files.
    with generated_key_warnings(loud=False):
        runtime = open_runtime(settings, projections="here")
    for runner in runtime.runners:
        runner.gather_seconds = GATHER_SECONDS
    failed = False
    try:
        runtime.start_projections()
        logs.log.info("projection_worker_started", views=[r.name for r in runtime.runners])
        while not stop.wait(HEALTH_SECONDS):
            errors = [h for h in runtime.health() if h["error"]]
            if errors:
                logs.log.error("projection_worker_view_failed", views=errors)
                failed = True
                break
    finally:
        runtime.close()
    if failed:
        raise SystemExit(1)
