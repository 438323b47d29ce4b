"""CPU checks for the hand-written suite solutions and their planted-bug siblings.

Every task listed in ``SOLVED_TASKS`` ships ``<task>.solution.py`` (an honest
kernel the verifier must accept) and ``<task>.wrong.py`` (the same kernel with
one deliberate bug it must reject). Here, without a GPU, we check that both
files define ``ModelNew`` with ``Model``'s constructor signature and that every
CUDA source they pass to ``load_cuda`` compiles for sm_90 with NVRTC.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "tasks" / "suite"

SOLVED_TASKS = (
    "elementwise/gelu",
    "elementwise/fused_bias_silu_mul",
    "reduction/sum_rows",
    "reduction/argmax_rows",
    "normalization/layernorm",
    "normalization/rmsnorm",
    "softmax/softmax",
    "softmax/logsumexp",
    "scan/cumsum",
    "gather/embedding_bag",
    "loss/cross_entropy",
    "matmul/matmul_tiled",
)
VARIANTS = ("solution", "wrong")


def candidate_path(task: str, variant: str) -> Path:
    return SUITE / f"{task}.{variant}.py"


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` assignments, to resolve ``load_cuda(NAME)``."""
    strings: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        strings[target.id] = node.value.value
    return strings


def cuda_sources(source: str) -> list[str]:
    """The CUDA source strings a candidate file passes to ``load_cuda``."""
    tree = ast.parse(source)
    strings = _module_strings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "load_cuda":
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append(arg.value)
        elif isinstance(arg, ast.Name) and arg.id in strings:
            found.append(strings[arg.id])
        else:
            raise AssertionError(f"load_cuda argument at line {node.lineno} is not a string literal")
    return found


def compile_sm90(source: str):
    """Compile one CUDA source with NVRTC for sm_90 through the runtime candidates use."""
    runtime = pytest.importorskip("cudarwin.runtime")
    if not runtime.nvrtc_available():
        pytest.skip("NVRTC is not installed")
    return _compile_uncached_on_disk(source)


@functools.lru_cache(maxsize=None)
def _compile_uncached_on_disk(source: str):
    from cudarwin.runtime import compile_cuda

    return compile_cuda(source, arch="sm_90", cache=False)  # no writes to the user's cache dir


def kernel_launches(source: str) -> list[tuple[str, int, int]]:
    """(kernel name, number of launch args, line) of each ``<module>.<kernel>(..., args=(...))`` call
    on a module object returned by ``load_cuda``."""
    tree = ast.parse(source)
    modules = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", getattr(node.value.func, "attr", "")) == "load_cuda"
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    launches = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if isinstance(node.func.value, ast.Name) and node.func.value.id in modules:
                args = next((k.value for k in node.keywords if k.arg == "args"), None)
                assert isinstance(args, ast.Tuple), f"line {node.lineno}: launch args must be a tuple literal"
                launches.append((node.func.attr, len(args.elts), node.lineno))
    return launches


def model_class(task: str) -> type:
    """Import the task file (plain PyTorch, no GPU needed) and return ``Model``."""
    path = SUITE / f"{task}.py"
    spec = importlib.util.spec_from_file_location(f"suite_task_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Model


def import_candidate(path: Path, monkeypatch: pytest.MonkeyPatch):
    """Import a candidate file in record mode: load_cuda records its source, compiles nothing."""
    runtime = pytest.importorskip("cudarwin.runtime")
    monkeypatch.setenv("CUDARWIN_RUNTIME_MODE", "record")
    runtime.clear_recorded_sources()
    spec = importlib.util.spec_from_file_location(f"suite_candidate_{path.stem.replace('.', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, [r.source for r in runtime.recorded_sources()]


def init_parameters(cls: type) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each ``__init__`` parameter, self excluded."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [(p.name, p.kind, p.default) for p in params if p.name != "self"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("task", SOLVED_TASKS)
def test_candidate_defines_modelnew(task: str, variant: str) -> None:
    source = candidate_path(task, variant).read_text()
    tree = ast.parse(source)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ModelNew"]
    assert len(classes) == 1, f"{task}.{variant}.py must define exactly one ModelNew"
    bases = [ast.unparse(b) for b in classes[0].bases]
    assert bases == ["nn.Module"], f"ModelNew must subclass nn.Module directly, not {bases}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("task", SOLVED_TASKS)
def test_cuda_sources_compile_for_sm90(task: str, variant: str) -> None:
    sources = cuda_sources(candidate_path(task, variant).read_text())
    assert sources, f"{task}.{variant}.py passes no CUDA source to load_cuda"
    for source in sources:
        compiled = compile_sm90(source)  # raises CudaCompileError with NVRTC's log
        assert compiled.kernels, f"{task}.{variant}.py declares no extern \"C\" __global__ kernel"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("task", SOLVED_TASKS)
def test_launches_match_kernel_signatures(task: str, variant: str) -> None:
    text = candidate_path(task, variant).read_text()
    params = {k.name: len(k.params) for src in cuda_sources(text) for k in compile_sm90(src).kernels}
    launches = kernel_launches(text)
    assert launches, f"{task}.{variant}.py launches no kernel"
    for name, nargs, line in launches:
        assert name in params, f"line {line}: no kernel named {name}"
        assert nargs == params[name], f"line {line}: {name} takes {params[name]} arguments, launched with {nargs}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("task", SOLVED_TASKS)
def test_modelnew_init_signature_matches_model(
    task: str, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = import_candidate(candidate_path(task, variant), monkeypatch)
    assert init_parameters(module.ModelNew) == init_parameters(model_class(task))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("task", SOLVED_TASKS)
def test_record_mode_sees_the_same_sources(task: str, variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = candidate_path(task, variant)
    _, recorded = import_candidate(path, monkeypatch)
    assert recorded == cuda_sources(path.read_text())


@pytest.mark.parametrize("task", SOLVED_TASKS)
def test_wrong_sibling_names_its_bug_and_differs(task: str) -> None:
    solution = candidate_path(task, "solution").read_text()
    wrong = candidate_path(task, "wrong").read_text()
    assert "BUG:" in wrong.split('"""')[1], f"{task}.wrong.py must name its bug in the module docstring"
    assert cuda_sources(solution) != cuda_sources(wrong), f"{task}.wrong.py has the same CUDA as the solution"


def test_source_extraction_resolves_names_and_literals() -> None:
    text = 'S = "a"\nm = load_cuda(S)\nn = runtime.load_cuda("b")\n'
    assert cuda_sources(text) == ["a", "b"]


def test_compile_errors_are_reported() -> None:
    runtime = pytest.importorskip("cudarwin.runtime")
    with pytest.raises(runtime.CudaCompileError, match="undefined_name"):
        compile_sm90('extern "C" __global__ void k(float* y) { y[0] = undefined_name; }')


def test_launch_extraction_counts_arguments() -> None:
    text = "m = load_cuda(S)\ndef f(x, y):\n    m.k(grid=(1,), block=(32,), args=(x, y, 3))\n"
    assert kernel_launches(text) == [("k", 3, 3)]
