// The dense layer's matrix product (see dense_kernel.hpp). AVX-512 or AVX2+FMA when the build
// targets them (-march=native by default), a scalar std::fma loop otherwise; every path computes
// each element as the same chain of correctly rounded fused multiply-adds, so all give the same
// bits.
#include "nn/dense_kernel.hpp"

#include <algorithm>
#include <cmath>

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
constexpr int kRows = 8, kCols = 3;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kWidth = 4;
using Vec = __m256d;
inline Vec vload(const double* p) { return _mm256_loadu_pd(p); }
inline void vstore(double* p, Vec v) { _mm256_storeu_pd(p, v); }
inline Vec vset1(double v) { return _mm256_set1_pd(v); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
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
template <int R, int C>
inline void tile(Index k, const double* x, Index ldx, const double* p, Index ldp, const double* bias, double* y,
                 Index ldy, bool accumulate, int valid_last) {
  Vec acc[R][C];
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
  for (int c = 0; c < C; ++c) {
    const int valid = c == C - 1 ? valid_last : kWidth;
    for (int r = 0; r < R; ++r) {
      if (valid == kWidth)
        vstore(y + r * ldy + c * kWidth, acc[r][c]);
      else
        vstore_part(y + r * ldy + c * kWidth, acc[r][c], valid);
    }
  }
}

template <int C>
void column_block(Index rows, Index k, const double* x, Index ldx, const double* p, Index ldp, const double* bias,
                  double* y, Index ldy, bool accumulate, int valid_last) {
  Index r = 0;
  for (; r + kRows <= rows; r += kRows)
    tile<kRows, C>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, ldy, accumulate, valid_last);
  for (; r < rows; ++r) tile<1, C>(k, x + r * ldx, ldx, p, ldp, bias, y + r * ldy, ldy, accumulate, valid_last);
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
                   double* y, Index ldy, bool accumulate) {
  const Index np = padded_columns(n);
  const Index vectors = np / kWidth;
  // Column blocks of kCols vectors (the last block may be narrower); rows inside.
  for (Index v = 0; v < vectors; v += kCols) {
    const int c = static_cast<int>(std::min<Index>(kCols, vectors - v));
    const Index j = v * kWidth;
    const int valid_last = static_cast<int>(std::min<Index>(kWidth, n - (v + c - 1) * kWidth));
    const double* b = bias ? bias + j : nullptr;
    switch (c) {
      case 1:
        column_block<1>(rows, k, x, ldx, packed + j, np, b, y + j, ldy, accumulate, valid_last);
        break;
      case 2:
        column_block<2>(rows, k, x, ldx, packed + j, np, b, y + j, ldy, accumulate, valid_last);
        break;
      case 3:
        column_block<3>(rows, k, x, ldx, packed + j, np, b, y + j, ldy, accumulate, valid_last);
        break;
#if !defined(__AVX512F__) && !(defined(__AVX2__) && defined(__FMA__))
      case 4:
        column_block<4>(rows, k, x, ldx, packed + j, np, b, y + j, ldy, accumulate, valid_last);
        break;
#endif
      default:
        break;
    }
  }
}

}  // namespace unbox::detail
