"""The worker process: runs one candidate (or one baseline) for the driver.

Started by ``runner.pool`` as ``python -m cudarwin.runner.worker FD`` with a
scrubbed environment, a private temp dir as cwd and HOME, and no file
descriptors but its stdio (redirected to a capped log file) and its result
channel FD. It imports torch, initializes CUDA and captures the clock
functions *before* any candidate code is imported, then says ``ready`` and
waits: that is the warm part of the pool.

The worker never sees expected outputs. It receives recipes (seeds drawn by
the driver after construction), builds inputs, runs the candidate under the
guards of ``cudarwin.verifier.guards`` and sends back raw outputs and
measurements; the driver recomputes and judges everything.

Requests (``runner.protocol``): ``LoadRequest`` (import the candidate or
prepare a baseline), ``RunRequest`` (one checked call), ``TimeRequest`` (the
timing loop with hidden checks), ``ExitRequest``. Each reply is the matching
observation of ``verifier.observations`` and echoes the request's nonce.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from cudarwin.types import Policy, Reason
from cudarwin.verifier.observations import (
    CheckedCall, Fault, GuardFindings, LoadObservation, RunObservation, TimeObservation,
)


def _capture_primitives(device: str):
    import torch

    from cudarwin.runner.timing import Primitives

    if device == "cuda":
        event_cls = torch.cuda.Event
        elapsed = torch.cuda.Event.elapsed_time
        wait = torch.cuda.Event.synchronize
        return Primitives(
            perf_counter=time.perf_counter,
            synchronize=torch.cuda.synchronize,
            event_factory=lambda: event_cls(enable_timing=True),
            elapsed=lambda s, e: elapsed(s, e),
            wait_event=lambda e: wait(e),
        )
    return Primitives(perf_counter=time.perf_counter)


class Harness:
    """State of one worker: the task, the loaded candidate and its models."""

    def __init__(self, conn: Connection, device: str):
        import torch

        self.torch = torch
        self.conn = conn
        self.device_name = device
        self.device = torch.device("cuda" if device == "cuda" else "cpu")
        if device == "cuda":
            torch.cuda.init()
            torch.empty(1, device="cuda").add_(1)
            torch.cuda.synchronize()
        # everything the harness calls later is bound here, before untrusted code
        from cudarwin.runner import ipc, protocol
        from cudarwin.runner import timing as timing_mod
        from cudarwin.tasks import inputs as task_inputs
        from cudarwin.verifier import guards, inputs

        self.timing = timing_mod
        self.ipc = ipc
        self.protocol = protocol
        self.shared: list = []  # outputs exported through CUDA IPC, alive until the next request
        self.task_inputs = task_inputs
        self.guards = guards
        self.vinputs = inputs
        self.prims = _capture_primitives(device)
        self.launch_counts, self.reset_launch_counts = self._runtime_counters()
        self.set_l2_limit = self._l2_limit_fn()
        with guards.ComputeOpCounter():  # first use swaps some torch functions for wrapped ones
            torch.ones(2).add(1)
        self.snapshot = guards.Snapshot.take(extra=self._watched(ipc))
        self.census0 = guards.thread_census()
        self.task = None
        self.task_mod = None
        self.kind = protocol.Kind.CANDIDATE
        self.policy = Policy.STRICT
        self.models: dict[int, Any] = {}
        self.first_call_done = False
        self.flush_buf = None

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _watched(ipc) -> tuple:
        """The harness's own functions the guards watch besides torch's: the launch counters a
        candidate could reset, and how outputs leave this process (a patched export could lie)."""
        watched = []
        try:
            import cudarwin.runtime as rt

            names = ("launch_counts", "reset_launch_counts", "load_cuda")
            watched.append(("cudarwin.runtime", rt, tuple(n for n in names if hasattr(rt, n))))
        except Exception:  # runtime needs cupy; CPU-only installs have none
            pass
        watched.append(("cudarwin.runner.ipc", ipc, ("export", "export_outputs", "address_range")))
        return tuple(watched)

    def _runtime_counters(self):
        """Launch counters: the runtime's (load_cuda) plus calls into load_inline extensions."""
        if self.device_name != "cuda":
            return (lambda: {}), (lambda: None)
        inline_counts: dict[str, int] = {}
        _count_load_inline_calls(inline_counts)
        try:
            from cudarwin.runtime import launch_counts, reset_launch_counts
        except Exception:  # no cupy: only load_inline candidates can run
            launch_counts, reset_launch_counts = (lambda: {}), (lambda: None)

        def counts() -> dict[str, int]:
            return {**launch_counts(), **{f"inline:{k}": v for k, v in inline_counts.items()}}

        def reset() -> None:
            reset_launch_counts()
            inline_counts.clear()

        return counts, reset

    def _l2_limit_fn(self):
        """Setting the persisting-L2 limit to 0 evicts access-policy windows (#23)."""
        if self.device_name != "cuda":
            return lambda: None
        try:
            import cupy.cuda.runtime as cr

            limit_persisting_l2 = 0x06  # cudaLimitPersistingL2CacheSize
            return lambda: cr.deviceSetLimit(limit_persisting_l2, 0)
        except Exception:
            return lambda: None

    # ------------------------------------------------------------------ ops
    def serve(self) -> None:
        protocol = self.protocol
        gpu = self.torch.cuda.get_device_name() if self.device_name == "cuda" else ""
        protocol.send_ready(self.conn, protocol.Ready(os.getpid(), gpu))
        handlers = {"load": self.op_load, "run": self.op_run, "time": self.op_time}
        while True:
            data = protocol.recv_bytes(self.conn)
            self.shared = []  # the driver copied the last reply's outputs before sending this
            try:
                op, nonce, request = protocol.read_request(data)
            except protocol.ProtocolError as err:  # not a request the driver writes: say so, go on
                op, nonce = protocol.request_header(data)
                reply_type = protocol.REPLIES.get(op, LoadObservation)
                protocol.send_reply(self.conn, str(op), str(nonce), reply_type(fault=Fault(Reason.RUNTIME_ERROR, str(err))))
                continue
            if op == "exit":
                return
            obs = self._guarded(handlers[op], request, protocol.REPLIES[op])
            protocol.send_reply(self.conn, op, nonce, obs)
            if obs.fault is not None and obs.fault.fatal:
                return

    def _guarded(self, handler, request, reply_type):
        try:
            return handler(request)
        except SystemExit as err:
            return reply_type(fault=Fault(Reason.EXITED, f"the candidate called exit({err.code!r})", fatal=True))
        except BaseException as err:  # noqa: BLE001 -- any failure becomes a verdict
            return reply_type(fault=self._classify(err))

    def _classify(self, err: BaseException) -> Fault:
        text = f"{type(err).__name__}: {err}"
        tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)[-6:])
        low = text.lower()
        if isinstance(err, OSError) and err.errno == errno.EFBIG:
            return Fault(Reason.OUTPUT_FLOOD, "printed more than the output limit", fatal=True)
        if isinstance(err, self.torch.cuda.OutOfMemoryError) or "out of memory" in low or "can't allocate memory" in low:
            code, fatal = Reason.OUT_OF_MEMORY, True
        elif "cuda" in low and ("error" in low or "illegal" in low) or type(err).__name__.startswith("CUDA"):
            code, fatal = Reason.CUDA_ERROR, True
        else:
            code, fatal = Reason.RUNTIME_ERROR, False
        return Fault(code, text[:2000], tb[-4000:], fatal)

    def op_load(self, req) -> LoadObservation:
        from cudarwin.tasks import import_task, load_task

        Kind = self.protocol.Kind
        self.task = load_task(req.task_path)
        self.task_mod = import_task(self.task)
        # listed shapes first, then any hidden ones the driver drew (indices continue)
        self.shapes = list(self.task.shapes) + [dict(s) for s in req.hidden_shapes]
        self.kind = req.kind
        self.policy = req.policy
        self.models = {}  # a baseline worker serves one task after another
        if self.kind is not Kind.CANDIDATE:
            return LoadObservation()
        import importlib.util

        t0 = time.perf_counter()
        spec = importlib.util.spec_from_file_location("candidate", req.candidate_path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except SystemExit:
            raise
        except BaseException as err:  # noqa: BLE001
            if type(err).__name__ == "CudaCompileError":
                return LoadObservation(Fault(Reason.COMPILE_ERROR, str(err)[:20000]))
            fault = self._classify(err)
            if fault.code is Reason.RUNTIME_ERROR:
                fault = dataclasses.replace(fault, code=Reason.IMPORT_ERROR)
            return LoadObservation(fault)
        self.candidate = module
        if not isinstance(getattr(module, "ModelNew", None), type) or not issubclass(module.ModelNew, self.torch.nn.Module):
            return LoadObservation(Fault(Reason.NO_MODELNEW, "ModelNew is not an nn.Module subclass"))
        if issubclass(module.ModelNew, self.task_mod.Model):
            return LoadObservation(Fault(Reason.REFERENCE_REUSE, "ModelNew subclasses the reference Model"))
        # threads started while importing (a load_inline build, library pools) are the baseline;
        # a candidate cannot start its own at import time (threading is banned statically)
        self.census0 = self.guards.thread_census()
        return LoadObservation(import_s=time.perf_counter() - t0, tamper=tuple(self.snapshot.changes()))

    def _model(self, i: int):
        if i in self.models:
            return self.models[i]
        Kind = self.protocol.Kind
        shape = self.shapes[i]
        ref = self.task_inputs.make_model(self.task_mod, shape, device="cpu")
        if self.kind is Kind.CANDIDATE:
            init = self.task_inputs.make_init_inputs(self.task_mod, shape)
            self.task_inputs.seed_everything(self.task_inputs.INIT_SEED)
            try:
                model = self.candidate.ModelNew(*init)
            except SystemExit:
                raise
            except BaseException as err:  # noqa: BLE001
                raise _InitError(f"ModelNew(*get_init_inputs(**{dict(shape)})) raised {type(err).__name__}: {err}") from err
            _copy_matching_state(ref, model, self.torch)
            model = model.to(self.device)
        else:
            model = ref.to(self.device)
            if self.kind is Kind.COMPILE:
                model = self.torch.compile(model, dynamic=False)  # specialized per shape, as timed
        del ref
        self.models[i] = model
        return model

    def _inputs(self, recipe) -> list:
        shape = self.shapes[recipe.shape_index]
        inputs = self.task_inputs.make_inputs(self.task_mod, shape, seed=recipe.seed, device=self.device)
        inputs = self.vinputs.apply_variant(inputs, recipe.variant)
        return self.vinputs.roll_inputs(inputs, recipe.roll)

    def _poison(self, nbytes: int, value: float) -> None:
        """Fill memory the allocator will hand out next with a pattern (#1, #20, #22)."""
        if nbytes <= 0:
            return
        n = nbytes // 4 + 1
        t = self.torch.empty(n, dtype=self.torch.float32, device=self.device)
        t.fill_(value)
        del t

    def op_run(self, req) -> RunObservation:
        torch = self.torch
        try:
            model = self._model(req.recipe.shape_index)
        except _InitError as err:
            return RunObservation(Fault(Reason.INIT_ERROR, str(err)[:4000]))
        inputs = self._inputs(req.recipe)
        flat_in = self.vinputs.flat_tensors(inputs)
        sums = self.vinputs.checksum(flat_in)
        self._poison(req.poison_bytes, req.poison_value)
        self.reset_launch_counts()
        before = self.guards.thread_census()
        strict = self.kind is self.protocol.Kind.CANDIDATE and self.policy is Policy.STRICT
        counter = self.guards.ComputeOpCounter() if strict else None
        t0 = time.perf_counter()
        with torch.no_grad():
            if counter is not None:
                with counter:
                    out = model(*inputs)
            else:
                out = model(*inputs)
        self._sync()
        elapsed = time.perf_counter() - t0
        after = self.guards.thread_census()
        launches = tuple(self.launch_counts().items())
        issue = self.guards.check_output(out, inputs, self.device)
        guards = GuardFindings(
            tamper=tuple(self.snapshot.changes()),
            background=self._thread_problem(before, after),
            mutated=self.vinputs.checksum(flat_in) != sums,
            compute_ops=tuple(counter.compute_ops.items()) if counter is not None else (),
            launches=launches,
            issue=issue,
        )
        self.first_call_done = True
        outputs = self._outputs(out, req.ipc) if issue is None else None
        return RunObservation(guards=guards, outputs=outputs, elapsed_s=elapsed)

    def _outputs(self, out, ipc: bool):
        """Outputs for the driver: CUDA IPC descriptors if it asked for them, else host copies."""
        to_cpu = lambda o: _to_cpu(o, self.torch)  # noqa: E731
        if ipc and self.device_name == "cuda":
            return self.ipc.export_outputs(out, self.shared, to_cpu)
        return to_cpu(out)

    def _thread_problem(self, before, after) -> str | None:
        if self.kind is not self.protocol.Kind.CANDIDATE:
            return None
        if after.python_threads > self.census0.python_threads:
            return f"{after.python_threads - self.census0.python_threads} Python thread(s) left running"
        if after.children > before.children or after.children > self.census0.children:
            return f"{after.children} child process(es) running"
        if self.first_call_done and after.os_threads > before.os_threads:
            return f"{after.os_threads - before.os_threads} new OS thread(s) after the call"
        return None

    def _sync(self) -> None:
        if self.prims.synchronize is not None:
            self.prims.synchronize()

    def op_time(self, req) -> TimeObservation:
        torch = self.torch
        try:
            model = self._model(req.shape_index)
        except _InitError as err:
            return TimeObservation(Fault(Reason.INIT_ERROR, str(err)[:4000]))
        bases = [self._inputs(r) for r in req.recipes]
        sets = [_clone_inputs(b, torch) for b in bases]
        k = len(sets)
        cfg = req.timing
        if self.flush_buf is None:
            nbytes = cfg.flush_bytes if self.device_name == "cuda" else (32 << 20)
            self.flush_buf = torch.empty(nbytes // 4, dtype=torch.float32, device=self.device)
        flush = self.flush_buf
        checks = set(req.check_calls)
        checked: list[tuple[int, Any]] = []
        state = {"timed": 0, "last": None}

        def prepare(i: int) -> None:
            # the L2 limit reset is a host call that may wait for the device: do it first, so
            # the GPU work enqueued after it (roll, flush) covers the host's launch overhead
            self.set_l2_limit()
            s = i % k
            self.vinputs.roll_inputs_(sets[s], bases[s], i // k)
            flush.zero_()

        def call(i: int):
            with torch.no_grad():
                return model(*sets[i % k])

        def on_output(i: int, out) -> None:
            j = state["timed"]
            state["timed"] += 1
            if j in checks:
                checked.append((i, _clone_out(out, torch)))
            state["last"] = (i, out)

        before = self.guards.thread_census()
        run = self.timing.time_calls(call, prepare, self.prims, cfg, on_output)
        self._sync()
        after = self.guards.thread_census()
        if state["last"] is not None:
            checked.append(state["last"])
        calls = []
        for i, out in checked:
            issue = self.guards.check_output(out, sets[i % k], self.device)
            calls.append(CheckedCall(call=i, set=i % k, roll=i // k, issue=issue,
                                     outputs=self._outputs(out, req.ipc) if issue is None else None))
        return TimeObservation(
            event_ms=tuple(run.event_ms),
            tail_ms=tuple(run.tail_ms),
            warmup_calls=run.warmup_calls,
            checked=tuple(calls),
            guards=GuardFindings(tamper=tuple(self.snapshot.changes()), background=self._thread_problem(before, after)),
            method="cuda_events" if self.device_name == "cuda" else "wall_clock",
        )


class _InitError(Exception):
    pass


def _count_load_inline_calls(counts: dict[str, int]) -> None:
    """Wrap ``load_inline`` so calls into the extension's functions are counted."""
    import torch.utils.cpp_extension as cpp

    original = cpp.load_inline

    class _Counted:
        def __init__(self, ext):
            self._ext = ext

        def __getattr__(self, name):
            fn = getattr(self._ext, name)
            if not callable(fn):
                return fn

            def wrapped(*args, **kwargs):
                counts[name] = counts.get(name, 0) + 1
                return fn(*args, **kwargs)

            return wrapped

    def load_inline(*args, **kwargs):
        return _Counted(original(*args, **kwargs))

    cpp.load_inline = load_inline


def _copy_matching_state(ref, new, torch) -> None:
    """Give ModelNew the reference's parameters and buffers where names and shapes match."""
    ref_state = ref.state_dict()
    new_state = new.state_dict()
    with torch.no_grad():
        for name, value in ref_state.items():
            target = new_state.get(name)
            if isinstance(target, torch.Tensor) and target.shape == value.shape and target.dtype == value.dtype:
                target.copy_(value)


def _clone_inputs(inputs: list, torch) -> list:
    return [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]


def _clone_out(out, torch):
    if isinstance(out, (tuple, list)):
        return [_clone_out(o, torch) for o in out]
    return out.clone() if type(out) is torch.Tensor else out


def _to_cpu(out, torch):
    if isinstance(out, (tuple, list)):
        return [_to_cpu(o, torch) for o in out]
    if isinstance(out, torch.Tensor):
        return out.detach().cpu()
    if isinstance(out, (int, float, bool)) or out is None:
        return out
    return repr(out)[:200]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    fd = int(argv[0])
    device = os.environ.get("CUDARWIN_DEVICE", "cuda")
    conn = Connection(fd)
    harness = Harness(conn, device)
    harness.serve()
    return 0


if __name__ == "__main__":
    # os._exit: skip interpreter teardown, where a broken CUDA context can hang
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
