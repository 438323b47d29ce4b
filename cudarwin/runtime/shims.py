"""The C and C++ standard headers NVRTC lacks, written for device code.

NVRTC compiles without a host toolchain, so ``#include <cmath>``, ``<cfloat>``,
``<type_traits>``... find no file, and ``INFINITY`` or ``FLT_MAX`` are
undefined. nvcc takes them, so kernels written for nvcc use them. Each header
here gives device code what the host header gives it under nvcc:

* ``std::`` math functions are CUDA's own device math functions (``::expf``,
  the ``float`` overloads of ``::exp``...), declared into ``std`` so that
  ``std::exp(x)`` and ``using namespace std; exp(x)`` pick the same function,
  with float in and float out, as with nvcc;
* macros (``INFINITY``, ``M_PI``, ``FLT_MAX``, ``INT_MAX``...) have their
  IEEE 754 / LP64 values; where libcu++ also defines one under NVRTC, the
  definition is libcu++'s own, so including both raises no warning;
* the C++ library (``std::numeric_limits``, type traits, ``std::pair``...) is
  libcu++'s, each name declared into ``std`` one by one (a blanket
  ``using namespace cuda::std`` would make unqualified math calls ambiguous);
* ``std::min``/``std::max``/``std::clamp`` are small templates written here;
* ``assert``, ``printf``, ``memcpy``, ``malloc``, placement ``new`` and
  ``std::initializer_list`` are NVRTC built-ins: their headers only declare
  the ``std::`` names (``std::memcpy``...), or nothing.

Names are declared only where libcu++ or CUDA defines them; nothing here is a
stub. Host-only headers (``<iostream>``, ``<vector>``...) are not provided.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

__all__ = ["bare_includes", "cub_device_subset", "std_headers"]


def _guarded(name: str, body: str) -> str:
    guard = "CUDARWIN_SHIM_" + re.sub(r"\W", "_", name).upper()
    return f"#ifndef {guard}\n#define {guard}\n{body.strip()}\n#endif\n"


def _using(names: str, scope: str) -> str:
    """``namespace std { using SCOPE::a; ... }`` for the whitespace-separated names."""
    return "namespace std {\n" + "".join(f"using {scope}::{n};\n" for n in names.split()) + "}\n"


def _macros(pairs: str) -> str:
    """``#define NAME VALUE`` (unless already defined) for each ``NAME VALUE`` line."""
    out = []
    for line in filter(str.strip, pairs.splitlines()):
        name, value = line.split(None, 1)
        out.append(f"#ifndef {name}\n#define {name} {value.strip()}\n#endif\n")
    return "".join(out)


# CUDA's device math library: every function is declared at global scope under
# NVRTC, with float overloads of the double names (C++ <cmath> semantics).
MATH_FUNCTIONS = (
    "abs fabs fmod remainder remquo fma fmax fmin fdim nan exp exp2 expm1 log log10 log2 log1p "
    "pow sqrt cbrt hypot sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh erf erfc "
    "tgamma lgamma ceil floor trunc round lround llround nearbyint rint lrint llrint frexp ldexp modf "
    "scalbn scalbln ilogb logb nextafter copysign isfinite isinf isnan signbit"
)
_NOT_SUFFIXED = {"abs", "isfinite", "isinf", "isnan", "signbit"}
_FLOAT_FUNCTIONS = " ".join(n + "f" for n in MATH_FUNCTIONS.split() if n not in _NOT_SUFFIXED)

_MATH_CONSTANTS = """
M_E 2.7182818284590452354
M_LOG2E 1.4426950408889634074
M_LOG10E 0.43429448190325182765
M_LN2 0.69314718055994530942
M_LN10 2.30258509299404568402
M_PI 3.14159265358979323846
M_PI_2 1.57079632679489661923
M_PI_4 0.78539816339744830962
M_1_PI 0.31830988618379067154
M_2_PI 0.63661977236758134308
M_2_SQRTPI 1.12837916709551257390
M_SQRT2 1.41421356237309504880
M_SQRT1_2 0.70710678118654752440
HUGE_VALF INFINITY
HUGE_VAL ((double)INFINITY)
"""

# IEEE 754 binary32 and binary64, as <float.h> describes them.
_FLOAT_LIMITS = """
FLT_RADIX 2
FLT_MANT_DIG 24
FLT_DIG 6
FLT_DECIMAL_DIG 9
FLT_MIN_EXP (-125)
FLT_MIN_10_EXP (-37)
FLT_MAX_EXP 128
FLT_MAX_10_EXP 38
FLT_MAX 3.40282346638528859811704183484516925e+38F
FLT_MIN 1.17549435082228750796873653722224568e-38F
FLT_EPSILON 1.19209289550781250000000000000000000e-7F
FLT_TRUE_MIN 1.40129846432481707092372958328991613e-45F
DBL_MANT_DIG 53
DBL_DIG 15
DBL_DECIMAL_DIG 17
DBL_MIN_EXP (-1021)
DBL_MIN_10_EXP (-307)
DBL_MAX_EXP 1024
DBL_MAX_10_EXP 308
DBL_MAX 1.79769313486231570814527423731704357e+308
DBL_MIN 2.22507385850720138309023271733240406e-308
DBL_EPSILON 2.22044604925031308084726333618164062e-16
DBL_TRUE_MIN 4.94065645841246544176568792868221372e-324
"""

_STDINT_NAMES = "int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t intptr_t uintptr_t size_t ptrdiff_t"

_TYPE_TRAITS = """
integral_constant bool_constant true_type false_type
is_void is_null_pointer is_integral is_floating_point is_array is_enum is_union is_class is_function
is_pointer is_lvalue_reference is_rvalue_reference is_member_object_pointer is_member_function_pointer
is_fundamental is_arithmetic is_scalar is_object is_compound is_reference is_member_pointer
is_const is_volatile is_trivial is_trivially_copyable is_standard_layout is_empty is_polymorphic
is_abstract is_final is_signed is_unsigned
is_constructible is_trivially_constructible is_nothrow_constructible
is_default_constructible is_trivially_default_constructible is_nothrow_default_constructible
is_copy_constructible is_trivially_copy_constructible is_nothrow_copy_constructible
is_move_constructible is_trivially_move_constructible is_nothrow_move_constructible
is_assignable is_trivially_assignable is_nothrow_assignable
is_copy_assignable is_trivially_copy_assignable is_nothrow_copy_assignable
is_move_assignable is_trivially_move_assignable is_nothrow_move_assignable
is_destructible is_trivially_destructible is_nothrow_destructible has_virtual_destructor
alignment_of rank extent is_same is_base_of is_convertible
is_invocable is_invocable_r is_nothrow_invocable is_nothrow_invocable_r
remove_cv remove_const remove_volatile add_cv add_const add_volatile
remove_reference add_lvalue_reference add_rvalue_reference make_signed make_unsigned
remove_extent remove_all_extents remove_pointer add_pointer aligned_storage decay enable_if
conditional common_type underlying_type invoke_result void_t conjunction disjunction negation
remove_cvref type_identity
"""
# the _v variable templates and _t alias templates of the traits above
_TRAIT_VALUES = """
is_void is_null_pointer is_integral is_floating_point is_array is_enum is_union is_class is_function
is_pointer is_lvalue_reference is_rvalue_reference is_member_object_pointer is_member_function_pointer
is_fundamental is_arithmetic is_scalar is_object is_compound is_reference is_member_pointer
is_const is_volatile is_trivial is_trivially_copyable is_standard_layout is_empty is_polymorphic
is_abstract is_final is_signed is_unsigned is_constructible is_default_constructible
is_copy_constructible is_move_constructible is_assignable is_copy_assignable is_move_assignable
is_destructible is_trivially_constructible is_trivially_destructible is_nothrow_constructible
alignment_of rank extent is_same is_base_of is_convertible is_invocable conjunction disjunction negation
"""
_TRAIT_TYPES = """
remove_cv remove_const remove_volatile add_cv add_const add_volatile remove_reference
add_lvalue_reference add_rvalue_reference make_signed make_unsigned remove_extent remove_all_extents
remove_pointer add_pointer decay enable_if conditional common_type underlying_type invoke_result
remove_cvref type_identity aligned_storage
"""

_UTILITY = """
swap exchange pair make_pair get declval as_const integer_sequence index_sequence
make_integer_sequence make_index_sequence index_sequence_for 
piecewise_construct piecewise_construct_t in_place in_place_t
"""
_TUPLE = "tuple make_tuple tie forward_as_tuple tuple_cat apply ignore get"
_ARRAY = "array get"  # NVRTC declares std::tuple_size and std::tuple_element itself
_FUNCTIONAL = """
plus minus multiplies divides modulus negate equal_to not_equal_to greater less greater_equal less_equal
logical_and logical_or logical_not bit_and bit_or bit_xor bit_not invoke reference_wrapper ref cref
"""
_NUMERIC = "gcd lcm accumulate inner_product partial_sum adjacent_difference iota"
_LIMITS = """
numeric_limits float_round_style float_denorm_style round_indeterminate round_toward_zero
round_to_nearest round_toward_infinity round_toward_neg_infinity
"""

# <algorithm>'s constexpr part (what device code can call under nvcc).
_ALGORITHM = """
namespace std {
template <class T> __host__ __device__ constexpr const T& max(const T& a, const T& b) { return a < b ? b : a; }
template <class T, class Less> __host__ __device__ constexpr const T& max(const T& a, const T& b, Less less) { return less(a, b) ? b : a; }
template <class T> __host__ __device__ constexpr const T& min(const T& a, const T& b) { return b < a ? b : a; }
template <class T, class Less> __host__ __device__ constexpr const T& min(const T& a, const T& b, Less less) { return less(b, a) ? b : a; }
template <class T> __host__ __device__ constexpr T max(initializer_list<T> l) {
  const T* best = l.begin();
  for (const T* p = l.begin(); p != l.end(); ++p) if (*best < *p) best = p;
  return *best;
}
template <class T> __host__ __device__ constexpr T min(initializer_list<T> l) {
  const T* best = l.begin();
  for (const T* p = l.begin(); p != l.end(); ++p) if (*p < *best) best = p;
  return *best;
}
template <class T> __host__ __device__ constexpr const T& clamp(const T& v, const T& lo, const T& hi) {
  return v < lo ? lo : hi < v ? hi : v;
}
template <class T, class Less> __host__ __device__ constexpr const T& clamp(const T& v, const T& lo, const T& hi, Less less) {
  return less(v, lo) ? lo : less(hi, v) ? hi : v;
}
}
"""

_BUILT_IN = "/* {what} built into NVRTC; this header exists so that including it works as with nvcc. */\n"


def _math(infinity: str, nan: str) -> str:
    return (
        "#include <cuda/std/limits>\n"  # libcu++'s spelling of INFINITY/NAN needs numeric_limits
        + _macros(f"INFINITY {infinity}\nNAN {nan}\n" + _MATH_CONSTANTS)
        + _using(MATH_FUNCTIONS + " " + _FLOAT_FUNCTIONS, "")
    )


def std_headers(infinity: str, nan: str) -> dict[str, str]:
    """Every standard header provided, by include name; libcu++ must be on
    the include path. ``infinity``/``nan`` spell INFINITY and NAN the way the
    installed libcu++ does."""
    traits = (
        _using(_TYPE_TRAITS, "cuda::std")
        + _using(" ".join(n + "_v" for n in _TRAIT_VALUES.split()), "cuda::std")
        + _using(" ".join(n + "_t" for n in _TRAIT_TYPES.split()), "cuda::std")
    )
    bodies = {
        "cmath": _math(infinity, nan),
        "cfloat": _macros(_FLOAT_LIMITS),
        "climits": "#include <cuda/std/climits>\n",
        "cstdint": "#include <cuda/std/cstdint>\n" + _using(_STDINT_NAMES, ""),
        "cstddef": "#include <cuda/std/cstddef>\n" + _using("size_t ptrdiff_t nullptr_t max_align_t byte", "cuda::std"),
        "limits": "#include <cuda/std/limits>\n" + _using(_LIMITS, "cuda::std"),
        "type_traits": "#include <cuda/std/type_traits>\n" + traits,
        "utility": "#include <cuda/std/utility>\n" + _using(_UTILITY, "cuda::std"),
        "tuple": "#include <cuda/std/tuple>\n" + _using(_TUPLE, "cuda::std"),
        "array": "#include <cuda/std/array>\n" + _using(_ARRAY, "cuda::std"),
        "functional": "#include <cuda/std/functional>\n" + _using(_FUNCTIONAL, "cuda::std"),
        "numeric": "#include <cuda/std/numeric>\n" + _using(_NUMERIC, "cuda::std"),
        "algorithm": _ALGORITHM,
        "cstring": _using("memcpy memset", ""),
        "cstdlib": _using("abs labs llabs malloc free", ""),
        "cassert": _BUILT_IN.format(what="assert is"),
        "cstdio": _BUILT_IN.format(what="printf is"),
        "new": _BUILT_IN.format(what="placement new is"),
        "initializer_list": _BUILT_IN.format(what="std::initializer_list is"),
    }
    headers = {name: _guarded(name, body) for name, body in bodies.items()}
    # The C names of the same headers (C++ declares the std:: names there too).
    for c_name, cpp in (("math.h", "cmath"), ("float.h", "cfloat"), ("limits.h", "climits"), ("stdint.h", "cstdint"),
                        ("stddef.h", "cstddef"), ("string.h", "cstring"), ("stdlib.h", "cstdlib"),
                        ("assert.h", "cassert"), ("stdio.h", "cstdio")):
        headers[c_name] = f"#include <{cpp}>\n"
    return headers


_LIMITS_MACROS = r"(?:S?CHAR|UCHAR|U?SHRT|U?INT|U?LONG|U?LLONG)_(?:MAX|MIN)|CHAR_BIT"
_MATH_NAMES = "|".join(MATH_FUNCTIONS.split() + _FLOAT_FUNCTIONS.split())
# (header, macros that call for it, std:: names that call for it)
_BARE: tuple[tuple[str, str, str], ...] = (
    ("cstdint", r"u?int(?:8|16|32|64|ptr|max)_t", r"u?int(?:8|16|32|64|ptr|max)_t"),
    ("cmath", r"INFINITY|NAN|HUGE_VALF?|M_[0-9A-Z_]+", _MATH_NAMES),
    ("climits", _LIMITS_MACROS, ""),
    ("cstddef", "offsetof", "size_t|ptrdiff_t|nullptr_t|max_align_t"),
    ("limits", "", "numeric_limits"),
    ("algorithm", "", "max|min|clamp"),
    ("type_traits", "", r"is_\w+|enable_if\w*|conditional\w*|remove_\w+|add_\w+|decay\w*|integral_constant|"
                        r"true_type|false_type|common_type\w*|make_(?:un)?signed\w*"),
    ("utility", "", r"swap|exchange|pair|make_pair|declval|\w+_sequence\w*"),
)
_BARE_MACROS = tuple((h, re.compile(rf"\b(?:{m})\b")) for h, m, _ in _BARE if m)
_BARE_STD = tuple((h, re.compile(rf"(?:{n})")) for h, _, n in _BARE if n)
_STD_NAME = re.compile(r"(?<!\w::)\bstd\s*::\s*(\w+)")  # std::name and ::std::name, not cuda::std::name


@functools.lru_cache(maxsize=256)  # load_cuda may be called on every forward: keep repeats free
def bare_includes(source: str) -> tuple[str, ...]:
    """The headers to pre-include for a source that uses their names without
    including them, where nvcc's implicit cuda_runtime.h would have brought
    them in (the host's math.h, limits.h, stddef.h and part of the C++
    library). <cfloat> is not among them: FLT_MAX without an include fails
    under nvcc too."""
    names = set(_STD_NAME.findall(source)) if "std" in source else set()
    wanted = {h for h, macro in _BARE_MACROS if macro.search(source)}
    wanted |= {h for h, pattern in _BARE_STD if any(pattern.fullmatch(n) for n in names)}
    return tuple(h for h, _, _ in _BARE if h in wanted)


_DEVICE_SIDE_CUB = re.compile(r"^#\s*include\s*<(cub/(?!device/|util_allocator)[^>]+)>", re.M)


def cub_device_subset(cub_cuh: Path) -> str | None:
    """``<cub/cub.cuh>`` without its host-side parts (device-wide algorithms,
    the caching allocator), which NVRTC cannot compile: the block, warp and
    thread primitives that kernels use. None when cub is not installed."""
    try:
        text = cub_cuh.read_text()
    except OSError:
        return None
    includes = _DEVICE_SIDE_CUB.findall(text)
    body = "".join(f"#include <{h}>\n" for h in includes)
    return _guarded("cub/cub.cuh", "/* cub's device-side headers: its Device* algorithms are host code */\n" + body)
