// Convolution over 1 or 2 spatial axes (and the Window geometry shared with pooling).
// Per event and group: im2col into a [K, P] matrix (K = channels per group x kernel
// positions, P = output positions), then one GEMM with the group's [out/groups, K]
// weights. A 1-D convolution runs as a 2-D one with height 1.
#include <fmt/format.h>

#include <cmath>

#include "unbox/ops.hpp"

namespace unbox {

// ---------------------------------------------------------------------- Window

void Window::check(const std::string& what) const {
  const size_t n = kernel.size();
  if (n < 1 || n > 2) throw Error(fmt::format("{}: only 1-D and 2-D windows are supported, got {} axes", what, n));
  if (strides.size() != n || dilations.size() != n || pads.size() != 2 * n)
    throw Error(fmt::format("{}: kernel, strides, dilations and pads disagree in length", what));
  for (size_t d = 0; d < n; ++d)
    if (kernel[d] < 1 || strides[d] < 1 || dilations[d] < 1 || pads[d] < 0 || pads[d + n] < 0)
      throw Error(fmt::format("{}: kernel, strides and dilations must be positive, pads non-negative", what));
}

Index Window::out_size(Index d, Index n) const {
  const Index span = dilations[static_cast<size_t>(d)] * (kernel[static_cast<size_t>(d)] - 1) + 1;
  const Index padded = n + pads[static_cast<size_t>(d)] + pads[static_cast<size_t>(d + spatial())];
  const Index s = strides[static_cast<size_t>(d)];
  if (padded < span)
    throw Error(fmt::format("window of extent {} does not fit an axis of length {} (padded {})", span, n, padded));
  Index out = ceil_mode ? (padded - span + s - 1) / s + 1 : (padded - span) / s + 1;
  // PyTorch's rule with ceil_mode: the last window must start inside the input or the
  // begin padding, not in the end padding.
  if (ceil_mode && (out - 1) * s >= n + pads[static_cast<size_t>(d)]) --out;
  return out;
}

nlohmann::json Window::to_json() const {
  return {{"kernel", kernel}, {"strides", strides}, {"pads", pads}, {"dilations", dilations}, {"ceil_mode", ceil_mode}};
}

Window Window::from_json(const nlohmann::json& a, Index spatial) {
  Window w;
  w.kernel = a.at("kernel").get<std::vector<Index>>();
  const Index n = spatial > 0 ? spatial : static_cast<Index>(w.kernel.size());
  w.strides = a.value("strides", std::vector<Index>(static_cast<size_t>(n), 1));
  w.pads = a.value("pads", std::vector<Index>(static_cast<size_t>(2 * n), 0));
  w.dilations = a.value("dilations", std::vector<Index>(static_cast<size_t>(n), 1));
  w.ceil_mode = a.value("ceil_mode", false);
  return w;
}

namespace {
// The geometry of one convolution or pooling on [C, H, W] events (H = 1 for 1-D).
struct Geometry {
  Index C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
  Geometry(const Window& w, const Shape& event_in) {
    const bool two = w.spatial() == 2;
    C = event_in[0];
    H = two ? event_in[1] : 1;
    W = event_in.back();
    kh = two ? w.kernel[0] : 1;
    kw = w.kernel.back();
    sh = two ? w.strides[0] : 1;
    sw = w.strides.back();
    ph = two ? w.pads[0] : 0;
    pw = two ? w.pads[1] : w.pads[0];
    dh = two ? w.dilations[0] : 1;
    dw = w.dilations.back();
    OH = two ? w.out_size(0, H) : 1;
    OW = w.out_size(two ? 1 : 0, W);
  }
  Index P() const { return OH * OW; }
};

Shape spatial_output(const Window& w, const Shape& in, Index channels, const std::string& what) {
  if (static_cast<Index>(in.size()) != w.spatial() + 1)
    throw Error(fmt::format("{} with {} spatial axes needs per-event shape [channels, ...{} axes], got {}", what,
                            w.spatial(), w.spatial(), shape_string(in)));
  Shape out{channels};
  for (Index d = 0; d < w.spatial(); ++d) out.push_back(w.out_size(d, in[static_cast<size_t>(d + 1)]));
  return out;
}

// col[(c*kh + i)*kw + j, oh*OW + ow] = x[c0 + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside).
void im2col(const Geometry& g, const double* x, Index c0, Index cn, double* col) {
  const Index P = g.P();
  for (Index c = 0; c < cn; ++c)
    for (Index i = 0; i < g.kh; ++i)
      for (Index j = 0; j < g.kw; ++j) {
        double* row = col + ((c * g.kh + i) * g.kw + j) * P;
        const double* xc = x + (c0 + c) * g.H * g.W;
        for (Index oh = 0; oh < g.OH; ++oh) {
          const Index h = oh * g.sh - g.ph + i * g.dh;
          double* r = row + oh * g.OW;
          if (h < 0 || h >= g.H) {
            std::fill_n(r, g.OW, 0.0);
            continue;
          }
          const double* xr = xc + h * g.W;
          for (Index ow = 0; ow < g.OW; ++ow) {
            const Index w = ow * g.sw - g.pw + j * g.dw;
            r[ow] = (w >= 0 && w < g.W) ? xr[w] : 0.0;
          }
        }
      }
}

// The adjoint of im2col: adds col back into gx.
void col2im_add(const Geometry& g, const double* col, Index c0, Index cn, double* gx) {
  const Index P = g.P();
  for (Index c = 0; c < cn; ++c)
    for (Index i = 0; i < g.kh; ++i)
      for (Index j = 0; j < g.kw; ++j) {
        const double* row = col + ((c * g.kh + i) * g.kw + j) * P;
        double* gc = gx + (c0 + c) * g.H * g.W;
        for (Index oh = 0; oh < g.OH; ++oh) {
          const Index h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.H) continue;
          const double* r = row + oh * g.OW;
          double* gr = gc + h * g.W;
          for (Index ow = 0; ow < g.OW; ++ow) {
            const Index w = ow * g.sw - g.pw + j * g.dw;
            if (w >= 0 && w < g.W) gr[w] += r[ow];
          }
        }
      }
}
}  // namespace

// ------------------------------------------------------------------------ Conv

Conv::Conv(Index in_channels, Index out_channels, Window window, Index groups)
    : in_(in_channels), out_(out_channels), groups_(groups), window_(std::move(window)) {
  window_.check("Conv");
  window_.ceil_mode = false;
  if (in_ <= 0 || out_ <= 0 || groups_ <= 0 || in_ % groups_ != 0 || out_ % groups_ != 0)
    throw Error(fmt::format("Conv: channels {} -> {} must be positive multiples of groups {}", in_, out_, groups_));
  Shape ws{out_, in_ / groups_};
  ws.insert(ws.end(), window_.kernel.begin(), window_.kernel.end());
  weight_ = Tensor(ws);
  bias_ = Tensor({out_});
}

Shape Conv::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error("Conv takes one input");
  if (!in[0].empty() && in[0][0] != in_)
    throw Error(fmt::format("Conv for {} input channels fed per-event shape {}", in_, shape_string(in[0])));
  return spatial_output(window_, in[0], out_, "Conv");
}

void Conv::run(const Tensor& x, Tensor& y, bool with_bias) const {
  const Index batch = x.events();
  const Geometry g(window_, x.event_shape());
  const Index cg = in_ / groups_, og = out_ / groups_, K = cg * g.kh * g.kw, P = g.P();
  // One im2col buffer per call, reused for every event and group.
  MatrixRM col(K, P);
  ConstMatrixMap w(weight_.data(), out_, K);
  for (Index e = 0; e < batch; ++e) {
    const double* xe = x.data() + e * in_ * g.H * g.W;
    double* ye = y.data() + e * out_ * P;
    for (Index gr = 0; gr < groups_; ++gr) {
      im2col(g, xe, gr * cg, cg, col.data());
      MatrixMap yg(ye + gr * og * P, og, P);
      if (with_bias)
        yg = Eigen::Map<const Eigen::VectorXd>(bias_.data() + gr * og, og).replicate(1, P);
      else
        yg.setZero();
      yg.noalias() += w.middleRows(gr * og, og) * col;
    }
  }
}

void Conv::forward(const std::vector<const Tensor*>& in, Tensor& out) const { run(*in[0], out, true); }

void Conv::apply_tangent(const std::vector<const Tensor*>&, const Tensor&, const std::vector<const Tensor*>& tin,
                         Tensor& tout, Index) const {
  run(*tin[0], tout, false);  // the linear part: no bias
}

void Conv::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                    const std::vector<Tensor*>& gin, std::vector<Tensor>* pgrad) const {
  const Tensor& x = *in[0];
  const Index batch = x.events();
  const Geometry g(window_, x.event_shape());
  const Index cg = in_ / groups_, og = out_ / groups_, K = cg * g.kh * g.kw, P = g.P();
  MatrixRM col(K, P);
  ConstMatrixMap w(weight_.data(), out_, K);
  for (Index e = 0; e < batch; ++e) {
    const double* ge = gout.data() + e * out_ * P;
    for (Index gr = 0; gr < groups_; ++gr) {
      ConstMatrixMap gy(ge + gr * og * P, og, P);
      if (gin[0]) {
        col.noalias() = w.middleRows(gr * og, og).transpose() * gy;
        col2im_add(g, col.data(), gr * cg, cg, gin[0]->data() + e * in_ * g.H * g.W);
      }
      if (pgrad) {
        im2col(g, x.data() + e * in_ * g.H * g.W, gr * cg, cg, col.data());
        MatrixMap(((*pgrad)[0]).data(), out_, K).middleRows(gr * og, og).noalias() += gy * col.transpose();
      }
    }
    if (pgrad) {
      // Plain loops in a fixed order: the sum must not depend on buffer alignment.
      double* gb = (*pgrad)[1].data();
      for (Index o = 0; o < out_; ++o) {
        double s = 0;
        for (Index p = 0; p < P; ++p) s += ge[o * P + p];
        gb[o] += s;
      }
    }
  }
}

std::vector<Parameter> Conv::parameters() { return {{"weight", &weight_, true, true}, {"bias", &bias_, true, false}}; }

nlohmann::json Conv::attributes() const {
  nlohmann::json j = window_.to_json();
  j["in"] = in_;
  j["out"] = out_;
  j["groups"] = groups_;
  return j;
}

std::string Conv::describe(const std::vector<Shape>&) const {
  std::string k;
  for (size_t d = 0; d < window_.kernel.size(); ++d) k += (d ? "x" : "") + std::to_string(window_.kernel[d]);
  return fmt::format("Conv{}D {} -> {} k{}{}", window_.spatial(), in_, out_, k,
                     groups_ > 1 ? fmt::format(" g{}", groups_) : "");
}

// ------------------------------------------------------------------------ Pool

Pool::Pool(PoolKind kind, Window window, bool count_include_pad)
    : kind_(kind), window_(std::move(window)), count_include_pad_(count_include_pad) {
  window_.check(type());
}

Shape Pool::infer_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1) throw Error(type() + " takes one input");
  if (in[0].empty()) throw Error(type() + " needs a channel axis");
  return spatial_output(window_, in[0], in[0][0], type());
}

namespace {
// Calls f(out_index, in_index) for every valid input position of every window of one
// channel plane, and done(out_index, valid_count, padded_count) after each window.
template <class F, class D>
void for_windows(const Geometry& g, const Window& w, F f, D done) {
  const Index peh = w.spatial() == 2 ? w.pads[2] : 0, pew = w.pads.back();
  for (Index oh = 0; oh < g.OH; ++oh)
    for (Index ow = 0; ow < g.OW; ++ow) {
      const Index o = oh * g.OW + ow;
      const Index h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
      Index valid = 0;
      for (Index i = 0; i < g.kh; ++i) {
        const Index h = h0 + i * g.dh;
        if (h < 0 || h >= g.H) continue;
        for (Index j = 0; j < g.kw; ++j) {
          const Index x = w0 + j * g.dw;
          if (x < 0 || x >= g.W) continue;
          f(o, h * g.W + x);
          ++valid;
        }
      }
      // PyTorch's divisor with count_include_pad: the window clipped to the padded input.
      const Index hend = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H + peh);
      const Index wend = std::min(w0 + (g.kw - 1) * g.dw + 1, g.W + pew);
      const Index padded = ((hend - h0 + g.dh - 1) / g.dh) * ((wend - w0 + g.dw - 1) / g.dw);
      done(o, valid, padded);
    }
}
}  // namespace

// The winner of each max-pooling window, as an input offset within the plane (-1 when the
// window holds no input). The first of equal values wins, as in PyTorch.
static void max_winners(const Geometry& g, const Window& w, const double* x, Index* win) {
  double best = 0;
  Index arg = -1;
  for_windows(
      g, w,
      [&](Index, Index i) {
        if (arg < 0 || x[i] > best) {
          best = x[i];
          arg = i;
        }
      },
      [&](Index o, Index, Index) {
        win[o] = arg;
        arg = -1;
      });
}

void Pool::forward(const std::vector<const Tensor*>& in, Tensor& out) const {
  const Tensor& x = *in[0];
  const Geometry g(window_, x.event_shape());
  const Index planes = x.events() * g.C, P = g.P(), HW = g.H * g.W;
  if (kind_ == PoolKind::Max) {
    std::vector<Index> win(static_cast<size_t>(P));
    for (Index p = 0; p < planes; ++p) {
      const double* xp = x.data() + p * HW;
      max_winners(g, window_, xp, win.data());
      double* y = out.data() + p * P;
      for (Index o = 0; o < P; ++o)
        y[o] = win[static_cast<size_t>(o)] >= 0 ? xp[win[static_cast<size_t>(o)]] : -INFINITY;
    }
    return;
  }
  for (Index p = 0; p < planes; ++p) {
    const double* xp = x.data() + p * HW;
    double* y = out.data() + p * P;
    double s = 0;
    for_windows(
        g, window_, [&](Index, Index i) { s += xp[i]; },
        [&](Index o, Index valid, Index padded) {
          const Index n = count_include_pad_ ? padded : valid;
          y[o] = n > 0 ? s / static_cast<double>(n) : 0.0;
          s = 0;
        });
  }
}

void Pool::backward(const std::vector<const Tensor*>& in, const Tensor&, const Tensor& gout,
                    const std::vector<Tensor*>& gin, std::vector<Tensor>*) const {
  if (!gin[0]) return;
  const Tensor& x = *in[0];
  const Geometry g(window_, x.event_shape());
  const Index planes = x.events() * g.C, P = g.P(), HW = g.H * g.W;
  if (kind_ == PoolKind::Max) {
    std::vector<Index> win(static_cast<size_t>(P));
    for (Index p = 0; p < planes; ++p) {
      max_winners(g, window_, x.data() + p * HW, win.data());
      double* gx = gin[0]->data() + p * HW;
      const double* gy = gout.data() + p * P;
      for (Index o = 0; o < P; ++o)
        if (win[static_cast<size_t>(o)] >= 0) gx[win[static_cast<size_t>(o)]] += gy[o];
    }
    return;
  }
  // Average: every window spreads its gradient evenly over its inputs. Two passes per
  // window (count, then add) keep it allocation-free.
  std::vector<Index> members;
  members.reserve(static_cast<size_t>(g.kh * g.kw));
  for (Index p = 0; p < planes; ++p) {
    double* gx = gin[0]->data() + p * HW;
    const double* gy = gout.data() + p * P;
    for_windows(
        g, window_, [&](Index, Index i) { members.push_back(i); },
        [&](Index o, Index valid, Index padded) {
          const Index n = count_include_pad_ ? padded : valid;
          if (n > 0)
            for (Index i : members) gx[i] += gy[o] / static_cast<double>(n);
          members.clear();
        });
  }
}

void Pool::apply_tangent(const std::vector<const Tensor*>& primal_in, const Tensor&,
                         const std::vector<const Tensor*>& tin, Tensor& tout, Index components) const {
  if (kind_ == PoolKind::Average) {
    forward(tin, tout);  // linear
    return;
  }
  const Tensor& x = *primal_in[0];
  const Geometry g(window_, x.event_shape());
  const Index P = g.P(), HW = g.H * g.W;
  std::vector<Index> win(static_cast<size_t>(P));
  for (Index e = 0; e < x.events(); ++e)
    for (Index c = 0; c < g.C; ++c) {
      max_winners(g, window_, x.data() + (e * g.C + c) * HW, win.data());
      for (Index k = 0; k < components; ++k) {
        const Index row = e * components + k;
        const double* t = tin[0]->data() + (row * g.C + c) * HW;
        double* y = tout.data() + (row * g.C + c) * P;
        for (Index o = 0; o < P; ++o) y[o] = win[static_cast<size_t>(o)] >= 0 ? t[win[static_cast<size_t>(o)]] : 0.0;
      }
    }
}

nlohmann::json Pool::attributes() const {
  nlohmann::json j = window_.to_json();
  j["count_include_pad"] = count_include_pad_;
  return j;
}

std::string Pool::describe(const std::vector<Shape>&) const {
  std::string k;
  for (size_t d = 0; d < window_.kernel.size(); ++d) k += (d ? "x" : "") + std::to_string(window_.kernel[d]);
  return fmt::format("{}{}D k{}", kind_ == PoolKind::Max ? "MaxPool" : "AvgPool", window_.spatial(), k);
}

}  // namespace unbox
