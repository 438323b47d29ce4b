"""What the static checks allow and forbid, each with the fix a rejection names.

Tables only; ``verifier/static.py`` applies them. Every forbidden thing says
why it is a cheat (or a way around the harness) and what to write instead,
because the message goes back to an LLM as its repair instruction.
"""

from __future__ import annotations

import functools

from cudarwin.types import Reason

# Top-level modules a candidate may import. Sub-modules are matched by prefix
# (``torch.nn.functional`` is allowed because ``torch`` is). ``os`` is allowed
# for its environment and path-string helpers only (see OS_*).
ALLOWED_IMPORTS = frozenset({
    "torch", "numpy", "cupy", "cudarwin.runtime", "os",
    # the standard library's plain helpers: no files, processes, threads or introspection
    "__future__", "math", "cmath", "numbers", "typing", "typing_extensions", "functools", "itertools",
    "operator", "dataclasses", "collections", "enum", "abc", "contextlib", "copy", "warnings",
    "string", "textwrap", "re", "hashlib", "struct", "statistics", "fractions", "decimal",
    "bisect", "heapq",
})

# Private names inside allowed packages that honest code uses: pure helpers.
ALLOWED_PRIVATE = frozenset({
    "torch.nn.init._calculate_fan_in_and_fan_out",  # how nn.Linear / nn.Conv initialise their bias
    "torch.nn.init._calculate_correct_fan",
    "torch.nn.modules.utils._single", "torch.nn.modules.utils._pair", "torch.nn.modules.utils._triple",
    "torch.nn.modules.utils._quadruple", "torch.nn.modules.utils._ntuple",
    "torch.nn.modules.utils._reverse_repeat_tuple",
})

# Private attributes of torch objects that are read-only facts, safe to read:
# ``tensor._version`` counts in-place writes (autograd's own correctness check),
# the usual key for caching a derived weight until the weight changes. Output
# caches keyed on it are judged by the dynamic checks like any other cache.
READABLE_PRIVATE = frozenset({"_version"})

_BACKGROUND = ("background threads and processes can finish work after the timer stops; "
               "do all the work inside forward, on the current stream")
_FILES = ("file access persists state between runs and reaches other processes' files; keep data in "
          "memory (load_inline takes its sources as strings and builds in a private directory)")
_INTROSPECTION = "introspection can find the harness's objects and expected outputs; refer to your own objects directly"
_NATIVE = "native calls can patch the timer or read the harness's memory; put native code in load_inline or load_cuda"
_INTERPRETER = "it reaches the interpreter's module table and the harness; remove it"
_RNG = ("seeding or drawing from a random generator is how a candidate predicts the test inputs; "
        "remove it (initialise parameters with nn.init, unseeded: the harness seeds them)")
_TIMER = "the harness does the timing; remove it (to choose launch parameters, compute them from the shapes)"

# Modules that are not allowed, by the trick they enable. Unlisted ones are FORBIDDEN_API.
IMPORT_RULES: dict[str, tuple[Reason, str]] = {
    **{m: (Reason.BACKGROUND_WORK, _BACKGROUND) for m in (
        "threading", "_thread", "multiprocessing", "concurrent", "subprocess", "asyncio", "signal", "sched")},
    "time": (Reason.TAMPERING, _TIMER),
    "timeit": (Reason.TAMPERING, _TIMER),
    "ctypes": (Reason.TAMPERING, _NATIVE),
    "cffi": (Reason.TAMPERING, _NATIVE),
    "triton": (Reason.TAMPERING, "Triton kernels are not evaluated (its autotuner times itself); write CUDA "
                                 "with load_cuda or load_inline"),
    "sys": (Reason.TAMPERING, _INTERPRETER),
    "builtins": (Reason.TAMPERING, _INTERPRETER),
    "importlib": (Reason.TAMPERING, _INTERPRETER),
    "gc": (Reason.FORBIDDEN_API, _INTROSPECTION),
    "inspect": (Reason.FORBIDDEN_API, _INTROSPECTION),
    "traceback": (Reason.FORBIDDEN_API, _INTROSPECTION),
    "types": (Reason.FORBIDDEN_API, "it builds functions and code objects at run time; define functions with def"),
    **{m: (Reason.FORBIDDEN_API, _FILES) for m in (
        "pathlib", "shutil", "tempfile", "io", "mmap", "pickle", "glob", "fnmatch", "sqlite3", "shelve")},
    "socket": (Reason.FORBIDDEN_API, "network access can reach the harness's result channel; remove it"),
    "random": (Reason.FORBIDDEN_API, _RNG),
    "secrets": (Reason.FORBIDDEN_API, _RNG),
}

# Modules inside allowed packages that still escape the harness (imported or
# reached as attributes).
BANNED_SUBMODULES: dict[str, tuple[Reason, str]] = {
    "torch.multiprocessing": (Reason.BACKGROUND_WORK, _BACKGROUND),
    "torch.distributed": (Reason.BACKGROUND_WORK, _BACKGROUND),
    "torch.utils.data": (Reason.BACKGROUND_WORK, "DataLoader workers are background processes; "
                                                "index the input tensors directly"),
    "torch.profiler": (Reason.TAMPERING, "profilers hook the timer; remove it"),
    "torch.autograd.profiler": (Reason.TAMPERING, "profilers hook the timer; remove it"),
    "torch.overrides": (Reason.TAMPERING, "it intercepts torch calls, including the harness's; remove it"),
    "torch.library": (Reason.TAMPERING, "it re-registers torch operators for the whole process, the harness "
                                        "included; call your kernel directly"),
    "torch.cuda.memory": (Reason.FORBIDDEN_API, "allocator introspection can find the harness's buffers; remove it"),
    "numpy.ctypeslib": (Reason.TAMPERING, _NATIVE),
    "cupy.cuda.runtime": (Reason.TAMPERING, _NATIVE),
    "cupy.cuda.driver": (Reason.TAMPERING, _NATIVE),
    "torch.utils.cpp_extension.load": (Reason.FORBIDDEN_API, "cpp_extension.load builds from files; pass the "
                                                             "sources as strings to load_inline (or use load_cuda)"),
}

# Functions of allowed modules that are forbidden (prefix match on the dotted path).
CALL_RULES: dict[str, tuple[Reason, str]] = {
    "contextlib.suppress": (Reason.FALLBACK, "suppressing an exception lets a failing kernel fall back "
                                             "silently; let it fail"),
    "string.Formatter": (Reason.FORBIDDEN_API, "Formatter.get_field looks attributes up by name; build "
                                               "strings with f-strings"),
    "typing.get_type_hints": (Reason.FORBIDDEN_API, "it evaluates annotation strings as code; remove it"),
    "typing.ForwardRef": (Reason.FORBIDDEN_API, "it evaluates strings as code; remove it"),
    "typing_extensions.get_type_hints": (Reason.FORBIDDEN_API, "it evaluates annotation strings as code; remove it"),
    "torch.ops.load_library": (Reason.TAMPERING, "it loads a native library past the checks; use load_inline"),
    "torch.classes.load_library": (Reason.TAMPERING, "it loads a native library past the checks; use load_inline"),
    "torch.set_default_device": (Reason.TAMPERING, "it changes global torch state; pass device= explicitly"),
    "torch.set_default_tensor_type": (Reason.TAMPERING, "it changes global torch state; pass dtype= explicitly"),
    "torch._dynamo": (Reason.TAMPERING, "dynamo's configuration is global torch state; leave it as it is"),
    "torch._inductor": (Reason.TAMPERING, "inductor's configuration is global torch state; leave it as it is"),
    **{f: (Reason.FORBIDDEN_API, _FILES) for f in (
        "torch.save", "torch.load", "torch.from_file", "torch.hub", "torch.jit.load", "torch.jit.save",
        "torch.package", "torch.UntypedStorage.from_file", "torch.TypedStorage.from_file",
        "numpy.load", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.loadtxt",
        "numpy.savetxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.memmap", "numpy.lib.format",
        "numpy.lib.npyio", "cupy.load", "cupy.save", "cupy.fromfile")},
    **{s: r for s, r in BANNED_SUBMODULES.items()},
}

# Attribute names that are the trick whatever object carries them.
RNG_ATTRS = frozenset({"manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed",
                       "get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all"})
GLOBAL_STATE_ATTRS = frozenset({"set_flush_denormal", "use_deterministic_algorithms",
                                "set_float32_matmul_precision", "set_default_dtype"})
TIMER_ATTRS = frozenset({"elapsed_time", "synchronize", "record", "perf_counter", "Event"})
STREAM_ATTRS = frozenset({"Stream", "stream", "ExternalStream", "set_stream", "StreamContext"})
FILE_ATTRS = frozenset({"tofile"})  # ndarray.tofile

# Builtins that reach around the harness, with the fix. getattr/setattr/delattr
# with a constant public name are ordinary attribute access and pass.
BUILTIN_RULES: dict[str, tuple[Reason, str]] = {
    "eval": (Reason.FORBIDDEN_API, "it runs code built at run time, which no check can see; write the code out"),
    "exec": (Reason.FORBIDDEN_API, "it runs code built at run time, which no check can see; write the code out"),
    "compile": (Reason.FORBIDDEN_API, "it builds code at run time, which no check can see; write the code out "
                                      "(torch.compile is fine)"),
    "__import__": (Reason.TAMPERING, "it imports by name past the import checks; use an import statement"),
    "open": (Reason.FORBIDDEN_API, _FILES),
    "globals": (Reason.FORBIDDEN_API, _INTROSPECTION),
    "locals": (Reason.FORBIDDEN_API, _INTROSPECTION),
    "vars": (Reason.FORBIDDEN_API, _INTROSPECTION),
    "getattr": (Reason.FORBIDDEN_API, "a computed or private attribute name can reach anything; write "
                                      "`obj.name` (getattr with a constant public name is fine)"),
    "setattr": (Reason.TAMPERING, "setting attributes by name on objects other than self patches modules or "
                                  "classes; write `self.name = value`"),
    "delattr": (Reason.TAMPERING, "deleting attributes on objects other than self patches modules or classes; "
                                  "remove it"),
    "breakpoint": (Reason.FORBIDDEN_API, "it stops the worker for a debugger; remove it"),
    "input": (Reason.FORBIDDEN_API, "it reads the terminal; remove it: a kernel takes its data from forward's "
                                    "arguments (a parameter named `input` is fine)"),
    "exit": (Reason.EXITED, "it ends the worker; raise an exception instead"),
    "quit": (Reason.EXITED, "it ends the worker; raise an exception instead"),
}

# Dunder names that are ordinary Python (operators, protocols, metadata), not a
# way into the interpreter; every other dunder (__dict__, __class__,
# __globals__, __subclasses__, __builtins__, __torch_function__...) is forbidden.
HARMLESS_DUNDERS = frozenset({
    "__init__", "__name__", "__qualname__", "__doc__", "__file__", "__future__", "__version__", "__all__",
    "__post_init__", "__call__", "__enter__", "__exit__", "__len__", "__iter__", "__next__", "__getitem__",
    "__contains__", "__repr__", "__str__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__hash__", "__bool__", "__neg__", "__pos__", "__abs__", "__invert__",
    *(f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow",
                                "and", "or", "xor", "lshift", "rshift") for p in ("", "r", "i")),
})

# Names of the reference, which a candidate must not use.
REFERENCE_NAMES = frozenset({"Model", "get_inputs", "get_init_inputs"})

# -- os: its environment and path-string helpers; nothing that touches files or processes.
# Environment variables a candidate may set: they configure load_inline's build
# (or CUDA's module loading) and nothing else. Others (LD_PRELOAD, PATH, CXX,
# TORCH_EXTENSIONS_DIR, PYTORCH_*, CUDARWIN_*) reach the harness or its compiler.
OS_ENV_WRITABLE = frozenset({"TORCH_CUDA_ARCH_LIST", "MAX_JOBS", "CUDA_MODULE_LOADING"})
OS_ALLOWED = frozenset({
    "os.environ", "os.environ.get", "os.environ.keys", "os.environ.values", "os.environ.items",
    "os.environ.copy", "os.getenv", "os.getpid", "os.cpu_count", "os.sep", "os.pathsep", "os.linesep",
    "os.name", "os.curdir", "os.path", "os.path.join", "os.path.dirname", "os.path.basename", "os.path.split",
    "os.path.splitext", "os.path.normpath", "os.path.abspath", "os.path.isabs", "os.path.relpath",
    "os.path.sep",
})
OS_ENV_SETTERS = frozenset({"os.environ.setdefault"})  # first argument checked against OS_ENV_WRITABLE
OS_PROCESS = frozenset({"system", "popen", "fork", "forkpty", "spawnl", "spawnv", "spawnve", "spawnlp",
                        "spawnvp", "posix_spawn", "posix_spawnp", "execv", "execve", "execl", "execvp",
                        "startfile", "kill", "killpg", "_exit", "abort"})
OS_HINT = ("only os.environ (reads; writes of " + ", ".join(sorted(OS_ENV_WRITABLE)) + "), os.getenv, "
           "os.getpid, os.cpu_count and os.path's string helpers (join, dirname, basename, splitext...) are allowed")


@functools.cache
def torch_private_names() -> tuple[frozenset[str], frozenset[str]]:
    """(nn.Module's own internals, every private name of torch's common objects).

    A candidate's ``self._x`` must not be one of nn.Module's internals (its
    parameter and hook tables, ``_call_impl``...: how the harness loads weights
    and calls the model); ``obj._x`` on any other object must not be a private
    name torch's objects carry (``tensor._version``, ``stream._cdata``...).
    Read from torch itself so that a new torch version's internals count too.
    """
    import torch
    import torch.nn as nn

    def private(obj) -> set[str]:
        return {n for n in dir(obj) if n.startswith("_") and not n.endswith("__")}

    module = private(nn.Module) | {n for n in vars(nn.Module()) if n.startswith("_")}
    module.discard("_version")  # state-dict metadata: a candidate's own `_version` counter is harmless
    everything = set(module) | {"_version"}
    for obj in (torch.Tensor, nn.Parameter, torch.autograd.Function, torch.autograd.function.FunctionCtx,
                torch.cuda.Stream, torch.cuda.Event, torch.Generator, torch.UntypedStorage, torch.Size,
                torch.device, torch.dtype, torch.nn.functional, torch):
        everything |= private(obj)
    return frozenset(module), frozenset(everything)
