// The derivative engine: exact first, second and third input derivatives of one neuron.
//
// Why this design (forward-over-reverse, "adjoint Taylor mode", rather than pure
// forward jets):
//  * Pure forward Taylor mode pushes the whole second- and third-order tensors of every
//    node through every affine op: n(n+1)/2 and n(n+1)(n+2)/6 GEMM columns per event
//    (465 and 4960 for 30 inputs). By a flop count that is slower at second order
//    than PyTorch's nested autograd (n Hessian-vector products).
//  * The target is one scalar, so the Hessian is a sum over the elementwise
//    non-linearities N of J_N^T diag(u_N f''_N) J_N, where J_N = dz_N/dx is the forward
//    Jacobian of the non-linearity's input (n GEMM columns per event, through
//    Op::apply_tangent) and u_N the ordinary reverse-mode adjoint of its output
//    (Network::backward). The third order differentiates that sum once more:
//      T_ijk = sum_N,q  c_q (K_q,ik J_q,j + J_q,i K_q,jk) + J_q,i J_q,j (f''_q V_q,k + u_q f'''_q J_q,k)
//    with c = u f'', K = d2z/dx2 (forward, n(n+1)/2 columns, only where non-zero) and
//    V = du/dx (the adjoint's own derivative: one reverse sweep with n columns, through
//    Op::backward). T is symmetric; only i <= j <= k is formed, by two small GEMMs per
//    event and non-linearity. No third-order tensor is ever pushed through a layer.
//  * Every affine or piecewise-linear op is used only through apply_tangent (forward)
//    and backward (reverse), with the derivative components stacked event-major into
//    the batch axis, so each op costs one big GEMM per sweep, and any op with those
//    hooks (Dense, Concat, Add, Standardize, Conv, pooling, batch norm) works unchanged.
//  * ReLU-family networks: f'' = f''' = 0 almost everywhere, so every term of a
//    piecewise-linear non-linearity vanishes; when only the target's own activation is
//    smooth, the Hessian and third order are f''(z) g g^T and f'''(z) g g g with g the
//    gradient of its input z: one forward and one backward pass. That shortcut is exact.
//  * Softmax and other ops whose higher derivatives couple neurons are refused at order
//    >= 2 with an error naming the op; first order needs only their backward pass.
// Events are processed in tiles sized so the largest derivative tensor stays in cache,
// tiles in fixed chunks, chunks in parallel: results do not depend on the thread count.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "nn/dense_kernel.hpp"
#include "nn/event_tiles.hpp"
#include "unbox/derivatives.hpp"
#include "unbox/ops.hpp"

namespace unbox {

std::vector<Index> triple_list(Index n) {
  std::vector<Index> t;
  t.reserve(static_cast<size_t>(3 * triple_count(n)));
  for (Index i = 0; i < n; ++i)
    for (Index j = i; j < n; ++j)
      for (Index k = j; k < n; ++k) t.insert(t.end(), {i, j, k});
  return t;
}

namespace {

const Activation* as_activation(const Node& n) {
  return n.op && n.op->derivative_kind() == Op::DerivativeKind::Elementwise
             ? dynamic_cast<const Activation*>(n.op.get())
             : nullptr;
}
bool is_smooth(const Node& n) {
  const Activation* a = as_activation(n);
  return a && !a->piecewise_linear();
}

// Which nodes each sweep needs, decided once per (network, neuron, order).
struct Schedule {
  int target = -1;
  Index index = 0;
  int order = 1;
  Index n = 0;                 // variables
  std::vector<Index> offset;   // per input position: first variable
  std::vector<bool> anc;       // ancestors of the target
  std::vector<bool> anc_seed;  // ancestors of the node the reverse pass starts from
  bool shortcut = false;       // piecewise-linear below the target (see above)
  int shortcut_node = -1;      // node whose gradient is taken in the shortcut
  const Activation* shortcut_act = nullptr;
  std::vector<bool> need_j;        // forward Jacobian (and K at third order)
  std::vector<bool> need_v;        // derivative of the adjoint
  std::vector<int> smooth;         // smooth elementwise ancestors, topological order
  std::vector<double> s1, s2, s3;  // per-variable scales for pairs / triples
  std::vector<Index> triples;      // (i, j, k) and pair positions, 6 per triple
};

Schedule make_schedule(const Network& net, const NeuronRef& ref, const DerivativeOptions& o,
                       const DerivativePlan& plan) {
  Schedule s;
  s.target = ref.node;
  s.index = ref.index;
  s.order = o.order;
  const auto& nodes = net.nodes();
  const size_t N = nodes.size();
  s.anc = net.ancestors(ref.node);
  Index off = 0;
  for (size_t k = 0; k < net.input_nodes().size(); ++k) {
    s.offset.push_back(off);
    off += shape_size(net.node(net.input_nodes()[k]).shape);
  }
  s.n = off;
  const Node& t = net.node(ref.node);
  bool smooth_below = false;
  for (size_t i = 0; i < N; ++i)
    if (s.anc[i] && static_cast<int>(i) != ref.node && is_smooth(nodes[i])) smooth_below = true;
  if (o.order >= 2) {
    for (size_t i = 0; i < N; ++i)
      if (s.anc[i] && nodes[i].op && nodes[i].op->derivative_kind() == Op::DerivativeKind::Other)
        throw Error(fmt::format(
            "{} (node '{}'): derivatives of order {} through it are not supported (its second derivatives couple "
            "the neurons of the layer); take the neuron before it (e.g. output:pre, the logit) or first order only",
            nodes[i].op->type(), nodes[i].name, o.order));
  }
  s.shortcut = !smooth_below;
  if (s.shortcut) {
    if (const Activation* a = as_activation(t)) {
      s.shortcut_node = t.inputs[0];
      s.shortcut_act = a;
    } else {
      s.shortcut_node = ref.node;
    }
  }
  s.anc_seed = net.ancestors(s.shortcut ? s.shortcut_node : ref.node);
  s.need_j.assign(N, false);
  s.need_v.assign(N, false);
  if (!s.shortcut && o.order >= 2) {
    std::vector<bool> below_smooth(N, false);  // descendant-or-self of a smooth non-linearity
    for (size_t i = 0; i < N; ++i) {
      if (!s.anc[i]) continue;
      if (is_smooth(nodes[i])) {
        s.smooth.push_back(static_cast<int>(i));
        s.need_j[static_cast<size_t>(nodes[i].inputs[0])] = true;
        below_smooth[i] = true;
      }
      for (int j : nodes[i].inputs)
        if (below_smooth[static_cast<size_t>(j)]) below_smooth[i] = true;
    }
    for (size_t i = N; i-- > 0;)
      if (s.need_j[i])
        for (int j : nodes[i].inputs) s.need_j[static_cast<size_t>(j)] = true;
    if (o.order >= 3)
      for (size_t i = 0; i < N; ++i) s.need_v[i] = s.anc[i] && below_smooth[i];
  }
  s.s1 = plan.scale;
  const Index n = s.n;
  if (o.order >= 2) {
    s.s2.resize(static_cast<size_t>(pair_count(n)));
    for (Index i = 0; i < n; ++i)
      for (Index j = i; j < n; ++j) s.s2[static_cast<size_t>(pair_index(i, j, n))] = s.s1[i] * s.s1[j];
  }
  if (o.order >= 3) {
    auto tl = triple_list(n);
    const Index P3 = triple_count(n);
    s.s3.resize(static_cast<size_t>(P3));
    s.triples.resize(static_cast<size_t>(6 * P3));
    for (Index t3 = 0; t3 < P3; ++t3) {
      Index i = tl[3 * t3], j = tl[3 * t3 + 1], k = tl[3 * t3 + 2];
      s.s3[static_cast<size_t>(t3)] = s.s1[i] * s.s1[j] * s.s1[k];
      Index* p = &s.triples[static_cast<size_t>(6 * t3)];
      p[0] = i, p[1] = j, p[2] = k, p[3] = pair_index(i, k, n), p[4] = pair_index(j, k, n), p[5] = pair_index(i, j, n);
    }
  }
  return s;
}

Shape batched(Index rows, const Shape& event_shape) {
  Shape s{rows};
  s.insert(s.end(), event_shape.begin(), event_shape.end());
  return s;
}

// Per-thread buffers, reused across tiles: after the first tile nothing allocates.
struct Engine {
  Workspace ws;
  std::vector<Tensor> J, K, V;  // per node: [B*n, ...], [B*P2, ...], [B*n, ...]
  std::vector<bool> kzero;      // K of the node is identically zero
  // Second order: J of the node is the same for every event (the inputs and affine maps of
  // them, up to the first non-linearity); E.J then holds one event's n rows.
  std::vector<bool> jconst;
  std::vector<double, Eigen::aligned_allocator<double>> packed;  // per-event J^T diag(c), packed for the kernel
  MatrixRM C;                                                    // u f'' per event of a tile [B x w]
  std::vector<Tensor> rep_in;  // primal values replicated per component (for backward)
  Tensor rep_out, seed;
  std::vector<double> d1, d2, d3;  // activation derivatives at the primal point
  MatrixRM JJ, Kc, M, Nn, A;       // per-event work matrices
  Eigen::VectorXd c;
  Tensor value, first, second, third;
};

void activation_derivatives(const Activation& act, const Tensor& z, Engine& E) {
  const Index m = z.size();
  E.d1.resize(static_cast<size_t>(m));
  E.d2.resize(static_cast<size_t>(m));
  E.d3.resize(static_cast<size_t>(m));
  for (Index i = 0; i < m; ++i)
    act.derivatives(z[i], E.d1[static_cast<size_t>(i)], E.d2[static_cast<size_t>(i)], E.d3[static_cast<size_t>(i)]);
}

// rows [e*comps, (e+1)*comps) of `t` scaled column-wise by d[e*w .. e*w+w) (elementwise chain rule);
// `in` holds one event's rows only when `same` (the same J for every event).
void scale_rows(const Tensor& in, Tensor& out, const std::vector<double>& d, Index B, Index comps, Index w,
                bool same = false) {
  out.resize(batched(B * comps, in.event_shape()));
  for (Index e = 0; e < B; ++e) {
    Eigen::Map<const Eigen::RowVectorXd> de(d.data() + e * w, w);
    ConstMatrixMap ti(in.data() + (same ? 0 : e * comps * w), comps, w);
    MatrixMap(out.data() + e * comps * w, comps, w) = ti.array().rowwise() * de.array();
  }
}

// Affine ops whose apply_tangent reads only the tangents (not the primal values), so a J that is
// the same for every event can go through them once.
bool tangent_ignores_primal(const Op& op) {
  const std::string t = op.type();
  return op.derivative_kind() == Op::DerivativeKind::Affine &&
         (t == "Dense" || t == "Standardize" || t == "BatchNorm" || t == "Concat" || t == "Add" || t == "Reshape");
}

// A J held for one event (n rows) made into B events' rows.
void materialize(Tensor& J, Index B, Index n) {
  const Index rows = n * J.per_event();
  Tensor one = J;
  J.resize(batched(B * n, one.event_shape()));
  for (Index e = 0; e < B; ++e) std::copy_n(one.data(), rows, J.data() + e * rows);
}

// H[e] += J_e^T diag(c_e) J_e for every event of the tile, into the packed upper triangle
// (pair_index order), for J [B*n x w] (event-major) or, when `same`, one J [n x w] for all.
// Per event: P = diag(c) J^T packed for the kernel, then the kernel's products of row blocks of
// J with the columns from the block's diagonal on (the upper triangle, in whole vectors).
void hessian_terms(const Tensor& J, bool same, const double* c, Index B, Index n, Index w, Engine& E, double* second) {
  const Index P2 = pair_count(n);
  if (same) {
    // The same J for every event: H[e, (i,j)] = sum_q c[e,q] J[i,q] J[j,q], one GEMM over the
    // tile: [B x w] times the pair products [w x P2].
    const Index np = detail::padded_columns(P2);
    E.packed.assign(static_cast<size_t>(w * np), 0.0);
    for (Index q = 0; q < w; ++q) {
      double* row = E.packed.data() + q * np;
      for (Index i = 0, p = 0; i < n; ++i)
        for (Index j = i; j < n; ++j, ++p) row[p] = J[i * w + q] * J[j * w + q];
    }
    detail::dense_product(B, w, P2, c, w, E.packed.data(), nullptr, second, P2, true);
    return;
  }
  const Index np = detail::padded_columns(n), vw = detail::padded_columns(1);
  E.packed.resize(static_cast<size_t>(w * np));
  E.M.resize(n, np);
  for (Index e = 0; e < B; ++e) {
    const double* Je = J.data() + e * n * w;
    const double* ce = c + e * w;
    for (Index q = 0; q < w; ++q) {
      double* row = E.packed.data() + q * np;
      for (Index j = 0; j < n; ++j) row[j] = ce[q] * Je[j * w + q];
      std::fill(row + n, row + np, 0.0);
    }
    constexpr Index kBlock = 8;
    for (Index r0 = 0; r0 < n; r0 += kBlock) {
      const Index rows = std::min(kBlock, n - r0), c0 = r0 - r0 % vw;
      detail::dense_product_ld(rows, w, n - c0, Je + r0 * w, w, E.packed.data() + c0, np, E.M.data() + r0 * np + c0, np,
                               false);
    }
    double* h = second + e * P2;
    for (Index i = 0, p = 0; i < n; ++i)
      for (Index j = i; j < n; ++j, ++p) h[p] += E.M(i, j);
  }
}

void replicate(const Tensor& primal, Index comps, Tensor& out) {
  const Index B = primal.events(), pe = primal.per_event();
  out.resize(batched(B * comps, primal.event_shape()));
  for (Index e = 0; e < B; ++e)
    for (Index c = 0; c < comps; ++c) std::copy_n(primal.data() + e * pe, pe, out.data() + (e * comps + c) * pe);
}

void run_tile(const Network& net, const Schedule& S, const std::vector<const Tensor*>& in, Engine& E) {
  const auto& nodes = net.nodes();
  const Index B = in[0]->events(), n = S.n, P2 = pair_count(n), P3 = triple_count(n);
  const auto& ids = net.input_nodes();
  net.forward(in, E.ws, S.target);
  auto& vals = E.ws.values;
  E.value.resize({B});
  {
    const Tensor& v = vals[static_cast<size_t>(S.target)];
    for (Index e = 0; e < B; ++e) E.value[e] = v[e * v.per_event() + S.index];
  }
  E.first.resize({B, n});
  E.first.fill(0.0);
  if (S.order >= 2) {
    E.second.resize({B, P2});
    E.second.fill(0.0);
  }
  if (S.order >= 3) {
    E.third.resize({B, P3});
    E.third.fill(0.0);
  }
  // Reverse mode: u (the adjoints) at every ancestor, and the gradient at the inputs.
  const int seed_node = S.shortcut ? S.shortcut_node : S.target;
  E.seed.resize(vals[static_cast<size_t>(seed_node)].shape());
  E.seed.fill(0.0);
  const Index spe = E.seed.per_event();
  for (Index e = 0; e < B; ++e) E.seed[e * spe + S.index] = 1.0;
  net.backward(E.ws, seed_node, E.seed);
  for (size_t k = 0; k < ids.size(); ++k) {
    const Tensor& g = E.ws.grads[static_cast<size_t>(ids[k])];
    if (!S.anc_seed[static_cast<size_t>(ids[k])]) continue;  // stale buffer otherwise
    const Index m = g.per_event();
    for (Index e = 0; e < B; ++e)
      for (Index j = 0; j < m; ++j) E.first[e * n + S.offset[k] + j] = g[e * m + j];
  }
  if (S.shortcut) {
    // Only the target's own activation is curved: f(z(x)) with z piecewise linear in x.
    if (!S.shortcut_act) return;
    const Tensor& z = vals[static_cast<size_t>(S.shortcut_node)];
    for (Index e = 0; e < B; ++e) {
      double a1, a2, a3;
      S.shortcut_act->derivatives(z[e * z.per_event() + S.index], a1, a2, a3);
      const double* g = E.first.data() + e * n;
      if (S.order >= 3) {
        double* t = E.third.data() + e * P3;
        Index p = 0;
        for (Index i = 0; i < n; ++i)
          for (Index j = i; j < n; ++j)
            for (Index k = j; k < n; ++k) t[p++] = a3 * g[i] * g[j] * g[k];
      }
      if (S.order >= 2) {
        double* h = E.second.data() + e * P2;
        Index p = 0;
        for (Index i = 0; i < n; ++i)
          for (Index j = i; j < n; ++j) h[p++] = a2 * g[i] * g[j];
      }
      for (Index i = 0; i < n; ++i) E.first[e * n + i] *= a1;
    }
    return;
  }
  if (S.order < 2) return;

  const size_t N = nodes.size();
  E.J.resize(N);
  E.K.resize(N);
  E.V.resize(N);
  E.kzero.assign(N, true);
  E.jconst.assign(N, false);
  std::vector<const Tensor*> pin, tin;
  std::vector<Tensor*> gin;
  // At second order the Jacobians up to the first non-linearity are the same for every event
  // (the first layer's is its weight matrix): they are formed once, for one event's n rows.
  const bool shared_j = S.order == 2;

  // --- forward sweep: J = dz/dx for every node below a smooth non-linearity's input.
  for (size_t i = 0; i < N; ++i) {
    if (!S.need_j[i]) continue;
    const Node& nd = nodes[i];
    Tensor& J = E.J[i];
    if (nd.is_input()) {
      size_t k = static_cast<size_t>(std::find(ids.begin(), ids.end(), static_cast<int>(i)) - ids.begin());
      const Index m = shape_size(nd.shape);
      const Index events = shared_j ? 1 : B;
      J.resize(batched(events * n, nd.shape));
      J.fill(0.0);
      for (Index e = 0; e < events; ++e)
        for (Index j = 0; j < m; ++j) J[(e * n + S.offset[k] + j) * m + j] = 1.0;
      E.jconst[i] = shared_j;
      continue;
    }
    if (const Activation* a = as_activation(nd)) {
      const size_t zi = static_cast<size_t>(nd.inputs[0]);
      activation_derivatives(*a, vals[zi], E);
      scale_rows(E.J[zi], J, E.d1, B, n, shape_size(nd.shape), E.jconst[zi]);
      continue;
    }
    bool same = shared_j && tangent_ignores_primal(*nd.op);
    for (int j : nd.inputs) same = same && E.jconst[static_cast<size_t>(j)];
    if (!same)  // a J shared by the events meets one that is not: spell it out per event
      for (int j : nd.inputs)
        if (E.jconst[static_cast<size_t>(j)]) {
          materialize(E.J[static_cast<size_t>(j)], B, n);
          E.jconst[static_cast<size_t>(j)] = false;
        }
    pin.clear();
    tin.clear();
    for (int j : nd.inputs) {
      pin.push_back(&vals[static_cast<size_t>(j)]);
      tin.push_back(&E.J[static_cast<size_t>(j)]);
    }
    J.resize(batched((same ? 1 : B) * n, nd.shape));
    nd.op->apply_tangent(pin, vals[i], tin, J, n);
    E.jconst[i] = same;
  }

  // --- reverse sweep (third order): V = du/dx, the derivative of each adjoint.
  if (S.order >= 3) {
    for (size_t i = 0; i < N; ++i)
      if (S.need_v[i]) {
        E.V[i].resize(batched(B * n, nodes[i].shape));
        E.V[i].fill(0.0);
      }
    for (int i = S.target; i >= 0; --i) {
      const Node& nd = nodes[static_cast<size_t>(i)];
      if (!S.need_v[static_cast<size_t>(i)] || nd.is_input()) continue;
      const Tensor& Vi = E.V[static_cast<size_t>(i)];
      if (const Activation* a = as_activation(nd)) {
        const int zi = nd.inputs[0];
        if (!S.need_v[static_cast<size_t>(zi)]) continue;
        // u_z = f'(z) u_a  =>  V_z = f'(z) V_a + f''(z) u_a J_z
        const Tensor& z = vals[static_cast<size_t>(zi)];
        activation_derivatives(*a, z, E);
        const Index w = z.per_event();
        const Tensor& u = E.ws.grads[static_cast<size_t>(i)];
        Tensor& Vz = E.V[static_cast<size_t>(zi)];
        const bool curved = !a->piecewise_linear();
        for (Index e = 0; e < B; ++e)
          for (Index c = 0; c < n; ++c) {
            const Index r = (e * n + c) * w;
            for (Index q = 0; q < w; ++q) {
              double v = E.d1[static_cast<size_t>(e * w + q)] * Vi[r + q];
              if (curved)
                v += E.d2[static_cast<size_t>(e * w + q)] * u[e * w + q] * E.J[static_cast<size_t>(zi)][r + q];
              Vz[r + q] += v;
            }
          }
        continue;
      }
      // Affine / piecewise linear: V_in += (the op's derivative)^T V_out, through the op's
      // own backward at the primal point replicated once per component.
      E.rep_in.resize(nd.inputs.size());
      pin.clear();
      gin.clear();
      for (size_t k = 0; k < nd.inputs.size(); ++k) {
        const size_t j = static_cast<size_t>(nd.inputs[k]);
        replicate(vals[j], n, E.rep_in[k]);
        pin.push_back(&E.rep_in[k]);
        gin.push_back(S.need_v[j] && !nodes[j].is_input() ? &E.V[j] : nullptr);
      }
      replicate(vals[static_cast<size_t>(i)], n, E.rep_out);
      nd.op->backward(pin, E.rep_out, Vi, gin, nullptr);
    }
  }

  // --- second forward sweep: K = d2z/dx2 (third order only) and, at every smooth
  // non-linearity, its Hessian (and third-order) contribution.
  for (size_t i = 0; i < N; ++i) {
    const Node& nd = nodes[i];
    const bool smooth = S.anc[i] && is_smooth(nd);
    if (!S.need_j[i] && !smooth) continue;
    if (nd.is_input()) continue;  // K = 0
    const Activation* a = as_activation(nd);
    if (a && !smooth) {  // piecewise linear: K_a = f' K_z
      const size_t zi = static_cast<size_t>(nd.inputs[0]);
      if (S.order < 3 || E.kzero[zi]) continue;
      activation_derivatives(*a, vals[zi], E);
      E.K[i].resize(batched(B * P2, nd.shape));
      scale_rows(E.K[zi], E.K[i], E.d1, B, P2, shape_size(nd.shape));
      E.kzero[i] = false;
      continue;
    }
    if (!a) {  // affine / piecewise linear op
      if (S.order < 3) continue;
      bool all_zero = true;
      for (int j : nd.inputs) all_zero = all_zero && E.kzero[static_cast<size_t>(j)];
      if (all_zero) continue;
      pin.clear();
      tin.clear();
      for (int j : nd.inputs) {
        const size_t js = static_cast<size_t>(j);
        if (E.kzero[js]) {  // materialize the zero K of a branch that is still linear
          E.K[js].resize(batched(B * P2, nodes[js].shape));
          E.K[js].fill(0.0);
          E.kzero[js] = false;
        }
        pin.push_back(&vals[js]);
        tin.push_back(&E.K[js]);
      }
      E.K[i].resize(batched(B * P2, nd.shape));
      nd.op->apply_tangent(pin, vals[i], tin, E.K[i], P2);
      E.kzero[i] = false;
      continue;
    }
    // A smooth non-linearity a = f(z).
    const size_t zi = static_cast<size_t>(nd.inputs[0]);
    const Tensor& z = vals[zi];
    const Index w = z.per_event();
    activation_derivatives(*a, z, E);
    const Tensor& u = E.ws.grads[i];
    const Tensor& Jz = E.J[zi];
    const bool third = S.order >= 3;
    const bool k_out = third && S.need_j[i];
    const bool k_in = third && !E.kzero[zi];
    if (k_out) E.K[i].resize(batched(B * P2, nd.shape));
    if (third) E.JJ.resize(P2, w);
    if (!third) {
      // Hessian: sum over the events' J^T diag(c) J with c = u f'' (see hessian_terms).
      E.C.resize(B, w);
      for (Index q = 0; q < B * w; ++q) E.C.data()[q] = u[q] * E.d2[static_cast<size_t>(q)];
      hessian_terms(Jz, E.jconst[zi], E.C.data(), B, n, w, E, E.second.data());
      continue;
    }
    for (Index e = 0; e < B; ++e) {
      ConstMatrixMap Je(Jz.data() + e * n * w, n, w);
      Eigen::Map<const Eigen::ArrayXd> d1(E.d1.data() + e * w, w), d2(E.d2.data() + e * w, w),
          d3(E.d3.data() + e * w, w);
      Eigen::Map<const Eigen::ArrayXd> ue(u.data() + e * w, w);
      E.c = (ue * d2).matrix();
      for (Index ii = 0, p = 0; ii < n; ++ii)
        for (Index jj = ii; jj < n; ++jj, ++p) E.JJ.row(p) = Je.row(ii).cwiseProduct(Je.row(jj));
      // Hessian: sum_q c_q J_qi J_qj
      Eigen::Map<Eigen::VectorXd>(E.second.data() + e * P2, P2).noalias() += E.JJ * E.c;
      // Third order: T_ijk += M[(i,k), j] + M[(j,k), i] + Nn[(i,j), k]
      ConstMatrixMap Ve(E.V[i].data() + e * n * w, n, w);
      if (S.need_v[i]) {
        E.A = (Ve.array().rowwise() * d2.transpose() + Je.array().rowwise() * (ue * d3).transpose()).matrix();
      } else {  // the target itself: u is constant, V = 0
        E.A = (Je.array().rowwise() * (ue * d3).transpose()).matrix();
      }
      E.Nn.noalias() = E.JJ * E.A.transpose();
      double* T = E.third.data() + e * P3;
      const Index* tr = S.triples.data();
      if (k_in) {
        ConstMatrixMap Ke(E.K[zi].data() + e * P2 * w, P2, w);
        E.Kc = Ke.array().rowwise() * E.c.transpose().array();
        E.M.noalias() = E.Kc * Je.transpose();
        for (Index t = 0; t < P3; ++t, tr += 6) T[t] += E.M(tr[3], tr[1]) + E.M(tr[4], tr[0]) + E.Nn(tr[5], tr[2]);
      } else {
        for (Index t = 0; t < P3; ++t, tr += 6) T[t] += E.Nn(tr[5], tr[2]);
      }
      if (k_out) {
        MatrixMap Ka(E.K[i].data() + e * P2 * w, P2, w);
        Ka = E.JJ.array().rowwise() * d2.transpose();
        if (k_in) Ka.array() += ConstMatrixMap(E.K[zi].data() + e * P2 * w, P2, w).array().rowwise() * d1.transpose();
      }
    }
    if (k_out) E.kzero[i] = false;
  }
}

}  // namespace

DerivativePlan plan_derivatives(const Network& net, const NeuronRef& neuron, const DerivativeOptions& o) {
  if (o.order < 1 || o.order > 3) throw Error(fmt::format("derivative order must be 1, 2 or 3, got {}", o.order));
  if (neuron.node < 0 || neuron.node >= static_cast<int>(net.nodes().size())) throw Error("unknown neuron");
  DerivativePlan p;
  p.neuron = neuron;
  const auto& nodes = net.nodes();
  for (size_t k = 0; k < net.input_nodes().size(); ++k) {
    const int id = net.input_nodes()[k];
    const Node& in = net.node(id);
    std::vector<std::string> names = net.feature_names(static_cast<int>(k));
    const Index m = shape_size(in.shape);
    if (static_cast<Index>(names.size()) != m) {
      names.clear();
      for (Index j = 0; j < m; ++j) names.push_back(fmt::format("{}[{}]", in.name, j));
    }
    // A Standardize that is the input's only consumer: its output is what the first
    // trainable layer sees; d/d(x_std) = std * d/d(x_raw).
    const Standardize* st = nullptr;
    int consumers = 0;
    for (const Node& nd : nodes)
      for (int j : nd.inputs)
        if (j == id) {
          ++consumers;
          st = nd.op && nd.op->type() == "Standardize" ? static_cast<const Standardize*>(nd.op.get()) : nullptr;
        }
    const bool use = consumers == 1 && st;
    for (Index j = 0; j < m; ++j) {
      p.variables.push_back(names[static_cast<size_t>(j)]);
      p.standardized.push_back(use);
      p.scale.push_back(use && !o.physical_units ? st->stddev()[j] : 1.0);
    }
  }
  std::vector<bool> anc = net.ancestors(neuron.node);
  bool any_smooth_below = false, any_pwl = false;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!anc[i] || static_cast<int>(i) == neuron.node) continue;
    if (const Activation* a = as_activation(nodes[i])) {
      if (a->piecewise_linear()) {
        if (a->kind() != ActivationKind::Identity) any_pwl = true;
      } else {
        any_smooth_below = true;
      }
    }
  }
  const Activation* ta = as_activation(net.node(neuron.node));
  p.target_activation = ta ? ta->type() : "";
  p.piecewise_linear_hidden = !any_smooth_below && any_pwl;
  if (p.piecewise_linear_hidden) {
    if (ta && !ta->piecewise_linear())
      p.notes.push_back(fmt::format(
          "the hidden layers are piecewise linear (ReLU family): their second and higher derivatives vanish almost "
          "everywhere, so every second- and third-order coefficient comes from the output non-linearity ({}) alone: "
          "t_ij is f''(z) g_i g_j with g the gradient of its input z; the higher-order picture of such a network "
          "only repeats its gradient",
          ta->type()));
    else
      p.notes.push_back(
          "the network below this neuron is piecewise linear (ReLU family) and the neuron has no smooth activation: "
          "its second and higher derivatives vanish almost everywhere, so only first-order coefficients carry "
          "information");
  }
  return p;
}

void visit_derivatives(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& neuron,
                       const DerivativeOptions& options, Index chunk,
                       const std::function<void(Index, const DerivativeTile&)>& visit) {
  DerivativePlan plan = plan_derivatives(net, neuron, options);
  Schedule S = make_schedule(net, neuron, options, plan);
  if (inputs.size() != net.input_nodes().size())
    throw Error(fmt::format("the network takes {} inputs, {} given", net.input_nodes().size(), inputs.size()));
  Index maxw = 1;
  for (size_t i = 0; i < net.nodes().size(); ++i)
    if (S.anc[i]) maxw = std::max(maxw, shape_size(net.nodes()[i].shape));
  Index tile = options.tile;
  if (tile <= 0) {
    // Bytes per event of the largest per-node tensor the sweeps hold (J, V and K).
    Index per_event = maxw * 8 * (options.order >= 2 && !S.shortcut ? S.n : 1);
    if (options.order >= 3 && !S.shortcut) per_event = maxw * 8 * (pair_count(S.n) + 2 * S.n);
    tile = std::clamp<Index>((Index{2} << 20) / std::max<Index>(per_event, 1), 1, 256);
  }
  chunk = std::max<Index>(chunk, 1);
  detail::for_each_event_tile(
      inputs, chunk, tile,
      []() -> Engine& {
        thread_local Engine E;
        return E;
      },
      [&](Engine& E, Index c, Index begin, Index count, std::vector<const Tensor*>& ptrs) {
        run_tile(net, S, ptrs, E);
        // Into the units asked for.
        const Index n = S.n, P2 = pair_count(n), P3 = triple_count(n);
        for (Index e = 0; e < count; ++e) {
          for (Index i = 0; i < n; ++i) E.first[e * n + i] *= S.s1[static_cast<size_t>(i)];
          if (options.order >= 2)
            for (Index p = 0; p < P2; ++p) E.second[e * P2 + p] *= S.s2[static_cast<size_t>(p)];
          if (options.order >= 3)
            for (Index p = 0; p < P3; ++p) E.third[e * P3 + p] *= S.s3[static_cast<size_t>(p)];
        }
        DerivativeTile t;
        t.begin = begin;
        t.count = count;
        t.variables = n;
        t.value = E.value.data();
        t.first = E.first.data();
        t.second = options.order >= 2 ? E.second.data() : nullptr;
        t.third = options.order >= 3 ? E.third.data() : nullptr;
        visit(c, t);
      });
}

InputDerivatives input_derivatives(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& neuron,
                                   const DerivativeOptions& options) {
  InputDerivatives r;
  r.plan = plan_derivatives(net, neuron, options);
  r.order = options.order;
  const Index N = inputs.empty() ? 0 : inputs[0].events(), n = static_cast<Index>(r.plan.variables.size());
  r.value = Tensor({N});
  r.first = Tensor({N, n});
  if (options.order >= 2) r.second = Tensor({N, pair_count(n)});
  if (options.order >= 3) r.third = Tensor({N, triple_count(n)});
  visit_derivatives(net, inputs, neuron, options, 1024, [&](Index, const DerivativeTile& t) {
    std::copy_n(t.value, t.count, r.value.data() + t.begin);
    std::copy_n(t.first, t.count * n, r.first.data() + t.begin * n);
    if (t.second) std::copy_n(t.second, t.count * pair_count(n), r.second.data() + t.begin * pair_count(n));
    if (t.third) std::copy_n(t.third, t.count * triple_count(n), r.third.data() + t.begin * triple_count(n));
  });
  return r;
}

}  // namespace unbox
