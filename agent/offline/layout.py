"""Shape and stride helpers that run inside generated candidates.

This module's source (below the marker line) is pasted into every candidate
file, so a candidate depends on nothing but torch and ``cudarwin.runtime``;
the analysis imports the same functions to check, ahead of time, that every
task shape can be laid out. Only Python arithmetic on sizes and strides here:
no torch compute.
"""

# --- candidate helpers begin ---


def _bshape(*shapes):
    """Broadcast shape of ``shapes`` (torch rules: aligned from the right)."""
    rank = max(len(s) for s in shapes)
    out = [1] * rank
    for s in shapes:
        for k in range(1, len(s) + 1):
            if s[-k] != 1:
                if out[-k] not in (1, s[-k]):
                    raise RuntimeError(f"shapes {shapes} do not broadcast")
                out[-k] = s[-k]
    return tuple(out)


def _bstrides(shape, strides, full):
    """Element strides of a tensor broadcast to shape ``full`` (0 where broadcast)."""
    pad = len(full) - len(shape)
    return (0,) * pad + tuple(st if n != 1 else 0 for n, st in zip(shape, strides))


def _collapse(sizes, strides, ndims):
    """Merge adjacent dims that every stride tuple in ``strides`` walks
    contiguously and drop size-1 dims; left-pad to ``ndims`` dims.

    Returns (sizes, [strides per tensor]) or None when more than ``ndims``
    dims remain. Merging keeps the row-major linear index unchanged.
    """
    merged = []
    for k, n in enumerate(sizes):
        if n == 1:
            continue
        st = [s[k] for s in strides]
        if merged and all(p == q * n for p, q in zip(merged[-1][1], st)):
            merged[-1] = (merged[-1][0] * n, st)
        else:
            merged.append((n, st))
    if len(merged) > ndims:
        return None
    pad = ndims - len(merged)
    out_sizes = [1] * pad + [n for n, _ in merged]
    out_strides = [[0] * pad + [m[1][j] for m in merged] for j in range(len(strides))]
    return out_sizes, out_strides


def _is_dense(shape, strides, full):
    """True when a tensor of ``shape``/``strides`` is contiguous with exactly shape ``full``."""
    if tuple(shape) != tuple(full):
        return False
    acc = 1
    for n, st in zip(reversed(shape), reversed(strides)):
        if n != 1 and st != acc:
            return False
        acc *= n
    return True


def _divmagic(d):
    """(magic, shift) with n // d == (umulhi(n, magic) + n) >> shift for 0 <= n < 2**31:
    a division by a runtime constant as a multiply-high and a shift."""
    shift = 0
    while (1 << shift) < d:
        shift += 1
    magic = ((1 << 32) * ((1 << shift) - d)) // d + 1
    return magic, shift


def _extent(sizes, strides):
    """One past the largest element offset of a view with these sizes and strides."""
    return 1 + sum((n - 1) * st for n, st in zip(sizes, strides))


def _magic(d):
    """``d`` with its division magic: (d, magic, shift)."""
    return (d, *_divmagic(d))


def _coord_magic(full, d, lo, hi):
    """``_coord`` with division magic for both numbers (6 ints)."""
    div, size = _coord(full, d, lo, hi)
    return (div, *_divmagic(div), size, *_divmagic(size))


def _joined_strides(piece, dim, parts):
    """Strides of one of ``parts`` equal pieces of a contiguous tensor joined along ``dim``."""
    joined = list(piece)
    joined[dim] *= parts
    out, acc = [], 1
    for n in reversed(joined):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))


def _coord(full, d, lo, hi):
    """(divisor, size) giving the coordinate along dim ``d`` of ``full`` from the
    linear index within its group (outer dims < lo, reduced lo..hi, inner > hi)."""
    end = lo if d < lo else (hi + 1 if d <= hi else len(full))
    div = 1
    for n in full[d + 1 : end]:
        div *= n
    return div, full[d]


def _split(full, lo, hi):
    """Sizes of the outer dims, the reduced dims [lo, hi] and the inner dims of ``full``."""
    return full[:lo], full[lo : hi + 1], full[hi + 1 :]


def _group_layout(full, lo, hi, strides):
    """Collapse a reduction's iteration shape into outer (2 dims), reduced (2)
    and inner (1) groups. Returns (O0, O1, R0, R1, I, [(so0, so1, sr0, sr1, si)
    per tensor]) or None when some tensor's strides cannot be expressed that way."""
    outer, red, inner = _split(full, lo, hi)
    n_out = len(outer)
    n_red = len(red)
    parts = []
    for sizes, a, b, nd in ((outer, 0, n_out, 2), (red, n_out, n_out + n_red, 2), (inner, n_out + n_red, len(full), 1)):
        got = _collapse(sizes, [s[a:b] for s in strides], nd)
        if got is None:
            return None
        parts.append(got)
    (o_sizes, o_st), (r_sizes, r_st), (i_sizes, i_st) = parts
    per = [(o_st[j][0], o_st[j][1], r_st[j][0], r_st[j][1], i_st[j][0]) for j in range(len(strides))]
    return o_sizes[0], o_sizes[1], r_sizes[0], r_sizes[1], i_sizes[0], per
