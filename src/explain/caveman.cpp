// Caveman variables (Roxlo & Reece section 2.6 and appendix A).
#include "unbox/explain/caveman.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "unbox/cancel.hpp"
#include "unbox/explain/maximize.hpp"
#include "unbox/metrics.hpp"
#include "unbox/parallel.hpp"
#include "unbox/random.hpp"

namespace unbox {

// ---- DBSCAN ------------------------------------------------------------------------

namespace {

// Points bucketed in a grid of cell size eps: neighbours of a point lie in the 3^dim
// cells around its own.
struct Grid {
  int dim = 0;
  Index cells_per_axis = 0;
  double eps = 0;
  std::vector<Index> start;  // cell -> first entry in `order`
  std::vector<Index> order;  // point ids sorted by cell
  std::vector<Index> cell_of;

  Grid(const std::vector<double>& pts, int dim_, double eps_) : dim(dim_), eps(eps_) {
    const Index n = static_cast<Index>(pts.size()) / dim;
    cells_per_axis = std::max<Index>(1, static_cast<Index>(std::ceil(1.0 / eps)) + 1);
    Index cells = 1;
    for (int k = 0; k < dim; ++k) cells *= cells_per_axis;
    cell_of.resize(static_cast<size_t>(n));
    start.assign(static_cast<size_t>(cells + 1), 0);
    for (Index p = 0; p < n; ++p) {
      Index c = 0;
      for (int k = 0; k < dim; ++k) c = c * cells_per_axis + axis_cell(pts[static_cast<size_t>(p * dim + k)]);
      cell_of[static_cast<size_t>(p)] = c;
      ++start[static_cast<size_t>(c + 1)];
    }
    for (Index c = 0; c < cells; ++c) start[static_cast<size_t>(c + 1)] += start[static_cast<size_t>(c)];
    order.resize(static_cast<size_t>(n));
    std::vector<Index> fillpos(start.begin(), start.end() - 1);
    for (Index p = 0; p < n; ++p)
      order[static_cast<size_t>(fillpos[static_cast<size_t>(cell_of[static_cast<size_t>(p)])]++)] = p;
  }
  Index axis_cell(double v) const {
    return std::clamp<Index>(static_cast<Index>(std::floor(v / eps)), 0, cells_per_axis - 1);
  }
  // Calls f(q) for every point q within eps of the location x (including itself).
  template <class F>
  void neighbours(const std::vector<double>& pts, const double* x, F f) const {
    Index base[3] = {0, 0, 0};
    for (int k = 0; k < dim; ++k) base[k] = axis_cell(x[k]);
    const int combos = dim == 1 ? 3 : dim == 2 ? 9 : 27;
    for (int m = 0; m < combos; ++m) {
      Index c = 0;
      int mm = m;
      bool ok = true;
      for (int k = 0; k < dim; ++k) {
        const Index a = base[k] + (mm % 3) - 1;
        mm /= 3;
        if (a < 0 || a >= cells_per_axis) ok = false;
        c = c * cells_per_axis + a;
      }
      if (!ok) continue;
      for (Index s = start[static_cast<size_t>(c)]; s < start[static_cast<size_t>(c + 1)]; ++s) {
        const Index q = order[static_cast<size_t>(s)];
        double d2 = 0;
        for (int k = 0; k < dim; ++k) {
          const double t = pts[static_cast<size_t>(q * dim + k)] - x[k];
          d2 += t * t;
        }
        if (d2 <= eps * eps) f(q);
      }
    }
  }
};

}  // namespace

std::vector<int> dbscan(const std::vector<double>& pts, int dim, double eps, Index min_points) {
  if (dim < 1 || dim > 3) throw Error("dbscan: dimension must be 1, 2 or 3");
  const Index n = static_cast<Index>(pts.size()) / dim;
  Grid grid(pts, dim, eps);
  std::vector<Index> count(static_cast<size_t>(n), 0);
  for (Index p = 0; p < n; ++p)
    grid.neighbours(pts, &pts[static_cast<size_t>(p * dim)], [&](Index) { ++count[static_cast<size_t>(p)]; });
  std::vector<int> label(static_cast<size_t>(n), -1);
  std::vector<Index> queue;
  int next = 0;
  for (Index p = 0; p < n; ++p) {
    if (label[static_cast<size_t>(p)] >= 0 || count[static_cast<size_t>(p)] < min_points) continue;
    const int id = next++;
    label[static_cast<size_t>(p)] = id;
    queue.assign(1, p);
    while (!queue.empty()) {
      const Index q = queue.back();
      queue.pop_back();
      if (count[static_cast<size_t>(q)] < min_points) continue;  // border point: no expansion
      grid.neighbours(pts, &pts[static_cast<size_t>(q * dim)], [&](Index r) {
        if (label[static_cast<size_t>(r)] < 0) {
          label[static_cast<size_t>(r)] = id;
          queue.push_back(r);
        }
      });
    }
  }
  return label;
}

// ---- terms -------------------------------------------------------------------------

namespace {
double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

const char* kind_name(CavemanTerm::Kind k) {
  switch (k) {
    case CavemanTerm::Kind::Interior:
      return "interior";
    case CavemanTerm::Kind::Boundary:
      return "boundary";
    case CavemanTerm::Kind::Linear:
      return "linear";
  }
  return "?";
}

// "+ 1.23·x" style pieces: the first without a leading plus.
void append_signed(std::string& s, double c, const std::string& what) {
  const std::string num = fmt::format("{:.4g}", std::abs(c));
  const std::string body = what.empty() ? num : (num == "1" ? what : num + "·" + what);
  if (s.empty())
    s = (c < 0 ? "-" : "") + body;
  else
    s += (c < 0 ? " - " : " + ") + body;
}
}  // namespace

double CavemanTerm::value(const double* x) const {
  if (kind == Kind::Linear) return x[0];
  double z = constant;
  for (size_t i = 0; i < linear.size(); ++i) z += linear[i] * x[i];
  for (const auto& q : quadratic) z += q.c * x[q.i] * x[q.j];
  return kind == Kind::Interior ? sigmoid(z) : z;
}

std::string CavemanTerm::polynomial_text() const {
  std::string s;
  if (constant != 0) append_signed(s, constant, "");
  for (size_t i = 0; i < linear.size(); ++i)
    if (linear[i] != 0) append_signed(s, linear[i], variables[i]);
  for (const auto& q : quadratic) {
    if (q.c == 0) continue;
    const auto& a = variables[static_cast<size_t>(q.i)];
    const auto& b = variables[static_cast<size_t>(q.j)];
    append_signed(s, q.c, q.i == q.j ? a + "²" : a + "·" + b);
  }
  return s.empty() ? "0" : s;
}

std::string CavemanTerm::text() const {
  switch (kind) {
    case Kind::Linear:
      return variables.at(0);
    case Kind::Interior:
      return "sigmoid(" + polynomial_text() + ")";
    case Kind::Boundary:
      return "(" + polynomial_text() + ")";
  }
  return "";
}

nlohmann::json CavemanTerm::to_json() const {
  nlohmann::json j;
  j["kind"] = kind_name(kind);
  j["variables"] = variables;
  j["coefficient"] = coefficient;
  j["constant"] = constant;
  j["linear"] = linear;
  nlohmann::json q = nlohmann::json::array();
  for (const auto& e : quadratic) q.push_back({{"i", e.i}, {"j", e.j}, {"c", e.c}});
  j["quadratic"] = q;
  j["cluster_points"] = cluster_points;
  j["histogram_score"] = histogram_score;
  j["formula"] = text();
  return j;
}

CavemanTerm CavemanTerm::from_json(const nlohmann::json& j) {
  CavemanTerm t;
  const std::string k = j.at("kind").get<std::string>();
  if (k == "interior")
    t.kind = Kind::Interior;
  else if (k == "boundary")
    t.kind = Kind::Boundary;
  else if (k == "linear")
    t.kind = Kind::Linear;
  else
    throw Error(fmt::format("unknown caveman term kind '{}'", k));
  t.variables = j.at("variables").get<std::vector<std::string>>();
  t.coefficient = j.at("coefficient").get<double>();
  t.constant = j.value("constant", 0.0);
  t.linear = j.value("linear", std::vector<double>{});
  if (j.contains("quadratic"))
    for (const auto& q : j["quadratic"]) {
      const int a = q.at("i").get<int>(), b = q.at("j").get<int>();
      if (a < 0 || b < 0 || a >= static_cast<int>(t.variables.size()) || b >= static_cast<int>(t.variables.size()))
        throw Error("caveman term: quadratic index out of range");
      t.quadratic.push_back({a, b, q.at("c").get<double>()});
    }
  if (t.variables.empty() || t.variables.size() > 3) throw Error("caveman term: needs 1 to 3 variables");
  if (t.kind != Kind::Linear && t.linear.size() != t.variables.size())
    throw Error("caveman term: 'linear' needs one coefficient per variable");
  t.cluster_points = j.value("cluster_points", Index{0});
  t.histogram_score = j.value("histogram_score", 0.0);
  return t;
}

std::string CavemanVariable::formula() const {
  std::string s = fmt::format("{} ≈ {:.4g}", neuron.empty() ? "caveman" : neuron, intercept);
  for (const auto& t : terms)
    s += fmt::format(" {} {:.4g}·{}", t.coefficient < 0 ? "-" : "+", std::abs(t.coefficient), t.text());
  return s;
}

std::vector<double> CavemanVariable::evaluate(const Dataset& data) const {
  const Index n = data.events();
  std::vector<double> out(static_cast<size_t>(n), intercept);
  std::vector<const Tensor*> cols;
  for (const auto& t : terms) {
    cols.clear();
    for (const auto& v : t.variables) {
      const Tensor& c = data.get(v);
      if (c.rank() != 1) throw Error(fmt::format("'{}' in '{}' is not a column", v, data.source));
      cols.push_back(&c);
    }
    double x[3];
    for (Index e = 0; e < n; ++e) {
      for (size_t k = 0; k < cols.size(); ++k) x[k] = (*cols[k])[e];
      out[static_cast<size_t>(e)] += t.coefficient * t.value(x);
    }
  }
  return out;
}

nlohmann::json CavemanVariable::to_json() const {
  nlohmann::json j;
  j["unbox"] = "caveman variable";
  j["version"] = 1;
  j["neuron"] = neuron;
  j["formula"] = formula();
  j["intercept"] = intercept;
  nlohmann::json t = nlohmann::json::array();
  for (const auto& term : terms) t.push_back(term.to_json());
  j["terms"] = t;
  return j;
}

CavemanVariable CavemanVariable::from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("unbox", std::string()) != "caveman variable")
    throw Error("not a caveman variable file (a caveman variable's JSON)");
  CavemanVariable v;
  v.neuron = j.value("neuron", std::string());
  v.intercept = j.at("intercept").get<double>();
  for (const auto& t : j.at("terms")) v.terms.push_back(CavemanTerm::from_json(t));
  return v;
}

// ---- building the variable -----------------------------------------------------------

namespace {

struct Candidate {
  CavemanTerm term;
  std::vector<int> vars;          // input indices
  std::vector<double> positives;  // cluster points in [0,1]^k (row-major)
};

// Fit one island's function in centred unit coordinates v = 2s - 1, then express it in
// physical units. Interior: sigmoid of a full quadratic, balanced cross-entropy.
// Boundary: x, y, xy (no squares), unclamped, mean squared error to 0/1.
void fit_term(Candidate& cand, const std::vector<double>& lo, const std::vector<double>& hi, double eps,
              const CavemanOptions& o, std::uint64_t seed) {
  const int k = static_cast<int>(cand.vars.size());
  const bool interior = cand.term.kind == CavemanTerm::Kind::Interior;
  Rng rng(seed);
  // "1 within the area of the cluster and 0 elsewhere": uniform points of the box,
  // labelled by whether an island point lies within eps. Fitting the island's area
  // rather than its points keeps the dense piles that gradient ascent leaves along
  // threshold contours from dragging the function toward them.
  const double reach = eps;
  Grid grid(cand.positives, k, reach);
  std::vector<double> pos, neg;
  constexpr Index kSamples = 4000;
  for (Index s = 0; s < kSamples; ++s) {
    double x[3];
    for (int a = 0; a < k; ++a) x[a] = rng.uniform();
    bool near = false;
    grid.neighbours(cand.positives, x, [&](Index) { near = true; });
    (near ? pos : neg).insert(near ? pos.end() : neg.end(), x, x + k);
  }
  // A tiny island may catch few uniform points: its own points make up the difference.
  const Index np_all = static_cast<Index>(cand.positives.size()) / k;
  for (Index s = 0; static_cast<Index>(pos.size()) / k < 200 && s < std::min<Index>(np_all, 500); ++s) {
    const Index src = static_cast<Index>(rng.below(static_cast<std::uint64_t>(np_all)));
    pos.insert(pos.end(), cand.positives.begin() + src * k, cand.positives.begin() + (src + 1) * k);
  }
  const Index np = static_cast<Index>(pos.size()) / k;
  const Index nn = static_cast<Index>(neg.size()) / k;
  // Feature layout: 1, v_a, then v_a v_b for a <= b (interior) or a < b (boundary).
  std::vector<std::pair<int, int>> quads;
  for (int a = 0; a < k; ++a)
    for (int b = a; b < k; ++b)
      if (interior || a != b) quads.emplace_back(a, b);
  const int nf = 1 + k + static_cast<int>(quads.size());
  const Index n = np + nn;
  std::vector<double> F(static_cast<size_t>(n * nf)), y(static_cast<size_t>(n)), w(static_cast<size_t>(n));
  for (Index e = 0; e < n; ++e) {
    const bool is_pos = e < np;
    const double* s = is_pos ? &pos[static_cast<size_t>(e * k)] : &neg[static_cast<size_t>((e - np) * k)];
    double v[3];
    for (int a = 0; a < k; ++a) v[a] = 2 * s[a] - 1;
    double* f = &F[static_cast<size_t>(e * nf)];
    f[0] = 1;
    for (int a = 0; a < k; ++a) f[1 + a] = v[a];
    for (size_t q = 0; q < quads.size(); ++q) f[1 + k + static_cast<int>(q)] = v[quads[q].first] * v[quads[q].second];
    y[static_cast<size_t>(e)] = is_pos;
    // Each class carries half the total weight.
    w[static_cast<size_t>(e)] = 0.5 / static_cast<double>(std::max<Index>(is_pos ? np : nn, 1));
  }
  std::vector<double> beta(static_cast<size_t>(nf), 0.0), m(static_cast<size_t>(nf), 0.0),
      vv(static_cast<size_t>(nf), 0.0), g(static_cast<size_t>(nf));
  for (Index it = 0; it < o.fit_iterations; ++it) {
    check_cancelled();  // inside parallel_for, which rethrows after its region
    std::fill(g.begin(), g.end(), 0.0);
    for (Index e = 0; e < n; ++e) {
      const double* f = &F[static_cast<size_t>(e * nf)];
      double z = 0;
      for (int j = 0; j < nf; ++j) z += beta[static_cast<size_t>(j)] * f[j];
      // Cross-entropy through the sigmoid and squared error have the same residual form.
      const double r = (interior ? sigmoid(z) : z) - y[static_cast<size_t>(e)];
      const double we = w[static_cast<size_t>(e)] * (interior ? 1.0 : 2.0);
      for (int j = 0; j < nf; ++j) g[static_cast<size_t>(j)] += we * r * f[j];
    }
    const double c1 = 1 - std::pow(0.9, static_cast<double>(it + 1)),
                 c2 = 1 - std::pow(0.999, static_cast<double>(it + 1));
    for (int j = 0; j < nf; ++j) {
      m[static_cast<size_t>(j)] = 0.9 * m[static_cast<size_t>(j)] + 0.1 * g[static_cast<size_t>(j)];
      vv[static_cast<size_t>(j)] =
          0.999 * vv[static_cast<size_t>(j)] + 0.001 * g[static_cast<size_t>(j)] * g[static_cast<size_t>(j)];
      beta[static_cast<size_t>(j)] -=
          o.fit_learning_rate * (m[static_cast<size_t>(j)] / c1) / (std::sqrt(vv[static_cast<size_t>(j)] / c2) + 1e-12);
    }
  }
  // v_a = A_a x_a + B_a with x in physical units.
  std::vector<double> A(static_cast<size_t>(k)), B(static_cast<size_t>(k));
  for (int a = 0; a < k; ++a) {
    const double lo_a = lo[static_cast<size_t>(cand.vars[static_cast<size_t>(a)])];
    const double w_a = hi[static_cast<size_t>(cand.vars[static_cast<size_t>(a)])] - lo_a;
    A[static_cast<size_t>(a)] = w_a > 0 ? 2.0 / w_a : 0.0;
    B[static_cast<size_t>(a)] = w_a > 0 ? -2.0 * lo_a / w_a - 1.0 : 0.0;
  }
  CavemanTerm& t = cand.term;
  t.constant = beta[0];
  t.linear.assign(static_cast<size_t>(k), 0.0);
  for (int a = 0; a < k; ++a) {
    t.constant += beta[static_cast<size_t>(1 + a)] * B[static_cast<size_t>(a)];
    t.linear[static_cast<size_t>(a)] += beta[static_cast<size_t>(1 + a)] * A[static_cast<size_t>(a)];
  }
  t.quadratic.clear();
  for (size_t q = 0; q < quads.size(); ++q) {
    const int a = quads[q].first, b = quads[q].second;
    const double c = beta[static_cast<size_t>(1 + k) + q];
    // c (A_a x_a + B_a)(A_b x_b + B_b)
    t.quadratic.push_back({a, b, c * A[static_cast<size_t>(a)] * A[static_cast<size_t>(b)]});
    t.linear[static_cast<size_t>(a)] += c * A[static_cast<size_t>(a)] * B[static_cast<size_t>(b)];
    t.linear[static_cast<size_t>(b)] += c * B[static_cast<size_t>(a)] * A[static_cast<size_t>(b)];
    t.constant += c * B[static_cast<size_t>(a)] * B[static_cast<size_t>(b)];
  }
}

// Least squares (with a whisper of ridge for collinear terms) on a Gram system.
std::vector<double> solve_spd(std::vector<double> G, std::vector<double> c, Index p) {
  for (Index i = 0; i < p; ++i) G[static_cast<size_t>(i * p + i)] += 1e-9 + 1e-9 * G[static_cast<size_t>(i * p + i)];
  // Cholesky
  for (Index j = 0; j < p; ++j) {
    double s = G[static_cast<size_t>(j * p + j)];
    for (Index k = 0; k < j; ++k) s -= G[static_cast<size_t>(j * p + k)] * G[static_cast<size_t>(j * p + k)];
    const double d = std::sqrt(std::max(s, 1e-300));
    G[static_cast<size_t>(j * p + j)] = d;
    for (Index i = j + 1; i < p; ++i) {
      double t = G[static_cast<size_t>(i * p + j)];
      for (Index k = 0; k < j; ++k) t -= G[static_cast<size_t>(i * p + k)] * G[static_cast<size_t>(j * p + k)];
      G[static_cast<size_t>(i * p + j)] = t / d;
    }
  }
  for (Index i = 0; i < p; ++i) {
    double t = c[static_cast<size_t>(i)];
    for (Index k = 0; k < i; ++k) t -= G[static_cast<size_t>(i * p + k)] * c[static_cast<size_t>(k)];
    c[static_cast<size_t>(i)] = t / G[static_cast<size_t>(i * p + i)];
  }
  for (Index i = p - 1; i >= 0; --i) {
    double t = c[static_cast<size_t>(i)];
    for (Index k = i + 1; k < p; ++k) t -= G[static_cast<size_t>(k * p + i)] * c[static_cast<size_t>(k)];
    c[static_cast<size_t>(i)] = t / G[static_cast<size_t>(i * p + i)];
  }
  return c;
}

// The linear combination z ~ intercept + sum_j beta_j T_j: L1-penalized least squares on
// standardized terms (coordinate descent on the Gram matrix, the exact minimizer of the
// paper's L1-regularized objective), the penalty chosen by bisection as the smallest that
// leaves at most `max_terms` terms, then an unpenalized refit on those terms.
void combine(const std::vector<double>& T, Index n, Index p, const std::vector<double>& z, Index max_terms,
             std::vector<double>& coef, double& intercept) {
  std::vector<double> mu(static_cast<size_t>(p), 0.0), sd(static_cast<size_t>(p), 0.0);
  double zbar = 0;
  for (Index e = 0; e < n; ++e) zbar += z[static_cast<size_t>(e)];
  zbar /= static_cast<double>(n);
  for (Index e = 0; e < n; ++e)
    for (Index j = 0; j < p; ++j) mu[static_cast<size_t>(j)] += T[static_cast<size_t>(e * p + j)];
  for (auto& v : mu) v /= static_cast<double>(n);
  std::vector<double> G(static_cast<size_t>(p * p), 0.0), c(static_cast<size_t>(p), 0.0);
  for (Index e = 0; e < n; ++e) {
    const double* t = &T[static_cast<size_t>(e * p)];
    const double ze = z[static_cast<size_t>(e)] - zbar;
    for (Index i = 0; i < p; ++i) {
      const double ti = t[i] - mu[static_cast<size_t>(i)];
      c[static_cast<size_t>(i)] += ti * ze;
      for (Index j = 0; j <= i; ++j) G[static_cast<size_t>(i * p + j)] += ti * (t[j] - mu[static_cast<size_t>(j)]);
    }
  }
  for (Index i = 0; i < p; ++i)
    for (Index j = 0; j <= i; ++j) G[static_cast<size_t>(j * p + i)] = G[static_cast<size_t>(i * p + j)];
  for (Index i = 0; i < p; ++i)
    sd[static_cast<size_t>(i)] = std::sqrt(G[static_cast<size_t>(i * p + i)] / static_cast<double>(n));
  // Standardized Gram (terms with no spread are left out).
  std::vector<double> Gs(static_cast<size_t>(p * p), 0.0), cs(static_cast<size_t>(p), 0.0);
  std::vector<bool> usable(static_cast<size_t>(p));
  for (Index i = 0; i < p; ++i) {
    usable[static_cast<size_t>(i)] = sd[static_cast<size_t>(i)] > 1e-12;
    if (!usable[static_cast<size_t>(i)]) continue;
    cs[static_cast<size_t>(i)] = c[static_cast<size_t>(i)] / (static_cast<double>(n) * sd[static_cast<size_t>(i)]);
    for (Index j = 0; j < p; ++j)
      if (sd[static_cast<size_t>(j)] > 1e-12)
        Gs[static_cast<size_t>(i * p + j)] =
            G[static_cast<size_t>(i * p + j)] /
            (static_cast<double>(n) * sd[static_cast<size_t>(i)] * sd[static_cast<size_t>(j)]);
  }
  auto lasso = [&](double lambda) {
    std::vector<double> b(static_cast<size_t>(p), 0.0);
    for (int sweep = 0; sweep < 500; ++sweep) {
      double change = 0;
      for (Index j = 0; j < p; ++j) {
        if (!usable[static_cast<size_t>(j)]) continue;
        double r = cs[static_cast<size_t>(j)];
        for (Index k = 0; k < p; ++k)
          if (k != j) r -= Gs[static_cast<size_t>(j * p + k)] * b[static_cast<size_t>(k)];
        const double nb = (r > lambda    ? r - lambda
                           : r < -lambda ? r + lambda
                                         : 0.0) /
                          Gs[static_cast<size_t>(j * p + j)];
        change = std::max(change, std::abs(nb - b[static_cast<size_t>(j)]));
        b[static_cast<size_t>(j)] = nb;
      }
      if (change < 1e-10) break;
    }
    return b;
  };
  auto nnz = [](const std::vector<double>& b) {
    Index k = 0;
    for (double v : b) k += v != 0.0;
    return k;
  };
  double lmax = 0;
  for (Index j = 0; j < p; ++j)
    if (usable[static_cast<size_t>(j)]) lmax = std::max(lmax, std::abs(cs[static_cast<size_t>(j)]));
  std::vector<double> best(static_cast<size_t>(p), 0.0);
  if (lmax > 0) {
    // Smallest lambda (log-bisection) with at most max_terms non-zero coefficients.
    double hi = lmax, lo = lmax * 1e-6;
    std::vector<double> b_lo = lasso(lo);
    if (nnz(b_lo) <= max_terms)
      best = b_lo;
    else {
      best = lasso(hi * 0.999);
      for (int it = 0; it < 40; ++it) {
        const double mid = std::sqrt(hi * lo);
        auto b = lasso(mid);
        if (nnz(b) <= max_terms) {
          hi = mid;
          best = b;
        } else {
          lo = mid;
        }
      }
    }
  }
  std::vector<Index> support;
  for (Index j = 0; j < p; ++j)
    if (best[static_cast<size_t>(j)] != 0.0) support.push_back(j);
  coef.assign(static_cast<size_t>(p), 0.0);
  intercept = zbar;
  if (support.empty()) return;
  const Index s = static_cast<Index>(support.size());
  std::vector<double> Gss(static_cast<size_t>(s * s)), css(static_cast<size_t>(s));
  for (Index a = 0; a < s; ++a) {
    css[static_cast<size_t>(a)] = cs[static_cast<size_t>(support[static_cast<size_t>(a)])];
    for (Index b = 0; b < s; ++b)
      Gss[static_cast<size_t>(a * s + b)] =
          Gs[static_cast<size_t>(support[static_cast<size_t>(a)] * p + support[static_cast<size_t>(b)])];
  }
  auto sol = solve_spd(Gss, css, s);
  for (Index a = 0; a < s; ++a) {
    const Index j = support[static_cast<size_t>(a)];
    coef[static_cast<size_t>(j)] = sol[static_cast<size_t>(a)] / sd[static_cast<size_t>(j)];
    intercept -= coef[static_cast<size_t>(j)] * mu[static_cast<size_t>(j)];
  }
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  if (n < 2) return 0.0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

// Values of a variable's terms (not yet weighted) for the given events of x ([N, d]).
std::vector<double> term_matrix(const std::vector<Candidate>& cands, const Tensor& x, const std::vector<Index>& rows) {
  const Index d = x.per_event(), p = static_cast<Index>(cands.size()), n = static_cast<Index>(rows.size());
  std::vector<double> T(static_cast<size_t>(n * p));
#pragma omp parallel for schedule(static)
  for (Index e = 0; e < n; ++e) {
    const double* xe = x.data() + rows[static_cast<size_t>(e)] * d;
    for (Index j = 0; j < p; ++j) {
      const auto& c = cands[static_cast<size_t>(j)];
      double v[3];
      for (size_t a = 0; a < c.vars.size(); ++a) v[a] = xe[c.vars[a]];
      T[static_cast<size_t>(e * p + j)] = c.term.value(v);
    }
  }
  return T;
}

// The ROC of `scores` on held-out events, every k-th point kept (first and last always) so
// that a result file holds at most ~200 points per curve.
CavemanResult::Curve thinned_roc(const std::vector<double>& scores, const std::vector<double>& labels) {
  const RocCurve c = roc_curve(scores, labels);
  CavemanResult::Curve out;
  const size_t n = c.fpr.size(), step = std::max<size_t>(1, n / 200);
  for (size_t i = 0; i < n; ++i)
    if (i % step == 0 || i + 1 == n) {
      out.fpr.push_back(c.fpr[i]);
      out.tpr.push_back(c.tpr[i]);
    }
  return out;
}

}  // namespace

CavemanResult caveman(const Network& net, const Events& events, const CavemanOptions& o) {
  events.check_model(net, "caveman");
  const Dataset& data = events.data();
  const Dataset& population = o.population;
  const std::string& neuron = o.neuron;
  if (net.input_nodes().size() != 1 || net.node(net.input_nodes()[0]).shape.size() != 1)
    throw Error("caveman needs a model with one flat input (a list of named features)");
  if (o.terms < 1) throw Error("the number of terms must be at least 1");
  const NeuronRef ref = net.resolve(neuron);
  const auto& names = events.feature_names(0);
  const Index d = static_cast<Index>(names.size());
  const Tensor& x = events.inputs()[0];
  const Index N = x.events();
  if (N < 10) throw Error(fmt::format("'{}' has too few events for a caveman variable", data.source));
  events.require_labels("caveman");
  std::vector<double> labels = events.labels();

  // The population: its converged points (the activation-maximization set).
  for (const auto& c : {std::string("converged")})
    if (!population.has(c))
      throw Error(fmt::format("'{}' is not a maximize population: no column '{}'", population.source, c));
  const Tensor& conv = population.get("converged");
  std::vector<Index> rows;
  for (Index p = 0; p < population.events(); ++p)
    if (conv[p] == 1.0) rows.push_back(p);
  if (rows.empty())
    throw Error(fmt::format("no converged points in '{}'; rerun maximize with a reachable threshold or more steps",
                            population.source));
  const Index M = static_cast<Index>(rows.size());
  Tensor pts({M, d});
  std::vector<std::uint8_t> bnd(static_cast<size_t>(M * d), 0);
  for (Index i = 0; i < d; ++i) {
    const Tensor& col = population.get(names[static_cast<size_t>(i)]);
    const std::string bname = "boundary_" + names[static_cast<size_t>(i)];
    const Tensor* bcol = population.has(bname) ? &population.get(bname) : nullptr;
    for (Index p = 0; p < M; ++p) {
      pts[p * d + i] = col[rows[static_cast<size_t>(p)]];
      if (bcol) bnd[static_cast<size_t>(p * d + i)] = (*bcol)[rows[static_cast<size_t>(p)]] != 0.0;
    }
  }
  // Axis ranges: the data's range widened to the population's (a std box may go beyond).
  std::vector<double> lo(static_cast<size_t>(d)), hi(static_cast<size_t>(d));
  for (Index i = 0; i < d; ++i) {
    double a = x[i], b = x[i];
    for (Index e = 0; e < N; ++e) {
      a = std::min(a, x[e * d + i]);
      b = std::max(b, x[e * d + i]);
    }
    for (Index p = 0; p < M; ++p) {
      a = std::min(a, pts[p * d + i]);
      b = std::max(b, pts[p * d + i]);
    }
    lo[static_cast<size_t>(i)] = a;
    hi[static_cast<size_t>(i)] = b;
  }

  HistogramOptions ho;
  ho.top = o.histograms_per_dim;
  PopulationHistograms hists = population_histograms(pts, names, lo, hi, ho);

  // A seeded subsample of the population for clustering.
  Rng rng(o.seed);
  std::vector<Index> perm(static_cast<size_t>(M));
  std::iota(perm.begin(), perm.end(), 0);
  rng.shuffle(perm);
  const Index S = std::min(M, o.cluster_points);
  perm.resize(static_cast<size_t>(S));
  std::sort(perm.begin(), perm.end());

  std::vector<Candidate> cands;
  std::vector<double> cand_eps;
  auto consider = [&](const PopulationHistogram& h) {
    const int k = static_cast<int>(h.vars.size());
    const double unit_ball = k == 1 ? 2.0 : k == 2 ? M_PI : 4.0 * M_PI / 3.0;
    const double eps = std::pow(o.expected_neighbours / (static_cast<double>(S) * unit_ball), 1.0 / k);
    const auto min_pts = static_cast<Index>(std::ceil(o.density_factor * o.expected_neighbours));
    std::vector<double> u(static_cast<size_t>(S * k));
    for (Index s = 0; s < S; ++s)
      for (int a = 0; a < k; ++a) {
        const int v = h.vars[static_cast<size_t>(a)];
        const double w = hi[static_cast<size_t>(v)] - lo[static_cast<size_t>(v)];
        u[static_cast<size_t>(s * k + a)] =
            w > 0 ? (pts[perm[static_cast<size_t>(s)] * d + v] - lo[static_cast<size_t>(v)]) / w : 0.5;
      }
    auto lab = dbscan(u, k, eps, min_pts);
    int nclus = 0;
    for (int l : lab) nclus = std::max(nclus, l + 1);
    std::vector<Index> sizes(static_cast<size_t>(nclus), 0);
    for (int l : lab)
      if (l >= 0) ++sizes[static_cast<size_t>(l)];
    std::vector<int> order(static_cast<size_t>(nclus));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return sizes[static_cast<size_t>(a)] > sizes[static_cast<size_t>(b)]; });
    const int kept = std::min<int>(nclus, static_cast<int>(o.max_clusters));
    std::vector<char> top_cluster(static_cast<size_t>(nclus), 0);
    for (int r = 0; r < kept; ++r) top_cluster[static_cast<size_t>(order[static_cast<size_t>(r)])] = 1;
    // Each island's points that touch the box boundary in one of the histogram's
    // variables ("runaway" directions) and its interior points become separate terms.
    // With several islands, their union is one more candidate: one quadratic can cover
    // islands that belong together (opposite quadrants: -x·y) and L1 picks what serves.
    auto add = [&](int id) {  // id < 0: the union of the kept islands
      for (int part = 0; part < 2; ++part) {
        Candidate c;
        c.vars = h.vars;
        c.term.kind = part == 0 ? CavemanTerm::Kind::Interior : CavemanTerm::Kind::Boundary;
        c.term.variables = h.names;
        c.term.histogram_score = h.score;
        for (Index s = 0; s < S; ++s) {
          const int l = lab[static_cast<size_t>(s)];
          if (l < 0 || (id >= 0 ? l != id : !top_cluster[static_cast<size_t>(l)])) continue;
          bool on_boundary = false;
          for (int v : h.vars) on_boundary |= bnd[static_cast<size_t>(perm[static_cast<size_t>(s)] * d + v)] != 0;
          if (on_boundary != (part == 1)) continue;
          c.positives.insert(c.positives.end(), u.begin() + s * k, u.begin() + (s + 1) * k);
        }
        c.term.cluster_points = static_cast<Index>(c.positives.size()) / k;
        if (static_cast<double>(c.term.cluster_points) >= o.min_cluster_fraction * static_cast<double>(S)) {
          cands.push_back(std::move(c));
          cand_eps.push_back(eps);
        }
      }
    };
    for (int r = 0; r < kept; ++r) add(order[static_cast<size_t>(r)]);
    if (kept >= 2) add(-1);
  };
  // Progress in thousandths: clustering the histograms 0-300, fitting the candidates
  // 300-900, the combinations 900-1000.
  ProgressCounter progress(o.progress, 1000);
  const Index n_hists = static_cast<Index>(hists.one.size() + hists.two.size() + hists.three.size());
  Index considered = 0;
  for (const auto* group : {&hists.one, &hists.two, &hists.three})
    for (const auto& h : *group) {
      check_cancelled();
      consider(h);
      ++considered;
      progress.add(300 * considered / n_hists - 300 * (considered - 1) / n_hists);
    }
  if (n_hists == 0) progress.add(300);

  const Index n_cands = static_cast<Index>(cands.size());
  parallel_for(n_cands, [&](Index j) {
    fit_term(cands[static_cast<size_t>(j)], lo, hi, cand_eps[static_cast<size_t>(j)], o,
             o.seed * 1000003ULL + static_cast<std::uint64_t>(j));
    progress.add(600 * (j + 1) / n_cands - 600 * j / n_cands);
  });
  if (n_cands == 0) progress.add(600);

  // Fit and test events: a seeded split of the data.
  std::vector<Index> ev(static_cast<size_t>(N));
  std::iota(ev.begin(), ev.end(), 0);
  rng.shuffle(ev);
  const Index nfit = std::min(o.fit_events, N / 2);
  std::vector<Index> fit_rows(ev.begin(), ev.begin() + nfit), test_rows(ev.begin() + nfit, ev.end());
  std::vector<double> zall = evaluate(net, {x}, {ref}).values();
  std::vector<double> zfit, ztest, ytest;
  for (Index e : fit_rows) zfit.push_back(zall[static_cast<size_t>(e)]);
  for (Index e : test_rows) {
    ztest.push_back(zall[static_cast<size_t>(e)]);
    ytest.push_back(labels[static_cast<size_t>(e)]);
  }
  bool has_both = false;
  for (double y : ytest) has_both |= y != ytest[0];

  CavemanResult r;
  r.candidates = static_cast<Index>(cands.size());
  r.population_points = M;
  r.fit_events = nfit;
  r.test_events = static_cast<Index>(test_rows.size());

  auto build = [&](std::vector<Candidate>& cs, Index max_terms, CavemanVariable& var) {
    var.neuron = neuron;
    var.terms.clear();
    const Index p = static_cast<Index>(cs.size());
    if (p == 0) {
      var.intercept = std::accumulate(zfit.begin(), zfit.end(), 0.0) / static_cast<double>(zfit.size());
      return std::vector<double>(test_rows.size(), var.intercept);
    }
    auto T = term_matrix(cs, x, fit_rows);
    std::vector<double> coef;
    combine(T, nfit, p, zfit, max_terms, coef, var.intercept);
    std::vector<Candidate> kept;
    for (Index j = 0; j < p; ++j)
      if (coef[static_cast<size_t>(j)] != 0.0) {
        cs[static_cast<size_t>(j)].term.coefficient = coef[static_cast<size_t>(j)];
        kept.push_back(cs[static_cast<size_t>(j)]);
      }
    // Largest contribution (coefficient x spread of the term) first.
    auto Tk = term_matrix(kept, x, test_rows);
    const Index pk = static_cast<Index>(kept.size());
    std::vector<double> vals(test_rows.size(), var.intercept), spread(static_cast<size_t>(pk), 0.0);
    for (Index j = 0; j < pk; ++j) {
      std::vector<double> col(test_rows.size());
      for (size_t e = 0; e < test_rows.size(); ++e) {
        col[e] = Tk[e * static_cast<size_t>(pk) + static_cast<size_t>(j)];
        vals[e] += kept[static_cast<size_t>(j)].term.coefficient * col[e];
      }
      double m = std::accumulate(col.begin(), col.end(), 0.0) / static_cast<double>(std::max<size_t>(col.size(), 1));
      double s2 = 0;
      for (double v : col) s2 += (v - m) * (v - m);
      spread[static_cast<size_t>(j)] = std::abs(kept[static_cast<size_t>(j)].term.coefficient) * std::sqrt(s2);
    }
    std::vector<Index> order(static_cast<size_t>(pk));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](Index a, Index b) { return spread[static_cast<size_t>(a)] > spread[static_cast<size_t>(b)]; });
    for (Index j : order) var.terms.push_back(kept[static_cast<size_t>(j)].term);
    return vals;
  };

  if (cands.empty()) {
    // No island anywhere: say so through an empty variable rather than inventing terms.
    r.variable.neuron = neuron;
  }
  std::vector<double> cave_test = build(cands, o.terms, r.variable);
  progress.add(50);

  // Baseline: linear in the top inputs (1-D ranking of the population).
  std::vector<Candidate> lin;
  for (const auto& h : hists.one) {
    if (static_cast<Index>(lin.size()) >= o.terms) break;
    Candidate c;
    c.vars = h.vars;
    c.term.kind = CavemanTerm::Kind::Linear;
    c.term.variables = h.names;
    c.term.histogram_score = h.score;
    lin.push_back(std::move(c));
  }
  std::vector<double> lin_test = build(lin, static_cast<Index>(lin.size()), r.linear);

  if (has_both) {
    r.auc = auc(cave_test, ytest);
    r.linear_auc = auc(lin_test, ytest);
    r.neuron_auc = auc(ztest, ytest);
    r.roc = thinned_roc(cave_test, ytest);
    r.neuron_roc = thinned_roc(ztest, ytest);
    r.linear_roc = thinned_roc(lin_test, ytest);
  }
  r.correlation = pearson(cave_test, ztest);
  r.linear_correlation = pearson(lin_test, ztest);
  progress.finish();
  return r;
}

nlohmann::json CavemanResult::to_json() const {
  auto curve = [](const Curve& c) { return nlohmann::json{{"fpr", c.fpr}, {"tpr", c.tpr}}; };
  nlohmann::json j;
  j["neuron"] = variable.neuron;
  j["formula"] = variable.formula();
  j["intercept"] = variable.intercept;
  nlohmann::json t = nlohmann::json::array();
  for (const auto& term : variable.terms) t.push_back(term.to_json());
  j["terms"] = t;
  j["auc"] = auc;
  j["neuron_auc"] = neuron_auc;
  j["correlation_with_neuron"] = correlation;
  j["linear"] = {{"formula", linear.formula()}, {"auc", linear_auc}, {"correlation_with_neuron", linear_correlation}};
  j["candidates"] = candidates;
  j["population_points"] = population_points;
  j["fit_events"] = fit_events;
  j["test_events"] = test_events;
  if (!roc.fpr.empty())
    j["roc"] = {{"caveman", curve(roc)}, {"neuron", curve(neuron_roc)}, {"linear", curve(linear_roc)}};
  return j;
}

std::string CavemanResult::table() const {
  std::string s;
  s += fmt::format("unbox caveman: {} from {} converged points, {} island terms, {} kept\n", variable.neuron,
                   population_points, candidates, variable.terms.size());
  s += "  " + variable.formula() + "\n";
  s += fmt::format("  {:<8} {:<10} {:>10} {:>8}  {}\n", "term", "kind", "coef", "points", "function");
  for (size_t i = 0; i < variable.terms.size(); ++i) {
    const auto& t = variable.terms[i];
    s += fmt::format("  {:<8} {:<10} {:>10.4g} {:>8}  {}\n", i + 1, kind_name(t.kind), t.coefficient, t.cluster_points,
                     t.text());
  }
  s += fmt::format("  linear baseline: {}\n", linear.formula());
  s += fmt::format("  AUC on {} held-out events: neuron {:.4f}, caveman {:.4f}, linear {:.4f}\n", test_events,
                   neuron_auc, auc, linear_auc);
  s += fmt::format("  correlation with the neuron: caveman {:.3f}, linear {:.3f}\n", correlation, linear_correlation);
  return s;
}

}  // namespace unbox
