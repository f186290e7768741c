"""Register tiles of the step's two products with W, written in LLVM IR because Numba cannot
express them:

- ``product_tile`` (the forward pass, eq. 1's s = z W + b): a tile of R minibatch rows × V
  vectors of columns of z W sits in registers while the rows of a block of W stream past; each
  row of W gives V vector loads, R broadcasts of z and R·V fused multiply-adds.
- ``update_tile`` (the update, eq. 3's W ← W − lr zᵀ dC/ds): a tile of R minibatch rows × V
  vectors of columns of dC/ds sits in registers while the rows of W stream past, each row's V
  vectors loaded, given R broadcasts of −lr z times the tile, and stored.

Numba's own loops keep such a tile in memory and load and store it every few rows of W (about
half the FMA rate on this machine's Zen 5, docs/train.md). Written as loops over an (R, V)
block of scalars, Numba would need LLVM's SLP vectorizer to turn the scalars into vectors, and
Numba turns it off (``NUMBA_SLP_VECTORIZE=0``); so these intrinsics emit the vectors
themselves.

The vector width follows the CPU Numba compiles for (``VECTOR_BYTES``): 64 bytes where it has
AVX-512, whose 32 registers hold tiles of up to ``TILE_ROWS`` = 10 rows × 2 vectors (20 for the
tile, 2 for a row of W, 1 for a broadcast); else 32 bytes and 5 rows (16 registers). Each output
element is one chain of FMAs in a fixed order (over the rows of W, or over the minibatch rows),
so its bits do not depend on the thread that runs it."""
from __future__ import annotations

from contextlib import contextmanager

from llvmlite import binding as llvm
from llvmlite import ir
from numba.core import cgutils, config, types
from numba.extending import intrinsic


def _cpu_features() -> str:
    """The features Numba compiles for: ``NUMBA_CPU_FEATURES`` if set, else the host's (as
    Numba's own code generator reads them)."""
    return config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()


VECTOR_BYTES = 64 if "+avx512f" in _cpu_features().split(",") else 32
TILE_ROWS = 10 if VECTOR_BYTES == 64 else 5
PREFETCH_ROWS = 16   # rows of W ahead: they lie 4 kB apart, past the hardware's prefetchers


class _Vectors:
    """Vector code for one intrinsic call: arrays of ``dtype``, vectors of VECTOR_BYTES."""

    def __init__(self, context, builder, dtype):
        self.context, self.builder = context, builder
        self.intp = context.get_value_type(types.intp)
        self.itemsize = dtype.bitwidth // 8
        self.lanes = VECTOR_BYTES // self.itemsize
        self.vty = ir.VectorType(context.get_data_type(dtype), self.lanes)
        module = builder.module
        self._fma = cgutils.get_or_insert_function(
            module, ir.FunctionType(self.vty, [self.vty] * 3),
            f"llvm.fma.v{self.lanes}f{dtype.bitwidth}")
        self.i32, self.i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        self._prefetch = cgutils.get_or_insert_function(
            module, ir.FunctionType(ir.VoidType(), [self.i8p] + [self.i32] * 3),
            "llvm.prefetch.p0")

    def const(self, n):
        return ir.Constant(self.intp, n)

    def array(self, aryty, value):
        return (aryty, self.context.make_array(aryty)(self.context, self.builder, value))

    def _pointer(self, ary, row, col):
        aryty, a = ary
        ptr = cgutils.get_item_pointer(self.context, self.builder, aryty, a, [row, col])
        return self.builder.bitcast(ptr, self.vty.as_pointer())

    def load(self, ary, row, col):
        return self.builder.load(self._pointer(ary, row, col), align=1)

    def store(self, value, ary, row, col):
        self.builder.store(value, self._pointer(ary, row, col), align=1)

    def splat(self, ary, row, col):
        """ary[row, col] in every lane."""
        b = self.builder
        x = b.load(cgutils.get_item_pointer(self.context, b, ary[0], ary[1], [row, col]))
        undef = ir.Constant(self.vty, ir.Undefined)
        x = b.insert_element(undef, x, ir.Constant(self.i32, 0))
        return b.shuffle_vector(x, undef, ir.Constant(ir.VectorType(self.i32, self.lanes),
                                                      [0] * self.lanes))

    def fma(self, a, x, y):
        return self.builder.call(self._fma, [a, x, y])

    def prefetch(self, ary, row, col, write, locality):
        """A hint to fetch ary[row, col]'s line (plain address arithmetic: it may point past
        the array)."""
        b = self.builder
        a = ary[1]
        at = b.add(b.add(b.ptrtoint(a.data, self.intp),
                         b.mul(row, b.extract_value(a.strides, 0))),
                   b.mul(col, self.const(self.itemsize)))
        b.call(self._prefetch, [b.inttoptr(at, self.i8p), ir.Constant(self.i32, int(write)),
                                ir.Constant(self.i32, locality), ir.Constant(self.i32, 1)])

    @contextmanager
    def rows_of(self, wa, i0, i1, cols, write):
        """A loop over rows i0 ≤ i < i1 of W: yields (i, row i's vectors at ``cols``). Hints
        ahead: ``cols`` PREFETCH_ROWS rows on, to L1; the next tile's columns in row i, to L2
        (rows of W lie 4 kB apart, past the hardware's stride prefetchers, which stop at 4 kB
        pages); ``write`` for rows that will be stored."""
        b = self.builder
        with cgutils.for_range(b, b.sub(i1, i0)) as loop:
            i = b.add(i0, loop.index)
            ahead = b.add(i, self.const(PREFETCH_ROWS))
            for c in cols:
                self.prefetch(wa, ahead, c, write, 3)
                self.prefetch(wa, i, b.add(c, self.const(len(cols) * self.lanes)), write, 2)
            yield i, [self.load(wa, i, c) for c in cols]

    def accumulators(self, R, V):
        """An (R, V) tile of zero vectors, as allocas that mem2reg turns into registers."""
        tile = [[cgutils.alloca_once(self.builder, self.vty) for _ in range(V)]
                for _ in range(R)]
        for a in sum(tile, []):
            self.builder.store(ir.Constant(self.vty, None), a)
        return tile

    def rows_switch(self, rows, emit):
        """``emit(R)`` for R = ``rows`` in 1 .. TILE_ROWS, by a switch: each R gets its own
        loop, its tile a fixed set of registers."""
        b = self.builder
        end = b.append_basic_block("tile.end")
        switch = b.switch(rows, end)
        for R in range(1, TILE_ROWS + 1):
            block = b.append_basic_block(f"tile.rows{R}")
            switch.add_case(ir.Constant(self.intp, R), block)
            b.position_at_end(block)
            emit(R)
            b.branch(end)
        b.position_at_end(end)


def _tile_intrinsic(vectors: int, emit, doc: str):
    """A Numba intrinsic ``tile(a, b, c, r0, rows, i0, i1, j0)`` (three 2-D arrays, then
    integers) whose code for R = ``rows`` is ``emit(vec, (a, b, c), r0, R, i0, i1, cols)``,
    cols the ``vectors`` column indices of its vectors from j0."""

    @intrinsic
    def tile(typingctx, a, b, c, r0, rows, i0, i1, j0):
        def codegen(context, builder, signature, args):
            vec = _Vectors(context, builder, signature.args[0].dtype)
            arrays = tuple(vec.array(t, v) for t, v in zip(signature.args[:3], args[:3]))
            r0v, rowsv, i0v, i1v, j0v = args[3:]
            cols = [builder.add(j0v, vec.const(v * vec.lanes)) for v in range(vectors)]
            vec.rows_switch(rowsv, lambda R: emit(vec, arrays, r0v, R, i0v, i1v, cols))
            return context.get_dummy_value()

        return types.void(a, b, c, r0, rows, i0, i1, j0), codegen

    tile.__doc__ = doc
    return tile


def _product(vec, arrays, r0, R, i0, i1, cols):
    """out[r0 + r, cols] = Σ_i z[r0 + r, i] W[i, cols], r < R: the tile in registers, one FMA
    chain per element over i in order."""
    (za, wa, oa), b = arrays, vec.builder
    zrows = [b.add(r0, vec.const(r)) for r in range(R)]
    acc = vec.accumulators(R, len(cols))
    with vec.rows_of(wa, i0, i1, cols, write=False) as (i, w):
        for r in range(R):
            x = vec.splat(za, zrows[r], i)
            for v, a in enumerate(acc[r]):
                b.store(vec.fma(x, w[v], b.load(a)), a)
    for r in range(R):
        for v, a in enumerate(acc[r]):
            vec.store(b.load(a), oa, zrows[r], cols[v])


def _update(vec, arrays, r0, R, i0, i1, cols):
    """W[i, cols] += Σ_r c[r0 + r, i] d[r0 + r, cols], r < R: the tile of d in registers, one
    FMA chain per element from W's old value over r in order."""
    (ca, da, wa), b = arrays, vec.builder
    drows = [b.add(r0, vec.const(r)) for r in range(R)]
    dv = [[vec.load(da, row, c) for c in cols] for row in drows]
    with vec.rows_of(wa, i0, i1, cols, write=True) as (i, w):
        for r in range(R):
            x = vec.splat(ca, drows[r], i)
            w = [vec.fma(x, dv[r][v], w[v]) for v in range(len(cols))]
        for v, c in enumerate(cols):
            vec.store(w[v], wa, i, c)


def product_tile(vectors: int):
    return _tile_intrinsic(vectors, _product, """\
    ``tile(z, W, out, r0, rows, i0, i1, j0)``: for r in [r0, r0 + rows) and the ``vectors``
    vectors of columns from j0, out[r, cols] = Σ_{i0 ≤ i < i1} z[r, i] W[i, cols] (one FMA chain
    per element, i in order).  z: (B, n_in); W: (n_in, n); out: (B, n); 1 ≤ rows ≤ TILE_ROWS
    (any other value computes nothing); j0 + vectors lanes ≤ n.""")


def update_tile(vectors: int):
    return _tile_intrinsic(vectors, _update, """\
    ``tile(c, d, W, r0, rows, i0, i1, j0)``: for i in [i0, i1) and the ``vectors`` vectors of
    columns from j0, W[i, cols] += Σ_{r0 ≤ r < r0 + rows} c[r, i] d[r, cols] (one FMA chain per
    element from W's old value, r in order).  c: (B, n_in), the update's coefficients −lr z;
    d: (B, n), dC/ds; W: (n_in, n); 1 ≤ rows ≤ TILE_ROWS (any other value changes nothing);
    j0 + vectors lanes ≤ n.""")


two_vectors = product_tile(2)
one_vector = product_tile(1)
update_two_vectors = update_tile(2)
update_one_vector = update_tile(1)
