"""NVRTC takes the standard headers, macros and std:: names that nvcc takes.

The cases (tests/fixtures/nvrtc_headers.py) record what nvcc 13.0 does with
each; ``bench/nvrtc_headers.py`` re-measures nvcc and prints the table. Every
case nvcc compiles must compile here too. CPU only: NVRTC needs no GPU.
"""

import re
import sys
from pathlib import Path

import pytest

from cudarwin import runtime
from cudarwin.runtime import CudaCompileError, compile_cuda, nvrtc_available

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from nvrtc_headers import CASES, CUDA_HEADERS, SOFTMAX, headers, source  # noqa: E402

pytestmark = pytest.mark.skipif(not nvrtc_available(), reason="NVRTC (cupy + nvidia-cuda-nvrtc) not installed")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path / "kernels"))
    monkeypatch.setattr(runtime.cache, "_memory_cache", {})


def _failing_cases(cases, *include):
    """Compile the cases together; the cases on the lines the compiler
    rejects (each case has a line of its own)."""
    text = source(cases, *include)
    try:
        compile_cuda(text)
        return []
    except CudaCompileError as err:
        lines = text.splitlines()
        bad = {int(n) for n in re.findall(r"candidate\.cu\((\d+)\): error", err.log)}
        named = [c.name for c in cases if any(lines[n - 1].strip() == "{ " + c.body + " }" for n in bad)]
        return named or [err.log[:2000]]


@pytest.mark.parametrize("header", [h for h in headers() if h not in CUDA_HEADERS], ids=lambda h: h or "no-include")
def test_what_nvcc_takes_nvrtc_takes(header):
    cases = [c for c in CASES if c.header == header and c.nvcc != "no"]
    assert _failing_cases(cases, header) == []


def test_cuda_headers_libcudacxx_and_cub_still_compile():
    cases = [c for c in CASES if c.header in CUDA_HEADERS]
    assert _failing_cases(cases, *CUDA_HEADERS) == []




@pytest.mark.parametrize("options", [(), ("--use_fast_math",)])
def test_an_honest_softmax_with_cmath_infinity_and_flt_max_compiles_cleanly(options):
    out = compile_cuda(SOFTMAX, options=options)
    assert out.kernels[0].name == "softmax" and out.kernels[0].params == ("const float*", "float*", "int")
    assert out.log == ""


@pytest.mark.parametrize("includes", ["#include <cmath>\n#include <cfloat>\n#include <type_traits>\n", ""])
def test_an_error_is_reported_on_the_users_own_line(includes):
    # line 8 of the source (whichever headers come first) holds the error;
    # std::exp, INFINITY and INT_MAX make the prelude pre-include headers
    lines = includes.splitlines() + ['extern "C" __global__ void k(float* y) {', "    y[0] = std::exp(y[1]) - INFINITY;",
                                     "    y[1] = INT_MAX;"]
    lines += [""] * (7 - len(lines)) + ["    y[2] = not_declared;", "}"]
    with pytest.raises(CudaCompileError) as info:
        compile_cuda("\n".join(lines) + "\n", name="mine.cu")
    assert "mine.cu(8): error" in info.value.log and 'identifier "not_declared" is undefined' in info.value.log
    assert info.value.log.count("error") == 2  # that one error, and the "1 error detected" summary


VALUES = r'''#include <cmath>
#include <cfloat>
#include <climits>
#include <cstdint>
#include <limits>
using F = std::numeric_limits<float>;
using D = std::numeric_limits<double>;
static_assert(FLT_MAX == F::max() && FLT_MIN == F::min() && FLT_EPSILON == F::epsilon() && FLT_TRUE_MIN == F::denorm_min(), "");
static_assert(DBL_MAX == D::max() && DBL_MIN == D::min() && DBL_EPSILON == D::epsilon() && DBL_TRUE_MIN == D::denorm_min(), "");
static_assert(FLT_MANT_DIG == F::digits && DBL_MANT_DIG == D::digits && FLT_DIG == F::digits10 && DBL_DIG == D::digits10, "");
static_assert(FLT_MAX_EXP == F::max_exponent && FLT_MIN_EXP == F::min_exponent && DBL_MAX_EXP == D::max_exponent, "");
static_assert(INFINITY == F::infinity() && -INFINITY == -F::infinity() && HUGE_VALF == F::infinity(), "");
static_assert(HUGE_VAL == D::infinity() && sizeof(HUGE_VAL) == 8 && sizeof(INFINITY) == 4 && sizeof(NAN) == 4, "");
static_assert(NAN != NAN, "NAN is a NaN");
static_assert(INT_MAX == 2147483647 && INT_MIN == -INT_MAX - 1 && UINT_MAX == 4294967295u && CHAR_BIT == 8, "");
static_assert(LLONG_MAX == 9223372036854775807LL && LONG_MAX == LLONG_MAX && ULLONG_MAX == 18446744073709551615ull, "");
static_assert(INT32_MAX == INT_MAX && INT64_MAX == LLONG_MAX && SIZE_MAX == ULLONG_MAX, "");
static_assert(M_PI > 3.14159265358979 && M_PI < 3.14159265358980 && M_SQRT1_2 * M_SQRT2 > 0.9999999999 && M_E > 2.718281828, "");
extern "C" __global__ void k(float* y) { y[0] = INFINITY; }
'''


def test_macros_have_their_ieee_and_lp64_values():
    assert compile_cuda(VALUES).log == ""


def test_flt_max_without_cfloat_fails_as_under_nvcc():
    with pytest.raises(CudaCompileError, match=r'candidate\.cu\(1\): error: identifier "FLT_MAX" is undefined'):
        compile_cuda('extern "C" __global__ void k(float* y) { y[0] = FLT_MAX; }\n')


@pytest.mark.parametrize("first, second", [("cmath", "cuda/std/cmath"), ("cuda/std/cmath", "cmath"),
                                           ("cub/block/block_reduce.cuh", "cmath")])
def test_infinity_from_our_cmath_and_libcudacxx_is_one_definition(first, second):
    # libcu++ (which cub includes) defines INFINITY and NAN too: same tokens, no redefinition warning
    src = f"#include <{first}>\n#include <{second}>\n" + 'extern "C" __global__ void k(float* y) { y[0] = -INFINITY + NAN; }\n'
    assert compile_cuda(src).log == ""


def test_bare_infinity_next_to_cub_is_no_redefinition():
    src = ("#include <cub/block/block_reduce.cuh>\n"
           'extern "C" __global__ void k(float* y) { y[0] = fmaxf(-INFINITY, y[1]); }\n')
    assert compile_cuda(src).log == ""


def test_unqualified_math_after_using_namespace_std_is_not_ambiguous():
    # with nvcc, ::exp and std::exp are one function; so they are here, even
    # when cub has brought in libcu++'s own cuda::std::exp
    src = ("#include <cub/block/block_reduce.cuh>\n#include <cmath>\n#include <type_traits>\n#include <limits>\n"
           "#include <utility>\n#include <algorithm>\nusing namespace std;\n"
           'extern "C" __global__ void k(float* y, int* n) {\n'
           "    y[0] = exp(y[1]) + sqrt(y[2]) + abs(y[3]) + fabs(y[4]) + tanh(y[5]) + pow(y[6], 2.f) + floor(y[7]);\n"
           "    y[1] = max(y[1], 0.f) + min(y[2], 1.f) + (float)isnan(y[3]) + numeric_limits<float>::max();\n"
           "    n[0] = abs(n[1]) + max(n[2], 3) + is_same<float, float>::value;\n}\n")
    assert compile_cuda(src).log == ""


def test_a_source_that_uses_none_of_it_gets_an_empty_prelude():
    # the shims cost compile time only where a source uses them
    plain = 'extern "C" __global__ void k(float* y) { y[0] = expf(y[1]) + fmaxf(y[2], 0.f); }\n'
    assert runtime.headers._builtin_headers(plain)[runtime.headers._PRELUDE_NAME] == ""
    uses = 'extern "C" __global__ void k(float* y) { y[0] = std::exp(y[1]) - INFINITY + INT_MAX; }\n'
    assert runtime.headers._builtin_headers(uses)[runtime.headers._PRELUDE_NAME] == "#include <cmath>\n#include <climits>\n"


def test_cuda_std_names_do_not_trigger_the_std_shims():
    src = 'extern "C" __global__ void k(float* y) { y[0] = cuda::std::exp(y[1]); }\n'
    assert runtime.headers._builtin_headers(src)[runtime.headers._PRELUDE_NAME] == ""


ALL_SHIMS = [h for h in headers() if h in runtime.shims.std_headers("INFINITY_", "NAN_")]


def _other_libcudacxx():
    """CuPy's bundled libcu++, when the CUDA toolkit's is the one in use."""
    cupy = runtime.headers._cupy_cccl()
    dirs = runtime.cuda_include_dirs()
    return None if cupy is None or str(cupy) in dirs or not dirs else (dirs[0], str(cupy))


@pytest.mark.skipif(_other_libcudacxx() is None, reason="only one libcu++ installed")
def test_every_shim_compiles_against_the_other_libcudacxx(monkeypatch):
    monkeypatch.setattr(runtime.headers, "_include_cache", [_other_libcudacxx()])
    body = ['extern "C" __global__ void k(float* f, double* d, long long* i) {']
    body += ["    { " + c.body + " }" for c in CASES if c.header in ALL_SHIMS and c.nvcc != "no" and not c.decl]
    src = "".join(f"#include <{h}>\n" for h in ALL_SHIMS) + "\n".join(body) + "\n}\n"
    out = compile_cuda(src)
    assert out.log == "" and out.kernels[0].name == "k"
