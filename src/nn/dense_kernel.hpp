// The dense layer's matrix product, written for the engine's shapes (internal header).
//
//   Y[rows x n] (=, or +=) X[rows x k] * P[k x n] (+ bias)
//
// with X, Y row-major (one event, or one event's tangent, per row) and P row-major. The
// engine multiplies a tile of a few hundred events by a weight matrix of at most a few hundred
// columns, a shape where a general GEMM spends much of its time packing both operands for
// every call; here X is read in place, P is packed once per call into rows padded to a whole
// number of SIMD vectors, and a register tile of R rows x C vectors accumulates over k.
// Each Y element is one chain of fused multiply-adds in the order k = 0, 1, ..., started from
// the bias (or from Y when accumulating): the value of an element does not depend on how the
// rows are grouped into tiles, so the results do not depend on the tile size or thread count.
#pragma once

#include "unbox/tensor.hpp"

namespace unbox::detail {

// P packed for dense_product: k rows of `padded_columns(n)` doubles, zero beyond column n.
Index padded_columns(Index n);

// Packs P = W^T for W [n x k] row-major (a Dense weight): out [k x padded_columns(n)].
void pack_transposed(const double* w, Index n, Index k, double* out);
// Packs P = W for W [k x n] row-major: out [k x padded_columns(n)].
void pack_rows(const double* w, Index k, Index n, double* out);

// Y = X P (+ bias when given), or Y += X P when accumulate. ldx, ldy: row strides.
void dense_product(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed, const double* bias,
                   double* y, Index ldy, bool accumulate);

// Benchmarks and tests only: when true, Dense uses the previous Eigen GEMM path instead (for
// A/B measurements in one process and for checking the kernel against it). Not thread-safe
// to change while a computation runs.
extern bool use_reference_dense;

}  // namespace unbox::detail
