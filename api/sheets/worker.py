"""Device sheets are read in worker processes, never in the server's own.

A hostile sheet may only cost what a worker is allowed: each worker is a Python process
(`worker_main`) that, before it reads any task, limits its own address space
(RLIMIT_AS), core dumps (none) and, before each task, its CPU time (RLIMIT_CPU: the kernel ends
it with SIGXCPU past CPU_SECONDS more seconds); the server kills it past DEADLINE_SECONDS of wall
clock. A few workers are kept and reused (a fresh interpreter costs about 60 ms); one that dies
or is killed is replaced on the next task. The worker runs `api.sheets.files.read_rows` (which
counts every limit while streaming) and answers with JSON (never pickle: the answer comes from
a process that read hostile bytes).

Callers block, so they run in a thread (FastAPI's threadpool), never on the event loop. The
result is cached by the content's SHA-256, so the 422 path of POST /v1/systems does not read a
sheet the request path already read (`cached_rows`).

The protocol: a task is one byte of kind ("P" parse, or the test probes "C" spin and "M"
allocate) and a 4-byte big-endian length, then that many bytes; an answer is a 4-byte length
and JSON: {"rows": ...} or {"refused": reason}, with the task's "cpu" seconds and the worker's
peak "rss_kb" so far.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from api.sheets.files import NOT_A_SHEET, Row, SheetInvalid, not_a_sheet, read_rows, whole_file

CPU_SECONDS = 2  # per task; RLIMIT_CPU counts whole seconds, so between 1 and 2 s of budget
MEMORY_BYTES = 256 * 1024 * 1024  # the worker's whole address space, interpreter included
DEADLINE_SECONDS = 5.0  # wall clock per task, waiting for a free worker included
WORKERS = 2
TASKS_PER_WORKER = 200  # then the worker is replaced (its peak memory does not linger)
CACHE_ENTRIES = 32
CACHE_CELLS = 400_000  # the cells the cache may hold in all

_HEADER = struct.Struct(">cI")
_LENGTH = struct.Struct(">I")


@dataclass
class Measure:
    """What the last task cost its worker: CPU seconds, the worker's peak RSS in KB (its whole
    life; a worker of one task gives the task's own) and the wall-clock seconds."""

    cpu: float = 0.0
    rss_kb: int = 0
    wall: float = 0.0
    killed: str = ""


# --- the worker process --------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, clock):
        return {"time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"timedelta": value.total_seconds()}
    raise TypeError(type(value).__name__)


def _decode(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        ((kind, text),) = value.items()
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "time":
            return clock.fromisoformat(text)
        if kind == "timedelta":
            return timedelta(seconds=text)
    raise ValueError("not a cell value")


def _cpu_used() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not count the
    server's memory, which the kernel carries over through fork and exec)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _read_exactly(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return bytes(data)


def _task(kind: bytes, payload: bytes) -> dict[str, Any]:
    if kind == b"P":
        try:
            return {"rows": read_rows(payload, filename="", media_type=None)}
        except SheetInvalid as invalid:
            return {"refused": invalid.errors[0].reason}
    if kind == b"C":  # a probe of the CPU limit: spins for ever
        while True:
            pass
    if kind == b"M":  # a probe of the memory limit: holds the number of MB the payload says
        held = [bytearray(1024 * 1024) for _ in range(int(payload))]
        return {"refused": f"held {len(held)} MB"}
    return {"refused": "unknown task"}


def worker_main() -> None:  # pragma: no cover - runs in the worker process
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            kind, size = _HEADER.unpack(_read_exactly(source, _HEADER.size))
            payload = _read_exactly(source, size)
        except EOFError:
            return
        before = _cpu_used()
        # The kernel ends this process CPU_SECONDS (whole) seconds of CPU from now.
        limit = int(before) + CPU_SECONDS
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
        try:
            body = json.dumps(_task(kind, payload), ensure_ascii=False, default=_encode).encode()
        except MemoryError:
            body = json.dumps({"memory": True}).encode()
        measured = {"cpu": _cpu_used() - before, "rss_kb": _peak_rss_kb()}
        body = body[:-1] + b"," + json.dumps(measured).encode()[1:]
        sink.write(_LENGTH.pack(len(body)) + body)
        sink.flush()


# --- the server side -----------------------------------------------------------------------


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from api.sheets.worker import worker_main; worker_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.tasks = 0

    def ask(self, kind: bytes, payload: bytes, deadline: float) -> dict[str, Any]:
        """The worker's answer; raises _Died (the worker is gone) after killing it if needed."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.tasks += 1
        try:
            self.process.stdin.write(_HEADER.pack(kind, len(payload)) + payload)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Died(self.end("died")) from None
        out = self.process.stdout.fileno()
        data = b""
        wanted = _LENGTH.size
        length: int | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Died(self.end("deadline"))
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                continue
            chunk = os.read(out, max(wanted - len(data), 1 << 16))
            if not chunk:
                raise _Died(self.end("died"))
            data += chunk
            if length is None and len(data) >= _LENGTH.size:
                (length,) = _LENGTH.unpack(data[: _LENGTH.size])
                data = data[_LENGTH.size :]
                wanted = length
            if length is not None and len(data) >= length:
                answer: dict[str, Any] = json.loads(data[:length], object_hook=_decode_hook)
                return answer

    def end(self, why: str) -> Measure:
        """Kills the worker (if it lives) and reaps it: what it cost, and why it ended."""
        pid = self.process.pid
        usage = None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _pid, status, usage = os.wait4(pid, 0)
            self.process.returncode = os.waitstatus_to_exitcode(status)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        code = self.process.returncode
        if why == "died" and code == -signal.SIGXCPU:
            why = "cpu"
        if usage is None:
            return Measure(killed=why)
        return Measure(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, killed=why)

    def close(self) -> None:
        if self.process.returncode is None:
            self.end("closed")


def _decode_hook(value: dict[str, Any]) -> Any:
    if len(value) == 1 and next(iter(value)) in ("datetime", "date", "time", "timedelta"):
        return _decode(value)
    return value


class _Died(Exception):
    def __init__(self, measure: Measure) -> None:
        super().__init__(measure.killed)
        self.measure = measure


@dataclass
class SheetWorkers:
    """A few reusable worker processes. Thread-safe; `read_rows` blocks its thread."""

    size: int = WORKERS
    tasks_per_worker: int = TASKS_PER_WORKER
    deadline_seconds: float = DEADLINE_SECONDS
    last: Measure = field(default_factory=Measure)
    _idle: queue.LifoQueue[_Worker | None] = field(default_factory=queue.LifoQueue)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for _ in range(self.size):
            self._idle.put(None)  # a slot; its worker starts on first use

    def read_rows(self, content: bytes) -> list[Row]:
        """`api.sheets.files.read_rows` in a worker; a worker killed for its CPU time, memory
        or the deadline is a SheetInvalid saying which."""
        answer = self.ask(b"P", content)
        if "refused" in answer:
            raise whole_file(str(answer["refused"]))
        return [(int(number), list(cells)) for number, cells in answer["rows"]]

    def ask(self, kind: bytes, payload: bytes) -> dict[str, Any]:
        started = time.monotonic()
        deadline = started + self.deadline_seconds
        try:
            worker = self._idle.get(timeout=self.deadline_seconds)
        except queue.Empty:
            raise whole_file("the sheet reader is busy: try again in a minute") from None
        try:
            if worker is None:
                worker = _Worker()
            try:
                answer = worker.ask(kind, payload, deadline)
            except _Died as died:
                worker = None
                self.last = died.measure
                self.last.wall = time.monotonic() - started
                raise _refusal(died.measure.killed) from None
            self.last = Measure(
                cpu=float(answer.pop("cpu", 0.0)),
                rss_kb=int(answer.pop("rss_kb", 0)),
                wall=time.monotonic() - started,
            )
            if answer.pop("memory", False):
                worker.close()  # a worker that ran out of memory is not trusted again
                worker = None
                self.last.killed = "memory"
                raise _refusal("memory")
            if worker.tasks >= self.tasks_per_worker:
                worker.close()
                worker = None
            return answer
        finally:
            self._idle.put(worker)

    def warm(self) -> None:
        """Starts the workers not started yet (a fresh worker takes a few tenths of a second)."""
        taken: list[_Worker | None] = []
        while True:
            try:
                taken.append(self._idle.get_nowait())
            except queue.Empty:
                break
        try:
            for index, worker in enumerate(taken):
                if worker is None:
                    taken[index] = _Worker()
        finally:
            for worker in taken:
                self._idle.put(worker)

    def close(self) -> None:
        """Ends every idle worker (used by tests and at shutdown)."""
        kept: list[_Worker | None] = []
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker is not None:
                worker.close()
            kept.append(None)
        for slot in kept:
            self._idle.put(slot)


def _refusal(why: str) -> SheetInvalid:
    if why == "cpu":
        return whole_file(
            f"reading the sheet took more than {CPU_SECONDS} s of CPU; not a device sheet"
        )
    if why == "deadline":
        return whole_file(
            f"reading the sheet took more than {DEADLINE_SECONDS:g} s; not a device sheet"
        )
    if why == "memory":
        return whole_file(
            f"reading the sheet needed more than {MEMORY_BYTES // (1024 * 1024)} MB;"
            " not a device sheet"
        )
    return whole_file("not a readable sheet (its reader stopped)")


_workers: SheetWorkers | None = None
_workers_lock = threading.Lock()


def warm_in_background() -> None:
    """Starts the process's workers in a thread, so that the first sheet does not wait."""
    threading.Thread(target=workers().warm, name="sheet-workers", daemon=True).start()


def workers() -> SheetWorkers:
    """The process's workers (started on first use)."""
    global _workers
    with _workers_lock:
        if _workers is None:
            _workers = SheetWorkers()
        return _workers


# --- the cache -----------------------------------------------------------------------------

_Cached = list[Row] | SheetInvalid
_cache: OrderedDict[str, tuple[_Cached, int]] = OrderedDict()
_cache_lock = threading.Lock()


def content_key(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def cached_rows(key: str) -> _Cached | None:
    """The rows (or the refusal) of the content whose SHA-256 is `key`, if read before."""
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            return None
        _cache.move_to_end(key)
        return found[0]


def _remember(key: str, result: _Cached) -> None:
    weight = 1 if isinstance(result, SheetInvalid) else 1 + sum(len(c) for _n, c in result)
    with _cache_lock:
        _cache[key] = (result, weight)
        _cache.move_to_end(key)
        total = sum(w for _r, w in _cache.values())
        while _cache and (len(_cache) > CACHE_ENTRIES or total > CACHE_CELLS):
            _key, (_result, dropped) = _cache.popitem(last=False)
            total -= dropped


def read_rows_isolated(content: bytes, *, filename: str, media_type: str | None) -> list[Row]:
    """The sheet's rows, read in a worker (or from the cache); SheetInvalid when refused (the
    name and claimed media type only improve the message for a file of neither kind)."""
    key = content_key(content)
    found = cached_rows(key)
    if found is None:
        try:
            found = workers().read_rows(content)
        except SheetInvalid as invalid:
            found = invalid
        if not (isinstance(found, SheetInvalid) and _transient(found)):
            _remember(key, found)
    if isinstance(found, SheetInvalid):
        if found.errors[0].reason.startswith(NOT_A_SHEET):
            raise not_a_sheet(filename=filename, media_type=media_type)
        raise SheetInvalid(found.errors)
    return found


def _transient(invalid: SheetInvalid) -> bool:
    """A refusal that may not repeat (a busy reader, or a worker that died for no limit)."""
    reason = invalid.errors[0].reason
    return reason.startswith(("the sheet reader is busy", "not a readable sheet (its reader"))
