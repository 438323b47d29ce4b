"""The static checks flag cheats, not style: for every relaxed rule, the honest
pattern passes and the cheating variant of the same rule is still caught, with
a message that says what to change."""

from __future__ import annotations

import textwrap

import pytest

from cudarwin.types import Policy, Reason
from cudarwin.verifier.static import check_source

HEADER = "import torch\nimport torch.nn as nn\n"


def _candidate(body: str, top: str = "") -> str:
    """A candidate with ``top`` at module level and ``body`` inside ModelNew."""
    return HEADER + textwrap.dedent(top) + "\n\nclass ModelNew(nn.Module):\n" + textwrap.indent(
        textwrap.dedent(body), "    ")


def _codes(source: str, policy: Policy = Policy.TORCH_OK) -> set[Reason]:
    return {r.code for r in check_source(source, policy=policy).reasons}


def _messages(source: str) -> str:
    return "\n".join(r.message for r in check_source(source, policy=Policy.TORCH_OK).reasons)


FORWARD = """
def forward(self, x):
    return x
"""

# (id, honest source, cheating source, reason code the cheat must get)
PAIRS = [
    ("input-parameter",
     _candidate("def forward(self, input):\n    return torch.relu(input)\n"),
     _candidate("def forward(self, x):\n    input()\n    return x\n"),
     Reason.FORBIDDEN_API),
    ("input-local-and-module-assignment",
     _candidate("def forward(self, x):\n    input = x.clamp(min=0)\n    return input\n", top="open = len\n"),
     _candidate("def forward(self, x):\n    return x\n", top="data = open('/dev/shm/cache').read()\n"),
     Reason.FORBIDDEN_API),
    ("builtin-shadowed-only-after-its-binding",
     _candidate(FORWARD, top="def compile(src):\n    return src\n\nsrc = compile('x')\n"),
     _candidate(FORWARD, top="code = compile('1', 'f', 'eval')\ndef compile(src):\n    return src\n"),
     Reason.FORBIDDEN_API),
    ("conditional-shadowing-is-not-shadowing",
     _candidate("def forward(self, input):\n    return input\n", top="import math\nopen = math.floor\n"),
     _candidate(FORWARD, top="if False:\n    open = len\nf = open('/etc/hostname')\n"),
     Reason.FORBIDDEN_API),
    ("own-private-methods-and-attributes",
     _candidate("""
         def __init__(self):
             super().__init__()
             self._initialized = False
             self._static_input = None
             self.register_buffer("_h0", torch.zeros(1))

         def _forward_impl(self, x):
             return torch.relu(x) + self._h0

         def forward(self, x):
             self._initialized = True
             return self._forward_impl(x)
     """),
     _candidate("def forward(self, x):\n    return torch._C._nn.linear(x, x)\n"),
     Reason.FORBIDDEN_API),
    ("own-class-attributes",
     _candidate("""
         _cuda_module = None

         @classmethod
         def _load(cls):
             cls._cuda_module = object()
             return cls._cuda_module

         def forward(self, x):
             ModelNew._load()
             return x
     """, top="class _Kernels:\n    _cache = {}\n\n    @staticmethod\n    def _get():\n        return _Kernels._cache\n"),
     _candidate(FORWARD, top="x = torch.Tensor._make_subclass\n"),
     Reason.FORBIDDEN_API),
    ("module-dict-is-a-dunder",
     _candidate("def forward(self, x):\n    return x * len(self.state_dict())\n"),
     _candidate("def forward(self, x):\n    return x * len(self.__dict__)\n"),
     Reason.FORBIDDEN_API),
    ("nn-module-internals-are-not-own",
     _candidate("def forward(self, x):\n    return x * len(list(self.parameters()))\n"),
     _candidate("def forward(self, x):\n    self._forward_hooks.clear()\n    return x\n"),
     Reason.FORBIDDEN_API),
    ("a-private-name-defined-on-self-does-not-open-torch-objects",
     _candidate("def __init__(self):\n    super().__init__()\n    self._cache = None\n" + FORWARD),
     _candidate("def __init__(self):\n    super().__init__()\n    self._cdata = 0\n"
                "def forward(self, x):\n    return x + x._cdata\n"),
     Reason.FORBIDDEN_API),
    ("tensor-version-counter-is-readable",
     _candidate("def forward(self, x):\n    v = x._version\n    return x + v\n"),
     _candidate("def forward(self, x):\n    return x + x._base\n"),
     Reason.FORBIDDEN_API),
    ("nn-init-helpers",
     _candidate(textwrap.dedent("""
         def __init__(self, d):
             super().__init__()
             import math
             self.weight = nn.Parameter(torch.empty(d, d))
             self.bias = nn.Parameter(torch.empty(d))
             nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
             fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
             nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
     """) + FORWARD, top="from torch.nn.init import _calculate_fan_in_and_fan_out\n"
                       "from torch.nn.modules.utils import _pair\n"),
     _candidate(FORWARD, top="nn.init._no_grad_uniform_ = lambda *a: None\nfrom torch.nn import _reduction\n"),
     Reason.TAMPERING),
    ("stdlib-helpers",
     _candidate(FORWARD, top="""
         import math, functools, itertools, operator, collections, enum, numbers, string, abc, copy, warnings
         import contextlib, textwrap, re, hashlib
         from dataclasses import dataclass, field
         from typing import Optional, Tuple
         from collections import namedtuple
         """),
     _candidate(FORWARD, top="import gc\nimport inspect\n"),
     Reason.FORBIDDEN_API),
    ("functools-partial-on-self",
     _candidate("def __init__(self):\n    super().__init__()\n    import functools\n"
                "    self._exp = functools.partial(torch.exp)\n"
                "def forward(self, x):\n    return self._exp(x)\n"),
     _candidate(FORWARD, top="import functools\nfunctools.partial = None\n"),
     Reason.TAMPERING),
    ("attribute-assignment-on-own-objects",
     _candidate(textwrap.dedent("""
         def __init__(self, d):
             super().__init__()
             self.linear = nn.Linear(d, d)
             for p in self.parameters():
                 p.requires_grad = False
             self.linear.apply(self._init)

         def _init(self, module):
             module.weight.data = module.weight.data * 0.5
     """) + FORWARD),
     _candidate(FORWARD, top="Event = torch.cuda.Event\nEvent.elapsed_time = lambda self, end: 0.0\n"),
     Reason.TAMPERING),
    ("type-of-a-tensor-is-torch's-class",
     _candidate("def forward(self, x):\n    name = type(x).__name__\n    return x\n"),
     _candidate("def forward(self, x):\n    type(x).relu = lambda t: t\n    return x\n"),
     Reason.TAMPERING),
    ("global-torch-flags-stay-forbidden",
     _candidate("def forward(self, x):\n    use_tf32 = torch.backends.cuda.matmul.allow_tf32\n    return x\n"),
     _candidate(FORWARD, top="torch.backends.cudnn.allow_tf32 = True\n"),
     Reason.TAMPERING),
    ("getattr-with-a-constant-public-name",
     _candidate("def forward(self, x):\n    f = getattr(torch, 'relu')\n    b = getattr(self, 'bias', None)\n"
                "    return f(x)\n"),
     _candidate("def forward(self, x):\n    name = 'relu'\n    return getattr(torch, name)(x)\n"),
     Reason.FORBIDDEN_API),
    ("setattr-on-self",
     _candidate("def __init__(self, d):\n    super().__init__()\n    for i in range(2):\n"
                "        setattr(self, 'w0', nn.Parameter(torch.ones(d)))\n" + FORWARD),
     _candidate(FORWARD, top="setattr(torch.cuda.Event, 'elapsed_time', lambda s, e: 0.0)\n"),
     Reason.TAMPERING),
    ("os-environ-build-variables",
     _candidate(FORWARD, top="""
         import os
         os.environ["TORCH_CUDA_ARCH_LIST"] = "9.0"
         os.environ.setdefault("MAX_JOBS", "4")
         verbose = os.environ.get("TORCH_EXTENSIONS_VERBOSE", "0") == "1"
         name = f"ext_{os.getpid()}"
         here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "x")
         """),
     _candidate(FORWARD, top="import os\nos.environ['LD_PRELOAD'] = '/tmp/evil.so'\n"),
     Reason.TAMPERING),
    ("os-files-and-processes-stay-forbidden",
     _candidate(FORWARD, top="from os import environ, getenv\narch = environ.get('TORCH_CUDA_ARCH_LIST')\n"),
     _candidate(FORWARD, top="import os\nos.makedirs('/dev/shm/cache', exist_ok=True)\n"),
     Reason.FORBIDDEN_API),
    ("os-system-is-a-process",
     _candidate(FORWARD, top="import os.path\np = os.path.basename('a/b')\n"),
     _candidate(FORWARD, top="from os import system\nsystem('sleep 100 &')\n"),
     Reason.BACKGROUND_WORK),
    ("contextlib-is-fine-but-suppress-is-a-fallback",
     _candidate("def forward(self, x):\n    with contextlib.nullcontext():\n        return x\n", top="import contextlib\n"),
     _candidate("def forward(self, x):\n    with contextlib.suppress(Exception):\n        return self.k(x)\n"
                "    return torch.relu(x)\n", top="import contextlib\n"),
     Reason.FALLBACK),
    ("global-statement-for-a-lazily-built-extension",
     _candidate("def forward(self, x):\n    return _ext()(x)\n",
                top="_EXT = None\n\ndef _ext():\n    global _EXT\n    if _EXT is None:\n        _EXT = torch.relu\n"
                    "    return _EXT\n"),
     _candidate("def forward(self, x):\n    return x\n", top="def f():\n    global open\n    return open\n"),
     Reason.FORBIDDEN_API),
    ("rng-seeding-stays-forbidden",
     _candidate("def __init__(self, d):\n    super().__init__()\n    self.seed_value = 3\n    self.w = nn.Parameter(torch.randn(d))\n"
                + FORWARD),
     _candidate("def __init__(self, d):\n    super().__init__()\n    g = torch.Generator()\n    g.manual_seed(0)\n" + FORWARD),
     Reason.FORBIDDEN_API),
    ("load-inline-builds-in-its-private-directory",
     _candidate(FORWARD, top="from torch.utils.cpp_extension import load_inline\n"
                             "ext = load_inline(name='e', cpp_sources='int f();', functions=['f'])\n"),
     _candidate(FORWARD, top="from torch.utils.cpp_extension import load_inline\n"
                             "ext = load_inline(name='e', cpp_sources='int f();', build_directory='/tmp/shared')\n"),
     Reason.FORBIDDEN_API),
]


@pytest.mark.parametrize("honest,cheat,code", [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_honest_pattern_passes_and_cheat_is_caught(honest, cheat, code):
    report = check_source(honest, policy=Policy.TORCH_OK)
    assert report.ok, [r.message for r in report.reasons]
    assert code in _codes(cheat), _messages(cheat)


def test_every_rejection_says_what_to_change():
    """Each message has a fix after the finding (the part after `: `)."""
    for _, _, cheat, _ in PAIRS:
        for reason in check_source(cheat, policy=Policy.TORCH_OK).reasons:
            detail = reason.message.split(": ", 1)[1]
            assert any(w in detail for w in ("use", "remove", "write", "keep", "leave", "rename", "define",
                                             "import", "let it", "read it", "only", "raise", "do ", "launch", "pass")), reason.message


def test_scoping_follows_python():
    """Names bound in a function are local everywhere in it; comprehension and
    lambda parameters are theirs; class bodies do not leak into methods."""
    ok = _candidate("""
        input = 1

        def forward(self, x):
            ys = [open for open in (x,)]
            f = lambda input: input
            return f(ys[0])
    """)
    assert check_source(ok, policy=Policy.TORCH_OK).ok
    leak = _candidate("""
        open = None

        def forward(self, x):
            return open('/etc/hostname')
    """)
    assert Reason.FORBIDDEN_API in _codes(leak)  # the class attribute is not visible in the method


def test_deleting_a_shadow_restores_the_builtin():
    source = _candidate(FORWARD, top="open = len\ndel open\nf = open('/etc/hostname')\n")
    assert Reason.FORBIDDEN_API in _codes(source)


def test_os_environ_cannot_escape_the_write_check():
    for top in ("import os\nenv = os.environ\nenv['LD_PRELOAD'] = 'x'\n",
                "import os\nos.environ.update(LD_PRELOAD='x')\n",
                "import os\nos.putenv('PATH', '/tmp')\n",
                "import os\ndef f(e):\n    e['CXX'] = 'evil'\nf(os.environ)\n",
                "import os as o\no.environ['PATH'] = '/tmp'\n",
                "from os import *\n"):
        assert not check_source(_candidate(FORWARD, top=top), policy=Policy.TORCH_OK).ok, top


def test_private_imports_are_internals():
    for top in ("import torch._dynamo\n", "from torch._C import _nn\n", "from torch import _C\n",
                "import torch._inductor.config as cfg\n"):
        codes = _codes(_candidate(FORWARD, top=top))
        assert codes & {Reason.FORBIDDEN_API, Reason.TAMPERING}, top


def test_strict_policy_still_bans_streams():
    source = _candidate("def forward(self, x):\n    s = torch.cuda.Stream()\n    return x\n")
    assert Reason.SIDE_STREAM in _codes(source, Policy.STRICT)
