// Energy flow polynomials: evaluation by variable elimination.
//
// Each connected component of a graph is compiled once into a programme of elimination
// steps (order from efp_detail::elimination_order, cost M^(treewidth + 1) per jet). A step
// eliminating vertex v multiplies the factors that contain v (z_v, theta^m on v's edges,
// and earlier intermediate factors) and sums over v. The step that leaves a factor on two
// vertices a, b from one matrix on {a, v} and one on {v, b} (chains, cycles) is an Eigen
// GEMM, (A diag(w)) B; every other step is a strided multi-dot loop. Disconnected graphs
// are products of their components, each distinct component computed once per jet.
// Jets run in parallel, each jet entirely on one thread: results do not depend on the
// thread count.
// GCC 12 reports -Wmaybe-uninitialized false positives inside its own AVX-512 intrinsics
// (avx512fintrin.h) when Eigen's packet code is inlined here with -march=native.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <fmt/format.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "physics/efp_internal.hpp"
#include "unbox/physics/efp.hpp"
#include "unbox/physics/kinematics.hpp"

namespace unbox {

bool efp_detail::share_pair_intermediates = true;

namespace {

using efp_detail::EdgeList;

enum class Kind { Z, Theta, Temp };

struct Factor {
  Kind kind = Kind::Z;
  int index = 0;          // theta power (Theta); memo slot of a Temp of arity <= 1, else -1
  std::vector<int> vars;  // sorted graph vertices; memory is row-major in this order
  std::string key;        // what the array holds, independent of vertex names (see compile)
  int step = -1;          // the step producing a Temp
};

struct Step {
  int v = 0;
  std::vector<int> inputs;  // factor ids
  int out = 0;              // factor id of the result
  // Inputs by what they contain: {v} only, {a, v}, {b, v} (a < b the output's vertices).
  std::vector<int> unary, left, right;
  bool other = false;  // an input on three or more vertices: generic loop
};

struct Program {
  std::vector<Factor> factors;
  std::vector<Step> steps;
  std::vector<int> finals;  // scalar factors multiplied at the end
  int max_power = 1;
};

// Temps of arity <= 1 (one number per particle) and of arity 2 (an M x M array, e.g.
// sum_x theta_ax z_x theta_xb, the two-step path, in every graph that contains one) are shared
// between all programmes of a call: the same key means the same array (in the order of the
// output's roles), so it is computed once per jet, and a programme whose step finds its result
// already computed skips that step's whole subtree. `memo` and `memo2` map keys to slots.
Program compile(const EdgeList& edges, std::map<std::string, int>& memo, std::map<std::string, int>& memo2) {
  Program p;
  const int n = efp_detail::vertex_count(edges);
  std::vector<int> live;
  for (int v = 0; v < n; ++v) {
    p.factors.push_back({Kind::Z, 0, {v}, "z"});
    live.push_back(static_cast<int>(p.factors.size()) - 1);
  }
  std::map<std::pair<int, int>, int> mult;
  for (auto e : edges) ++mult[e];
  for (auto [e, m] : mult) {
    p.factors.push_back({Kind::Theta, m, {e.first, e.second}, fmt::format("t{}", m)});
    live.push_back(static_cast<int>(p.factors.size()) - 1);
    p.max_power = std::max(p.max_power, m);
  }
  const auto elim = efp_detail::elimination_order(n, edges);
  for (int v : elim.order) {
    Step s;
    s.v = v;
    std::vector<int> out_vars, keep;
    for (int f : live) {
      const auto& vars = p.factors[f].vars;
      if (std::find(vars.begin(), vars.end(), v) == vars.end()) {
        keep.push_back(f);
        continue;
      }
      s.inputs.push_back(f);
      for (int u : vars)
        if (u != v) out_vars.push_back(u);
    }
    std::sort(out_vars.begin(), out_vars.end());
    out_vars.erase(std::unique(out_vars.begin(), out_vars.end()), out_vars.end());
    // Key: the inputs' keys with the role of each of their vertices (x = summed, 0/1 = the
    // output's vertices in order); theta is symmetric, so its roles are sorted.
    std::vector<std::string> parts;
    for (int f : s.inputs) {
      const Factor& fa = p.factors[f];
      std::string roles;
      for (int u : fa.vars)
        roles +=
            u == v ? 'x' : static_cast<char>('0' + (std::find(out_vars.begin(), out_vars.end(), u) - out_vars.begin()));
      if (fa.kind == Kind::Theta) std::sort(roles.begin(), roles.end());
      parts.push_back(fa.key + "[" + roles + "]");
    }
    std::sort(parts.begin(), parts.end());
    std::string key = fmt::format("s{}(", out_vars.size());
    for (const auto& x : parts) key += x + ",";
    key += ")";
    int slot = -1;
    if (out_vars.size() <= 1)
      slot = memo.emplace(key, static_cast<int>(memo.size())).first->second;
    else if (out_vars.size() == 2 && efp_detail::share_pair_intermediates)
      slot = memo2.emplace(key, static_cast<int>(memo2.size())).first->second;
    p.factors.push_back({Kind::Temp, slot, out_vars, key, static_cast<int>(p.steps.size())});
    s.out = static_cast<int>(p.factors.size()) - 1;
    keep.push_back(s.out);
    live = keep;
    for (int f : s.inputs) {
      const auto& vars = p.factors[f].vars;
      if (vars.size() == 1)
        s.unary.push_back(f);
      else if (vars.size() == 2 && (vars[0] == out_vars[0] || vars[1] == out_vars[0]))
        s.left.push_back(f);
      else if (vars.size() == 2)
        s.right.push_back(f);
      else
        s.other = true;
    }
    p.steps.push_back(std::move(s));
  }
  p.finals = live;
  return p;
}

// Per-thread buffers, grown as needed and reused across jets. Every array starts on a
// 64-byte boundary (aligned allocator, slot sizes rounded up to 8 doubles): Eigen's kernels
// peel differently for different alignments, which would change the round-off with the
// thread that happens to run a jet.
using AlignedVector = std::vector<double, Eigen::aligned_allocator<double>>;
struct Workspace {
  AlignedVector z, theta, memo, memo2, arena, scratch_a, scratch_b, scratch_c, w;
  std::vector<char> done, done2;  // memo slot computed for this jet
  std::vector<Index> keep;        // non-padding particle indices
  std::vector<size_t> offset;
};

Index ipow(Index m, size_t k) {
  Index r = 1;
  for (size_t i = 0; i < k; ++i) r *= m;
  return r;
}
Index round8(Index x) { return (x + 7) / 8 * 8; }

// dst(a, x) [*]= f, where f is a factor on {a, x} stored [a][x] when a < x, else [x][a].
void load_oriented(MatrixMap& dst, const double* f, Index m, bool direct, bool first) {
  ConstMatrixMap F(f, m, m);
  if (first && direct)
    dst = F;
  else if (first)
    dst = F.transpose();
  else if (direct)
    dst.array() *= F.array();
  else
    dst.array() *= F.transpose().array();
}

double run(const Program& p, Workspace& ws, Index m) {
  const Index m2 = round8(m * m), mp = round8(m);
  // Temporaries on two or more vertices: offsets for this jet's M (reused by every programme).
  ws.offset.assign(p.factors.size(), 0);
  size_t total = 0;
  for (size_t f = 0; f < p.factors.size(); ++f)
    if (p.factors[f].kind == Kind::Temp && p.factors[f].index < 0) {
      ws.offset[f] = total;
      total += static_cast<size_t>(round8(ipow(m, p.factors[f].vars.size())));
    }
  if (ws.arena.size() < total) ws.arena.resize(total);
  auto data = [&](int f) -> double* {
    const Factor& fa = p.factors[f];
    switch (fa.kind) {
      case Kind::Z:
        return ws.z.data();
      case Kind::Theta:
        return ws.theta.data() + static_cast<size_t>((fa.index - 1) * m2);
      default:
        if (fa.index < 0) return ws.arena.data() + ws.offset[f];
        return fa.vars.size() == 2 ? ws.memo2.data() + static_cast<size_t>(fa.index * m2)
                                   : ws.memo.data() + static_cast<size_t>(fa.index * mp);
    }
  };
  // theta is symmetric: any orientation is "direct".
  auto direct = [&](int f, int first_var, int second_var) {
    return p.factors[f].kind == Kind::Theta || first_var < second_var;
  };
  // Steps run on demand from the final factors, so that a step whose result is already in
  // the memo (from an earlier programme) skips its whole subtree.
  auto compute = [&](const Step& s) {
    const Factor& of = p.factors[s.out];
    const std::vector<int>& out_vars = of.vars;
    double* out = data(s.out);
    const size_t k = out_vars.size();
    if (!s.other && k <= 2) {
      Eigen::Map<Eigen::VectorXd> w(ws.w.data(), m);
      if (s.unary.empty()) w.setOnes();
      for (size_t i = 0; i < s.unary.size(); ++i) {
        Eigen::Map<const Eigen::VectorXd> u(data(s.unary[i]), m);
        if (i == 0)
          w = u;
        else
          w.array() *= u.array();
      }
      if (k == 0) {
        out[0] = w.sum();
        return;
      }
      const int a = out_vars[0];
      MatrixMap A(ws.scratch_a.data(), m, m);
      Eigen::Map<Eigen::VectorXd> o(out, m);
      if (k == 1) {
        // out(a) = sum_x A(a, x) w(x)
        if (s.left.size() == 1 && direct(s.left[0], a, s.v)) {
          o.noalias() = ConstMatrixMap(data(s.left[0]), m, m) * w;
        } else {
          for (size_t i = 0; i < s.left.size(); ++i)
            load_oriented(A, data(s.left[i]), m, direct(s.left[i], a, s.v), i == 0);
          o.noalias() = A * w;
        }
        return;
      }
      // out(a, b) = sum_x A(a, x) w(x) B(x, b): a GEMM.
      const int b = out_vars[1];
      MatrixMap B(ws.scratch_b.data(), m, m), C(out, m, m);
      for (size_t i = 0; i < s.left.size(); ++i)
        load_oriented(A, data(s.left[i]), m, direct(s.left[i], a, s.v), i == 0);
      for (size_t i = 0; i < s.right.size(); ++i)
        load_oriented(B, data(s.right[i]), m, direct(s.right[i], s.v, b), i == 0);
      if (s.left.empty()) A.setOnes();
      if (s.right.empty()) B.setOnes();
      A.array().rowwise() *= w.transpose().array();
      C.noalias() = A * B;
      return;
    }
    if (!s.other && k == 3) {
      // out(a, b, c) = sum_x w(x) A(a, x) B(b, x) C(c, x) with every input on {x} or {o, x}:
      // for each a one m x m x m GEMM, (B diag(A(a, .) w)) C^T, instead of m^4 scalar steps
      // (the M^4 graphs, K4 and its relatives, start with such a step).
      Eigen::Map<Eigen::VectorXd> w(ws.w.data(), m);
      w.setOnes();
      for (int f : s.unary) w.array() *= Eigen::Map<const Eigen::VectorXd>(data(f), m).array();
      if (ws.scratch_c.size() < static_cast<size_t>(4 * m2)) ws.scratch_c.resize(static_cast<size_t>(4 * m2));
      std::array<MatrixMap, 3> side{MatrixMap(ws.scratch_c.data(), m, m), MatrixMap(ws.scratch_c.data() + m2, m, m),
                                    MatrixMap(ws.scratch_c.data() + 2 * m2, m, m)};
      std::array<bool, 3> first{true, true, true};
      for (int f : s.inputs) {
        const auto& vars = p.factors[f].vars;
        if (vars.size() != 2) continue;
        const int u = vars[0] == s.v ? vars[1] : vars[0];
        const size_t o = static_cast<size_t>(std::find(out_vars.begin(), out_vars.end(), u) - out_vars.begin());
        load_oriented(side[o], data(f), m, direct(f, u, s.v), first[o]);
        first[o] = false;
      }
      for (size_t o = 0; o < 3; ++o)
        if (first[o]) side[o].setOnes();
      MatrixMap scaled(ws.scratch_c.data() + 3 * m2, m, m);
      for (Index a = 0; a < m; ++a) {
        scaled = side[1].array().rowwise() * (side[0].row(a).array() * w.transpose().array());
        MatrixMap(out + a * m * m, m, m).noalias() = scaled * side[2].transpose();
      }
      return;
    }
    // Generic: out[t] = sum_x prod_f f[base_f(t) + x * stride_f(v)].
    const size_t nf = s.inputs.size();
    std::array<const double*, 32> ptr{};
    std::array<Index, 32> sv{};
    std::array<std::array<Index, 4>, 32> so{};
    if (nf > 32 || k > 4)
      throw Error("EFP graph too large for the evaluator (more than 32 factors or 4-vertex factors)");
    for (size_t i = 0; i < nf; ++i) {
      const Factor& fa = p.factors[s.inputs[i]];
      ptr[i] = data(s.inputs[i]);
      const size_t r = fa.vars.size();
      so[i].fill(0);
      sv[i] = 0;
      for (size_t j = 0; j < r; ++j) {
        const Index stride = ipow(m, r - 1 - j);
        if (fa.vars[j] == s.v)
          sv[i] = stride;
        else
          for (size_t o = 0; o < k; ++o)
            if (out_vars[o] == fa.vars[j]) so[i][o] = stride;
      }
    }
    const Index tuples = ipow(m, k);
    std::array<Index, 4> t{};
    std::array<Index, 32> base{};
    for (Index lin = 0; lin < tuples; ++lin) {
      for (size_t i = 0; i < nf; ++i) {
        Index b0 = 0;
        for (size_t o = 0; o < k; ++o) b0 += t[o] * so[i][o];
        base[i] = b0;
      }
      double sum = 0;
      for (Index x = 0; x < m; ++x) {
        double prod = ptr[0][base[0] + x * sv[0]];
        for (size_t i = 1; i < nf; ++i) prod *= ptr[i][base[i] + x * sv[i]];
        sum += prod;
      }
      out[lin] = sum;
      for (size_t o = k; o-- > 0;) {
        if (++t[o] < m) break;
        t[o] = 0;
      }
    }
  };
  auto ensure = [&](auto&& self, int f) -> void {
    const Factor& fa = p.factors[f];
    if (fa.kind != Kind::Temp) return;
    if (fa.index >= 0) {
      auto& done = fa.vars.size() == 2 ? ws.done2 : ws.done;
      if (done[static_cast<size_t>(fa.index)]) return;
      done[static_cast<size_t>(fa.index)] = 1;
    }
    const Step& s = p.steps[static_cast<size_t>(fa.step)];
    for (int in : s.inputs) self(self, in);
    compute(s);
  };
  double value = 1;
  for (int f : p.finals) {
    ensure(ensure, f);
    value *= data(f)[0];
  }
  return value;
}

void check_inputs(const Tensor& pt, const Tensor& eta, const Tensor& phi) {
  if (pt.rank() != 2 || eta.shape() != pt.shape() || phi.shape() != pt.shape())
    throw Error(fmt::format("EFP inputs must be [jets, particles] tensors of one shape; got pt {}, eta {}, phi {}",
                            shape_string(pt.shape()), shape_string(eta.shape()), shape_string(phi.shape())));
  const Index n = pt.dim(0), p = pt.dim(1);
  for (Index e = 0; e < n; ++e)
    for (Index j = 0; j < p; ++j) {
      const double v = pt.at(e, j);
      if (!(v >= 0) || !std::isfinite(v))
        throw Error(
            fmt::format("jet {}, particle {}: pT = {} (expected a finite value >= 0; 0 marks padding)", e, j, v));
      if (v > 0 && (!std::isfinite(eta.at(e, j)) || !std::isfinite(phi.at(e, j))))
        throw Error(
            fmt::format("jet {}, particle {}: eta = {}, phi = {} (expected finite values for a particle with pT > 0)",
                        e, j, eta.at(e, j), phi.at(e, j)));
    }
}

}  // namespace

Tensor efp_values(const Tensor& pt, const Tensor& eta, const Tensor& phi, const std::vector<EfpGraph>& graphs,
                  const EfpOptions& opt) {
  check_inputs(pt, eta, phi);
  if (!(opt.beta > 0) || !std::isfinite(opt.beta))
    throw Error(fmt::format("EFP beta = {}: the angular exponent must be > 0", opt.beta));
  if (!std::isfinite(opt.kappa)) throw Error(fmt::format("EFP kappa = {}: must be finite", opt.kappa));
  const Index n_jets = pt.dim(0), n_part = pt.dim(1), n_graphs = static_cast<Index>(graphs.size());

  // Distinct connected components (by canonical form) and their programmes.
  std::map<EdgeList, int> comp_index;
  std::map<std::string, int> memo, memo2;
  std::vector<Program> programs;
  std::vector<std::vector<int>> graph_comps(graphs.size());
  for (size_t g = 0; g < graphs.size(); ++g) {
    for (auto [a, b] : graphs[g].edges)
      if (a < 0 || b < 0 || a == b)
        throw Error(fmt::format("EFP graph {}: edge ({}, {}) is not a pair of distinct vertices", graphs[g].id, a, b));
    EdgeList edges;
    for (auto [a, b] : graphs[g].edges) edges.emplace_back(std::min(a, b), std::max(a, b));
    for (const EdgeList& c : efp_detail::components(edges)) {
      const int nv = efp_detail::vertex_count(c);
      EdgeList key = nv <= 10 ? efp_detail::canonical_edges(nv, c) : c;
      auto [it, fresh] = comp_index.emplace(key, static_cast<int>(programs.size()));
      if (fresh) programs.push_back(compile(key, memo, memo2));
      graph_comps[g].push_back(it->second);
    }
  }
  int max_power = 1;
  for (const auto& p : programs) max_power = std::max(max_power, p.max_power);
  const Index n_comp = static_cast<Index>(programs.size());

  Tensor out({n_jets, n_graphs}, 0.0);
  const Index chunk = 256;
  const Index chunks = (n_jets + chunk - 1) / chunk;
  Progress progress("EFPs", n_jets, opt.quiet || n_jets < 2 * chunk);
  const int threads = thread_count();
  std::vector<Workspace> work(static_cast<size_t>(threads));
  for (Index c0 = 0; c0 < chunks; c0 += threads * 4) {
    const Index c1 = std::min(chunks, c0 + threads * 4);
#pragma omp parallel for schedule(dynamic, 1)
    for (Index c = c0; c < c1; ++c) {
      Workspace& ws = work[static_cast<size_t>(omp_get_thread_num())];
      std::vector<double> comp(static_cast<size_t>(n_comp));
      for (Index e = c * chunk; e < std::min(n_jets, (c + 1) * chunk); ++e) {
        ws.keep.clear();
        for (Index j = 0; j < n_part; ++j)
          if (pt.at(e, j) > 0) ws.keep.push_back(j);
        const Index m = static_cast<Index>(ws.keep.size());
        double* row = out.data() + e * n_graphs;
        if (m == 0) {
          for (Index g = 0; g < n_graphs; ++g) row[g] = graph_comps[static_cast<size_t>(g)].empty() ? 1.0 : 0.0;
          continue;
        }
        const size_t m2 = static_cast<size_t>(round8(m * m)), mp = static_cast<size_t>(round8(m));
        if (ws.z.size() < static_cast<size_t>(m))
          ws.z.resize(static_cast<size_t>(m)), ws.w.resize(static_cast<size_t>(m));
        if (ws.theta.size() < m2 * max_power) ws.theta.resize(m2 * max_power);
        if (ws.scratch_a.size() < m2) ws.scratch_a.resize(m2), ws.scratch_b.resize(m2);
        if (ws.memo.size() < memo.size() * mp) ws.memo.resize(memo.size() * mp);
        if (ws.memo2.size() < memo2.size() * m2) ws.memo2.resize(memo2.size() * m2);
        ws.done.assign(memo.size(), 0);
        ws.done2.assign(memo2.size(), 0);
        double zsum = 0;
        for (Index i = 0; i < m; ++i) {
          const double v = pt.at(e, ws.keep[i]);
          ws.z[i] = opt.kappa == 1.0 ? v : std::pow(v, opt.kappa);
          zsum += ws.z[i];
        }
        for (Index i = 0; i < m; ++i) ws.z[i] /= zsum;
        double* th = ws.theta.data();
        for (Index i = 0; i < m; ++i) {
          th[i * m + i] = 0;
          for (Index j = i + 1; j < m; ++j) {
            const double de = eta.at(e, ws.keep[i]) - eta.at(e, ws.keep[j]);
            const double dp = physics::delta_phi(phi.at(e, ws.keep[i]), phi.at(e, ws.keep[j]));
            const double r2 = de * de + dp * dp;
            const double t = opt.beta == 2.0 ? r2 : opt.beta == 1.0 ? std::sqrt(r2) : std::pow(r2, 0.5 * opt.beta);
            th[i * m + j] = th[j * m + i] = t;
          }
        }
        for (int pw = 2; pw <= max_power; ++pw)
          for (size_t q = 0; q < static_cast<size_t>(m * m); ++q) th[(pw - 1) * m2 + q] = th[(pw - 2) * m2 + q] * th[q];
        for (Index c2 = 0; c2 < n_comp; ++c2)
          comp[static_cast<size_t>(c2)] = run(programs[static_cast<size_t>(c2)], ws, m);
        for (Index g = 0; g < n_graphs; ++g) {
          double v = 1;
          for (int ci : graph_comps[static_cast<size_t>(g)]) v *= comp[static_cast<size_t>(ci)];
          row[g] = v;
        }
      }
    }
    progress.update(std::min(n_jets, c1 * chunk));
  }
  progress.finish();
  return out;
}

std::string efp_column_name(const EfpGraph& g) { return fmt::format("efp_{}", g.id); }

nlohmann::json efp_graph_json(const EfpGraph& g) {
  nlohmann::json edges = nlohmann::json::array();
  for (auto [a, b] : g.edges) edges.push_back({a, b});
  return {{"id", g.id},
          {"name", efp_column_name(g)},
          {"n", g.n},
          {"d", g.d},
          {"chromatic_number", g.chromatic_number},
          {"ve_complexity", g.ve_complexity},
          {"connected", g.connected},
          {"edges", edges}};
}

std::string efp_graph_table(const std::vector<EfpGraph>& graphs) {
  std::string t = fmt::format("{:>5}  {:<9} {:>2} {:>2} {:>9} {:>10} {:>9}  {}\n", "id", "column", "n", "d",
                              "chromatic", "VE cost", "connected", "edges");
  for (const EfpGraph& g : graphs) {
    std::string e;
    for (auto [a, b] : g.edges) e += fmt::format("{}{}-{}", e.empty() ? "" : " ", a, b);
    if (e.empty()) e = "(none: the constant 1)";
    t += fmt::format("{:>5}  {:<9} {:>2} {:>2} {:>9} {:>10} {:>9}  {}\n", g.id, efp_column_name(g), g.n, g.d,
                     g.chromatic_number, g.d == 0 ? std::string("1") : fmt::format("M^{}", g.ve_complexity),
                     g.connected ? "yes" : "no", e);
  }
  return t;
}

}  // namespace unbox
