"""A pool of pre-started worker processes, one slot per GPU.

Starting Python with torch and a CUDA context takes seconds, so each slot
keeps one worker started ahead of time; ``acquire`` hands it out already
warm, and ``release`` kills it and starts the slot's next worker at once, in
the background. A worker is never reused after a candidate.

Each worker gets: a private temp dir (cwd, HOME, TMPDIR, kernel cache), a
scrubbed environment, ``CUDA_VISIBLE_DEVICES`` pinned to its slot's GPU,
stdio redirected into a log file (more than ``LOG_LIMIT_BYTES`` of it is a
flood; ``RLIMIT_FSIZE`` stops any file from filling the disk), a new session
(so the whole process group can be killed), and no inherited descriptors but
its end of a socket pair.
"""

from __future__ import annotations

import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from cudarwin.runner import protocol
from cudarwin.types import CudarwinError, Reason
from cudarwin.verifier.observations import Observation

LOG_LIMIT_BYTES = 8 << 20  # more output than this is a flood
# No file written by the worker or the tools it runs (a load_inline build writes objects of
# tens of MB) may exceed this; a runaway print hits it and fails with EFBIG.
FILE_LIMIT_BYTES = 1 << 30
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH", "PYTHONPATH",
             "NCCL_NVLS_ENABLE", "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS")


class WorkerFailure(Exception):
    """A worker that stopped answering: timed out, crashed, exited or flooded."""

    def __init__(self, code: Reason, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Pending:
    """A request sent to a worker whose reply has not been read yet."""

    op: str
    nonce: str


@dataclass
class Worker:
    """One started worker process and its channel."""

    proc: subprocess.Popen
    conn: Connection
    tmpdir: Path
    log_path: Path
    slot: int
    gpu: int | None
    started: float
    ready: bool = False
    info: protocol.Ready | None = None  # what the worker said when it started

    def request(self, request: protocol.Request, timeout: float) -> Observation:
        """Send a request and wait for what the worker observed; process failures raise WorkerFailure."""
        return self.reply(self.send(request), timeout)

    def send(self, request: protocol.Request) -> "Pending":
        """Send a request without waiting: the driver can work while the worker runs."""
        try:
            nonce = protocol.send_request(self.conn, request)
        except OSError:
            raise self._failure("the worker closed its channel") from None
        return Pending(protocol.op_of(request), nonce)

    def reply(self, pending: "Pending", timeout: float) -> Observation:
        """Wait for the reply to a sent request, decoded and checked against it.

        A reply that does not answer the request (wrong nonce, malformed) comes
        back as a ``FORGED_RESULT`` fault, and the worker, no longer trusted to
        say anything, is killed.
        """
        data = self._receive(timeout, what=pending.op)
        if self._log_size() > LOG_LIMIT_BYTES:
            self.kill()
            raise WorkerFailure(Reason.OUTPUT_FLOOD, f"printed more than {LOG_LIMIT_BYTES >> 20} MiB")
        obs = protocol.read_reply(data, pending.op, pending.nonce)
        if obs.fault is not None and obs.fault.code is Reason.FORGED_RESULT:
            self.kill()
        return obs

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        data = self._receive(timeout, what="start-up")
        try:
            self.info = protocol.read_ready(data)
        except protocol.ProtocolError as err:
            self.kill()
            raise WorkerFailure(Reason.FORGED_RESULT, str(err)) from None
        self.ready = True

    def _receive(self, timeout: float, what: str) -> bytes:
        try:
            if not self.conn.poll(timeout):
                self.kill()
                raise WorkerFailure(Reason.TIMEOUT, f"{what} ran past its {timeout:.0f} s deadline; the worker was killed")
            return protocol.recv_bytes(self.conn)
        except (EOFError, ConnectionError, OSError):
            raise self._failure(f"the worker died during {what}") from None
        except protocol.ProtocolError as err:
            self.kill()
            raise WorkerFailure(Reason.FORGED_RESULT, str(err)) from None

    def _failure(self, context: str) -> WorkerFailure:
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.returncode
        tail = self.log_tail()
        detail = f"{context}; " + (f"log: {tail}" if tail else "no output")
        if self._log_size() >= LOG_LIMIT_BYTES:
            return WorkerFailure(Reason.OUTPUT_FLOOD, f"printed more than {LOG_LIMIT_BYTES >> 20} MiB; the worker was stopped")
        if rc is not None and rc < 0:
            sig = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
            if -rc == signal.SIGXFSZ:
                return WorkerFailure(Reason.OUTPUT_FLOOD, f"printed more than {LOG_LIMIT_BYTES >> 20} MiB")
            return WorkerFailure(Reason.CRASH, f"worker killed by {sig}: {detail}")
        return WorkerFailure(Reason.EXITED, f"worker exited with code {rc}: {detail}")

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_tail(self, n: int = 1500) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(max(0, self.log_path.stat().st_size - n))
                return fh.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.conn.close()
        except OSError:
            pass

    def dispose(self) -> None:
        """Kill the worker and remove its private directory."""
        if self.proc.poll() is None and self.ready:
            try:
                protocol.send_request(self.conn, protocol.ExitRequest())
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def _limit_output() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT_BYTES, FILE_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def start_worker(device: str, gpu: int | None, slot: int = 0, extra_env: dict[str, str] | None = None) -> Worker:
    """Start one worker process (not yet ready: see ``Worker.wait_ready``)."""
    tmpdir = Path(tempfile.mkdtemp(prefix="cudarwin-worker-"))
    parent_sock, child_sock = socket.socketpair()
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update({
        "HOME": str(tmpdir), "TMPDIR": str(tmpdir), "CUDARWIN_DEVICE": device,
        "CUDARWIN_CACHE_DIR": str(tmpdir / "kernels"), "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1",
    })
    env["CUDA_VISIBLE_DEVICES"] = "" if gpu is None else str(gpu)
    env.update(extra_env or {})
    log_path = tmpdir / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cudarwin.runner.worker", str(child_sock.fileno())],
            cwd=tmpdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=(child_sock.fileno(),), close_fds=True, start_new_session=True,
            preexec_fn=_limit_output,
        )
    child_sock.close()
    conn = Connection(parent_sock.detach())
    return Worker(proc, conn, tmpdir, log_path, slot, gpu, time.monotonic())


class WorkerPool:
    """One slot per GPU (or one CPU slot); each slot keeps ``spares`` warm workers.

    With more than one spare, a worker's start-up (seconds) overlaps the
    evaluation of the candidates before it, so throughput is bounded by the
    evaluations rather than by Python and CUDA start-up.
    """

    def __init__(self, device: str, gpus: list[int] | None = None, start_timeout: float = 180.0, spares: int = 2,
                 extra_env: dict[str, str] | None = None):
        self.device = device
        self.gpus: list[int | None] = list(gpus) if (device == "cuda" and gpus) else [None]
        if device == "cuda" and not gpus:
            self.gpus = [0]
        self.start_timeout = start_timeout
        self.spares = max(1, spares)
        self.extra_env = dict(extra_env or {})
        self._free: queue.Queue[int] = queue.Queue()
        self._next: dict[int, list[Worker]] = {}
        self._lock = threading.Lock()
        self._closed = False
        for slot, gpu in enumerate(self.gpus):
            self._next[slot] = [self._start(slot, gpu) for _ in range(self.spares)]
            self._free.put(slot)

    @property
    def size(self) -> int:
        return len(self.gpus)

    def acquire(self) -> Worker:
        """A warm worker from a free slot (blocks while every slot is busy)."""
        slot = self._free.get()
        with self._lock:
            spares = self._next.setdefault(slot, [])
            worker = spares.pop(0) if spares else self._start(slot, self.gpus[slot])
        try:
            worker.wait_ready(self.start_timeout)
        except WorkerFailure as err:
            log = worker.log_tail()
            worker.dispose()
            self._refill(slot)
            raise CudarwinError(f"a worker process failed to start: {err.message}\n{log}",
                                hint="check that torch (and cupy for CUDA) import in this Python") from None
        return worker

    def release(self, worker: Worker) -> None:
        """Dispose of a used worker and pre-start its slot's next one."""
        worker.dispose()
        self._refill(worker.slot)

    def _start(self, slot: int, gpu: int | None) -> Worker:
        return start_worker(self.device, gpu, slot, extra_env=self.extra_env)

    def _refill(self, slot: int) -> None:
        with self._lock:
            spares = self._next.setdefault(slot, [])
            while not self._closed and len(spares) < self.spares:
                spares.append(self._start(slot, self.gpus[slot]))
        self._free.put(slot)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = [w for spares in self._next.values() for w in spares]
            self._next.clear()
        for w in workers:
            w.dispose()
