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

// What dense_product applies to each value before it stores it (never with accumulate), bit for
// bit as the Activation op computes it: nothing, ReLU max(z, 0), or LeakyReLU max(z, alpha z)
// for 0 <= alpha <= 1. Fusing it saves a pass over the layer's output.
enum class StoreActivation { None, ReLU, LeakyReLU };

// Y = X P (+ bias when given), or Y += X P when accumulate. ldx, ldy: row strides.
void dense_product(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed, const double* bias,
                   double* y, Index ldy, bool accumulate, StoreActivation activation = StoreActivation::None,
                   double alpha = 0.0);

// Y = X P + bias and, in `activated` (the same row stride), the activation of Y: a Dense whose
// value is kept (LRP reads both) computed with its activation in one pass.
void dense_product_keep(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed,
                        const double* bias, double* y, double* activated, Index ldy, StoreActivation activation,
                        double alpha = 0.0);

// Y = S .* (X P) (elementwise, S laid out as Y), no bias: LRP's x * (J^T s) in the kernel's store.
// Each element the bits of (X P) * S computed apart.
void dense_product_scaled(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed,
                          const double* scale, double* y, Index ldy);

// The same without bias or activation, for a sub-block of a packed matrix: `packed` points at
// its first column, rows `ldp` doubles apart (ldp a multiple of padded_columns(1), the SIMD
// width; columns from packed up to the padding of n must be readable).
void dense_product_ld(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed, Index ldp,
                      double* y, Index ldy, bool accumulate);

// The packed weights of a layer, per thread, kept between tiles and calls (packing, a strided
// transpose, costs about as much as a narrow layer's product): P = W^T for W [rows x cols] when
// transposed, else P = W; 64-byte aligned. An entry is reused only while a copy of the weights it
// was packed from still equals them (a sequential compare, far cheaper than packing), so
// training, which changes the weights in place, always gets fresh packs. `owner` tells layers
// apart. The cache holds 64 packs per thread and replaces the least recently used one, so the
// pointer stays valid until 64 other packs have been made on this thread: a caller may keep the
// pointers of up to 32 packs it uses in one call (evaluate, LRP), hits from earlier calls included.
const double* packed_weights(const void* owner, const Tensor& w, Index rows, Index cols, bool transposed);

// Benchmarks and tests only: when true, Dense uses the previous Eigen GEMM path instead (for
// A/B measurements in one process and for checking the kernel against it). Not thread-safe
// to change while a computation runs.
extern bool use_reference_dense;

}  // namespace unbox::detail
