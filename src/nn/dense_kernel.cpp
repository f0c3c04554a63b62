// The dense layer's matrix product (see dense_kernel.hpp). AVX-512 or AVX2+FMA when the build
// targets them (-march=native by default), a scalar std::fma loop otherwise; every path computes
// each element as the same chain of correctly rounded fused multiply-adds, so all give the same
// bits.
#include "nn/dense_kernel.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace unbox::detail {

namespace {

#if defined(__AVX512F__)
constexpr int kWidth = 8;
using Vec = __m512d;
inline Vec vload(const double* p) { return _mm512_loadu_pd(p); }
inline void vstore(double* p, Vec v) { _mm512_storeu_pd(p, v); }
inline Vec vset1(double v) { return _mm512_set1_pd(v); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
inline Vec vload_part(const double* p, int n) { return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1), p); }
inline void vstore_part(double* p, Vec v, int n) { _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << n) - 1), v); }
// Eigen's pmax(a, b) is _mm512_max_pd(b, a) (std::max's NaN and signed-zero behaviour).
// (The zero-masked form: GCC 12 warns about the undefined pass-through of _mm512_max_pd.)
inline Vec vmax_eigen(Vec a, Vec b) { return _mm512_maskz_max_pd(static_cast<__mmask8>(0xff), b, a); }
inline Vec vmul(Vec a, Vec b) { return _mm512_mul_pd(a, b); }
constexpr int kRows = 8, kCols = 3;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kWidth = 4;
using Vec = __m256d;
inline Vec vload(const double* p) { return _mm256_loadu_pd(p); }
inline void vstore(double* p, Vec v) { _mm256_storeu_pd(p, v); }
inline Vec vset1(double v) { return _mm256_set1_pd(v); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
inline Vec vmax_eigen(Vec a, Vec b) { return _mm256_max_pd(b, a); }
inline Vec vmul(Vec a, Vec b) { return _mm256_mul_pd(a, b); }
constexpr int kRows = 4, kCols = 3;
inline Vec vload_part(const double* p, int n) {
  double buf[kWidth] = {};
  std::copy_n(p, n, buf);
  return vload(buf);
}
inline void vstore_part(double* p, Vec v, int n) {
  double buf[kWidth];
  vstore(buf, v);
  std::copy_n(buf, n, p);
}
#else
constexpr int kWidth = 1;
using Vec = double;
inline Vec vload(const double* p) { return *p; }
inline void vstore(double* p, Vec v) { *p = v; }
inline Vec vset1(double v) { return v; }
inline Vec vfma(Vec a, Vec b, Vec c) { return std::fma(a, b, c); }
inline Vec vmax_eigen(Vec a, Vec b) { return std::max(a, b); }
inline Vec vmul(Vec a, Vec b) { return a * b; }
constexpr int kRows = 4, kCols = 4;
inline Vec vload_part(const double* p, int n) {
  double buf[kWidth] = {};
  std::copy_n(p, n, buf);
  return vload(buf);
}
inline void vstore_part(double* p, Vec v, int n) {
  double buf[kWidth];
  vstore(buf, v);
  std::copy_n(buf, n, p);
}
#endif

// R rows x C vectors of Y starting at column j (a multiple of kWidth); `valid` columns of the
// last vector are real (the others are padding, computed but not stored).
template <StoreActivation A>
inline Vec activate(Vec z, Vec alpha) {
  if constexpr (A == StoreActivation::ReLU) return vmax_eigen(z, vset1(0.0));
  if constexpr (A == StoreActivation::LeakyReLU) return vmax_eigen(z, vmul(alpha, z));
  return z;
}

// The R x C register tile of y = start + x P over k: start is y itself when accumulating,
// else the bias (or 0); the last column block holds valid_last lanes.
template <int R, int C>
[[gnu::always_inline]] inline void tile_product(Vec (&acc)[R][C], Index k, const double* x, Index ldx, const double* p,
                                                Index ldp, const double* bias, const double* y, Index ldy,
                                                bool accumulate, int valid_last) {
  for (int c = 0; c < C; ++c) {
    const int valid = c == C - 1 ? valid_last : kWidth;
    for (int r = 0; r < R; ++r) {
      const double* from = accumulate ? y + r * ldy + c * kWidth : bias ? bias + c * kWidth : nullptr;
      if (!from)
        acc[r][c] = vset1(0.0);
      else if (valid == kWidth)
        acc[r][c] = vload(from);
      else
        acc[r][c] = vload_part(from, valid);
    }
  }
  for (Index i = 0; i < k; ++i) {
    Vec w[C];
    for (int c = 0; c < C; ++c) w[c] = vload(p + i * ldp + c * kWidth);
    for (int r = 0; r < R; ++r) {
      const Vec xv = vset1(x[r * ldx + i]);
      for (int c = 0; c < C; ++c) acc[r][c] = vfma(xv, w[c], acc[r][c]);
    }
  }
}

template <int R, int C>
[[gnu::always_inline]] inline void tile_store(const Vec (&acc)[R][C], double* to, Index ldy, int valid_last) {
  for (int c = 0; c < C; ++c) {
    const int valid = c == C - 1 ? valid_last : kWidth;
    for (int r = 0; r < R; ++r) {
      if (valid == kWidth)
        vstore(to + r * ldy + c * kWidth, acc[r][c]);
      else
        vstore_part(to + r * ldy + c * kWidth, acc[r][c], valid);
    }
  }
}

template <int R, int C, StoreActivation A>
inline void tile(Index k, const double* x, Index ldx, const double* p, Index ldp, const double* bias, double* y,
                 Index ldy, bool accumulate, int valid_last, double alpha) {
  Vec acc[R][C];
  tile_product<R, C>(acc, k, x, ldx, p, ldp, bias, y, ldy, accumulate, valid_last);
  if constexpr (A != StoreActivation::None) {
    const Vec a = vset1(alpha);
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) acc[r][c] = activate<A>(acc[r][c], a);
  }
  tile_store<R, C>(acc, y, ldy, valid_last);
}

// tile() for dense_product_keep and dense_product_scaled (a separate function, so the plain
// product's code stays as it was): with y2 (and an activation) y receives the values before the
// activation, y2 after it; with scale, y = scale * (x P) elementwise.
template <int R, int C, StoreActivation A>
inline void tile_extra(Index k, const double* x, Index ldx, const double* p, Index ldp, const double* bias, double* y,
                       double* y2, const double* scale, Index ldy, bool accumulate, int valid_last, double alpha) {
  Vec acc[R][C];
  tile_product<R, C>(acc, k, x, ldx, p, ldp, bias, y, ldy, accumulate, valid_last);
  if (scale) {  // y = scale (elementwise) * (x P), scale laid out as y
    for (int c = 0; c < C; ++c) {
      const int valid = c == C - 1 ? valid_last : kWidth;
      for (int r = 0; r < R; ++r) {
        const double* sp = scale + r * ldy + c * kWidth;
        acc[r][c] = vmul(acc[r][c], valid == kWidth ? vload(sp) : vload_part(sp, valid));
      }
    }
  }
  auto store = [&](double* to) { tile_store<R, C>(acc, to, ldy, valid_last); };
  if constexpr (A != StoreActivation::None) {
    if (y2) {
      store(y);
      y = y2;
    }
    const Vec a = vset1(alpha);
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) acc[r][c] = activate<A>(acc[r][c], a);
  }
  store(y);
}

template <int C, StoreActivation A, bool Extra>
void column_block(Index rows, Index k, const double* x, Index ldx, const double* p, Index ldp, const double* bias,
                  double* y, double* y2, const double* scale, Index ldy, bool accumulate, int valid_last,
                  double alpha) {
  auto y2_at = [&](Index r) { return y2 ? y2 + r * ldy : nullptr; };
  auto sc_at = [&](Index r) { return scale ? scale + r * ldy : nullptr; };
  Index r = 0;
  for (; r + kRows <= rows; r += kRows) {
    if constexpr (Extra)
      tile_extra<kRows, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, y2_at(r), sc_at(r), ldy, accumulate,
                              valid_last, alpha);
    else
      tile<kRows, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, ldy, accumulate, valid_last, alpha);
  }
  // The remainder in tiles of 4, 2 and 1 rows (per-event products have row counts like 30).
  if constexpr (kRows > 4) {
    if (r + 4 <= rows) {
      if constexpr (Extra)
        tile_extra<4, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, y2_at(r), sc_at(r), ldy, accumulate,
                            valid_last, alpha);
      else
        tile<4, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, ldy, accumulate, valid_last, alpha);
      r += 4;
    }
  }
  if (r + 2 <= rows) {
    if constexpr (Extra)
      tile_extra<2, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, y2_at(r), sc_at(r), ldy, accumulate,
                          valid_last, alpha);
    else
      tile<2, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, ldy, accumulate, valid_last, alpha);
    r += 2;
  }
  if (r < rows) {
    if constexpr (Extra)
      tile_extra<1, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, y2_at(r), sc_at(r), ldy, accumulate,
                          valid_last, alpha);
    else
      tile<1, C, A>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, ldy, accumulate, valid_last, alpha);
  }
}

template <StoreActivation A, bool Extra = false>
void product(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed, Index np,
             const double* bias, double* y, double* y2, const double* scale, Index ldy, bool accumulate, double alpha) {
  const Index vectors = padded_columns(n) / kWidth;
  // Column blocks of kCols vectors; when that would leave a last block of one vector, the last
  // two blocks share their vectors (a block of one vector does too little work per load).
  for (Index v = 0; v < vectors;) {
    Index left = vectors - v;
    int c = static_cast<int>(std::min<Index>(kCols, left));
    if (kCols == 3 && left == 4) c = 2;
    const Index j = v * kWidth;
    const int valid_last = static_cast<int>(std::min<Index>(kWidth, n - (v + c - 1) * kWidth));
    const double* b = bias ? bias + j : nullptr;
    switch (c) {
      case 1:
        column_block<1, A, Extra>(rows, k, x, ldx, packed + j, np, b, y + j, y2 ? y2 + j : nullptr,
                                  scale ? scale + j : nullptr, ldy, accumulate, valid_last, alpha);
        break;
      case 2:
        column_block<2, A, Extra>(rows, k, x, ldx, packed + j, np, b, y + j, y2 ? y2 + j : nullptr,
                                  scale ? scale + j : nullptr, ldy, accumulate, valid_last, alpha);
        break;
      case 3:
        column_block<3, A, Extra>(rows, k, x, ldx, packed + j, np, b, y + j, y2 ? y2 + j : nullptr,
                                  scale ? scale + j : nullptr, ldy, accumulate, valid_last, alpha);
        break;
#if !defined(__AVX512F__) && !(defined(__AVX2__) && defined(__FMA__))
      case 4:
        column_block<4, A, Extra>(rows, k, x, ldx, packed + j, np, b, y + j, y2 ? y2 + j : nullptr,
                                  scale ? scale + j : nullptr, ldy, accumulate, valid_last, alpha);
        break;
#endif
      default:
        break;
    }
    v += c;
  }
}

}  // namespace

bool use_reference_dense = false;

Index padded_columns(Index n) { return (n + kWidth - 1) / kWidth * kWidth; }

void pack_transposed(const double* w, Index n, Index k, double* out) {
  const Index np = padded_columns(n);
  for (Index i = 0; i < k; ++i) {
    double* row = out + i * np;
    for (Index j = 0; j < n; ++j) row[j] = w[j * k + i];
    std::fill(row + n, row + np, 0.0);
  }
}

void pack_rows(const double* w, Index k, Index n, double* out) {
  const Index np = padded_columns(n);
  for (Index i = 0; i < k; ++i) {
    std::copy_n(w + i * n, n, out + i * np);
    std::fill(out + i * np + n, out + (i + 1) * np, 0.0);
  }
}

void dense_product(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed, const double* bias,
                   double* y, Index ldy, bool accumulate, StoreActivation activation, double alpha) {
  if (accumulate) activation = StoreActivation::None;
  const Index np = padded_columns(n);
  switch (activation) {
    case StoreActivation::None:
      return product<StoreActivation::None>(rows, k, n, x, ldx, packed, np, bias, y, nullptr, nullptr, ldy, accumulate,
                                            alpha);
    case StoreActivation::ReLU:
      return product<StoreActivation::ReLU>(rows, k, n, x, ldx, packed, np, bias, y, nullptr, nullptr, ldy, accumulate,
                                            alpha);
    case StoreActivation::LeakyReLU:
      return product<StoreActivation::LeakyReLU>(rows, k, n, x, ldx, packed, np, bias, y, nullptr, nullptr, ldy,
                                                 accumulate, alpha);
  }
}

void dense_product_keep(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed,
                        const double* bias, double* y, double* activated, Index ldy, StoreActivation activation,
                        double alpha) {
  const Index np = padded_columns(n);
  switch (activation) {
    case StoreActivation::None:
      product<StoreActivation::None>(rows, k, n, x, ldx, packed, np, bias, y, nullptr, nullptr, ldy, false, alpha);
      for (Index r = 0; r < rows; ++r) std::copy_n(y + r * ldy, n, activated + r * ldy);
      return;
    case StoreActivation::ReLU:
      return product<StoreActivation::ReLU, true>(rows, k, n, x, ldx, packed, np, bias, y, activated, nullptr, ldy,
                                                  false, alpha);
    case StoreActivation::LeakyReLU:
      return product<StoreActivation::LeakyReLU, true>(rows, k, n, x, ldx, packed, np, bias, y, activated, nullptr, ldy,
                                                       false, alpha);
  }
}

void dense_product_ld(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed, Index ldp,
                      double* y, Index ldy, bool accumulate) {
  product<StoreActivation::None>(rows, k, n, x, ldx, packed, ldp, nullptr, y, nullptr, nullptr, ldy, accumulate, 0.0);
}

void dense_product_scaled(Index rows, Index k, Index n, const double* x, Index ldx, const double* packed,
                          const double* scale, double* y, Index ldy) {
  product<StoreActivation::None, true>(rows, k, n, x, ldx, packed, padded_columns(n), nullptr, y, nullptr, scale, ldy,
                                       false, 0.0);
}

namespace {
struct PackEntry {
  const void* owner = nullptr;
  bool transposed = false;
  uint64_t used = 0;  // the cache's clock at the last use
  std::vector<double> raw;
  std::vector<double, Eigen::aligned_allocator<double>> packed;  // aligned: whole-line weight loads
};
}  // namespace

const double* packed_weights(const void* owner, const Tensor& w, Index rows, Index cols, bool transposed) {
  // Least recently used replacement: an entry used since the last 64 misses is never replaced,
  // so a caller that keeps the pointers of at most 32 packs for one call (evaluate, LRP) keeps
  // valid pointers even when some of them were found in the cache from an earlier call.
  thread_local std::vector<PackEntry> cache;
  thread_local uint64_t clock = 0;
  const size_t n = static_cast<size_t>(w.size());
  for (PackEntry& e : cache)
    if (e.owner == owner && e.transposed == transposed && e.raw.size() == n &&
        std::equal(e.raw.begin(), e.raw.end(), w.data())) {
      e.used = ++clock;
      return e.packed.data();
    }
  constexpr size_t kEntries = 64;
  PackEntry* e;
  if (cache.size() < kEntries) {
    e = &cache.emplace_back();
  } else {
    e = &*std::min_element(cache.begin(), cache.end(),
                           [](const PackEntry& a, const PackEntry& b) { return a.used < b.used; });
  }
  e->used = ++clock;
  e->owner = owner;
  e->transposed = transposed;
  e->raw.assign(w.data(), w.data() + n);
  e->packed.resize(static_cast<size_t>((transposed ? cols : rows) * padded_columns(transposed ? rows : cols)));
  if (transposed)
    pack_transposed(w.data(), rows, cols, e->packed.data());
  else
    pack_rows(w.data(), rows, cols, e->packed.data());
  return e->packed.data();
}

}  // namespace unbox::detail
