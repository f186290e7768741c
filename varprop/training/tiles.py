"""Register tiles of the forward pass's product z W (eq. 1's pre-activation s = z W + b),
written in LLVM IR because Numba cannot express them.

A tile is R minibatch rows × two vectors of columns of the product, held in vector registers
while the rows of a block of W stream past: each row of W gives two vector loads, R broadcasts
of z and 2R fused multiply-adds, with no load or store of the tile inside the loop. Numba's
own loops keep a partial sum in memory and load and store it for every few rows of W (about
half the FMA rate on this machine's Zen 5, docs/train.md). Written as a loop over a (R, 2)
block of scalars, Numba would need LLVM's SLP vectorizer to turn the scalars into vectors, and
Numba turns it off (``NUMBA_SLP_VECTORIZE=0``); so ``tile`` emits the vectors itself.

The vector width follows the CPU Numba compiles for (``VECTOR_BYTES``): 64 bytes where it has
AVX-512, whose 32 registers hold tiles of up to ``TILE_ROWS`` = 10 rows (20 accumulators, 2
loads of W, 1 broadcast); else 32 bytes, 5 rows (16 registers). Each element is one chain of
FMAs over the rows of W in order, so its bits do not depend on the thread that runs it."""
from __future__ import annotations

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
PREFETCH_ROWS = 16


def _tile(vectors: int):
    """The intrinsic ``tile(z, W, out, r0, rows, i0, i1, j0)``: for r in [r0, r0 + rows) and
    the ``vectors`` vectors of columns from j0, out[r, cols] = Σ_{i0 ≤ i < i1} z[r, i] W[i, cols]
    (one FMA chain per element, i in order).  z: (B, n_in); W: (n_in, n); out: (B, n);
    1 ≤ rows ≤ TILE_ROWS (any other value computes nothing); j0 + vectors lanes ≤ n."""

    @intrinsic
    def tile(typingctx, z, W, out, r0, rows, i0, i1, j0):
        sig = types.void(z, W, out, r0, rows, i0, i1, j0)

        def codegen(context, builder, signature, args):
            zt, wt, ot = signature.args[:3]
            za, wa, oa = (context.make_array(t)(context, builder, a)
                          for t, a in zip((zt, wt, ot), args[:3]))
            r0v, rowsv, i0v, i1v, j0v = args[3:]
            intp = context.get_value_type(types.intp)
            lanes = VECTOR_BYTES // (zt.dtype.bitwidth // 8)
            vty = ir.VectorType(context.get_data_type(zt.dtype), lanes)
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty] * 3),
                f"llvm.fma.v{lanes}f{zt.dtype.bitwidth}")
            i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
            prefetch = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0")
            row_bytes = builder.extract_value(wa.strides, 0)
            w_base = builder.ptrtoint(wa.data, intp)

            def fetch(row, col, locality):
                """Prefetch W[row, col]'s line for reading (plain address arithmetic: a hint
                may point past the array)."""
                at = builder.add(builder.add(w_base, builder.mul(row, row_bytes)),
                                 builder.mul(col, ir.Constant(intp, zt.dtype.bitwidth // 8)))
                builder.call(prefetch, [builder.inttoptr(at, i8p), ir.Constant(i32, 0),
                                        ir.Constant(i32, locality), ir.Constant(i32, 1)])

            undef = ir.Constant(vty, ir.Undefined)
            splat = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
            cols = [builder.add(j0v, ir.Constant(intp, v * lanes)) for v in range(vectors)]

            def vector_at(aryty, ary, row, col):
                ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [row, col])
                return builder.bitcast(ptr, vty.as_pointer())

            def emit(R):
                """The loop for a tile of R rows; its accumulators become registers (mem2reg)."""
                rows_r = [builder.add(r0v, ir.Constant(intp, r)) for r in range(R)]
                acc = [[cgutils.alloca_once(builder, vty) for _ in range(vectors)]
                       for _ in range(R)]
                for a in sum(acc, []):
                    builder.store(ir.Constant(vty, None), a)
                with cgutils.for_range(builder, builder.sub(i1v, i0v)) as loop:
                    i = builder.add(i0v, loop.index)
                    # this tile's columns PREFETCH_ROWS rows on (to L1), the next tile's in
                    # this row (to L2): rows of W lie 4 kB apart, past the hardware's stride
                    # prefetchers, which stop at 4 kB pages
                    ahead = builder.add(i, ir.Constant(intp, PREFETCH_ROWS))
                    for c in cols:
                        fetch(ahead, c, 3)
                        fetch(i, builder.add(c, ir.Constant(intp, vectors * lanes)), 2)
                    w = [builder.load(vector_at(wt, wa, i, c), align=1) for c in cols]
                    for r in range(R):
                        x = builder.load(cgutils.get_item_pointer(context, builder, zt, za,
                                                                  [rows_r[r], i]))
                        x = builder.shuffle_vector(
                            builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0)),
                            undef, splat)
                        for v in range(vectors):
                            builder.store(builder.call(fma, [x, w[v], builder.load(acc[r][v])]),
                                          acc[r][v])
                for r in range(R):
                    for v in range(vectors):
                        builder.store(builder.load(acc[r][v]),
                                      vector_at(ot, oa, rows_r[r], cols[v]), align=1)

            end = builder.append_basic_block("tile.end")
            switch = builder.switch(rowsv, end)
            for R in range(1, TILE_ROWS + 1):
                block = builder.append_basic_block(f"tile.rows{R}")
                switch.add_case(ir.Constant(intp, R), block)
                builder.position_at_end(block)
                emit(R)
                builder.branch(end)
            builder.position_at_end(end)
            return context.get_dummy_value()

        return sig, codegen

    return tile


two_vectors = _tile(2)
one_vector = _tile(1)
