// Enumeration of the EFP multigraphs up to isomorphism (d <= 7 edges).
//
// Connected multigraphs are grown degree by degree: every connected multigraph with d >= 2
// edges arises from one with d - 1 edges by adding an edge between two existing vertices
// (possibly a repeated edge) or by attaching a new leaf vertex (remove a cycle edge, or a
// leaf edge of a tree, to see it). Each extension is reduced to its canonical form and
// deduplicated. Disconnected graphs are multisets of connected ones. With the colour
// refinement in canonical_edges the whole d <= 7 enumeration takes a few milliseconds.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <tuple>

#include "physics/efp_internal.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/efp.hpp"

namespace unbox {
namespace efp_detail {

int vertex_count(const EdgeList& edges) {
  int n = 0;
  for (auto [a, b] : edges) n = std::max({n, a + 1, b + 1});
  return n;
}

std::vector<EdgeList> components(const EdgeList& edges) {
  const int n = vertex_count(edges);
  std::vector<int> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<char> used(static_cast<size_t>(n), 0);
  for (auto [a, b] : edges) {
    used[a] = used[b] = 1;
    parent[find(a)] = find(b);
  }
  std::map<int, int> comp_of_root;  // root -> component index, by smallest vertex
  std::vector<int> local(static_cast<size_t>(n), -1);
  std::vector<int> comp_size;
  for (int v = 0; v < n; ++v) {
    if (!used[v]) continue;
    auto [it, fresh] = comp_of_root.emplace(find(v), static_cast<int>(comp_size.size()));
    if (fresh) comp_size.push_back(0);
    local[v] = comp_size[it->second]++;
  }
  std::vector<EdgeList> out(comp_size.size());
  for (auto [a, b] : edges) {
    int c = comp_of_root.at(find(a));
    int la = local[a], lb = local[b];
    out[c].emplace_back(std::min(la, lb), std::max(la, lb));
  }
  for (auto& e : out) std::sort(e.begin(), e.end());
  return out;
}

namespace {

// Colour refinement: colours are ranks of isomorphism-invariant signatures.
std::vector<int> refine(int n, const std::vector<int>& mult) {
  std::vector<int> color(static_cast<size_t>(n), 0);
  int classes = 0;
  for (int round = 0;; ++round) {
    std::vector<std::vector<int>> sig(static_cast<size_t>(n));
    for (int v = 0; v < n; ++v) {
      if (round == 0) {
        int wdeg = 0, sdeg = 0;
        for (int u = 0; u < n; ++u) wdeg += mult[v * n + u], sdeg += mult[v * n + u] > 0;
        sig[v] = {-wdeg, -sdeg};
      } else {
        std::vector<std::pair<int, int>> nb;
        for (int u = 0; u < n; ++u)
          if (mult[v * n + u] > 0) nb.emplace_back(color[u], mult[v * n + u]);
        std::sort(nb.begin(), nb.end());
        sig[v] = {color[v]};
        for (auto [c, m] : nb) sig[v].insert(sig[v].end(), {c, m});
      }
    }
    std::vector<std::vector<int>> distinct = sig;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (int v = 0; v < n; ++v)
      color[v] = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), sig[v]) - distinct.begin());
    const int now = static_cast<int>(distinct.size());
    if (round > 0 && now == classes) break;
    classes = now;
    if (classes == n) break;
  }
  return color;
}

}  // namespace

EdgeList canonical_edges(int n, const EdgeList& edges) {
  if (edges.empty()) return {};
  std::vector<int> mult(static_cast<size_t>(n * n), 0);
  for (auto [a, b] : edges) ++mult[a * n + b], ++mult[b * n + a];
  const std::vector<int> color = refine(n, mult);
  // Positions 0..n-1 in colour order; position p may take any vertex of colour slot[p].
  std::vector<int> slot(static_cast<size_t>(n));
  {
    std::vector<int> sorted = color;
    std::sort(sorted.begin(), sorted.end());
    slot = sorted;
  }
  EdgeList best, cur(edges.size());
  std::vector<int> label(static_cast<size_t>(n), -1);
  std::vector<char> taken(static_cast<size_t>(n), 0);
  auto evaluate = [&] {
    for (size_t e = 0; e < edges.size(); ++e) {
      int a = label[edges[e].first], b = label[edges[e].second];
      cur[e] = {std::min(a, b), std::max(a, b)};
    }
    std::sort(cur.begin(), cur.end());
    if (best.empty() || cur < best) best = cur;
  };
  // Depth-first over the colour-respecting relabelings.
  auto rec = [&](auto&& self, int p) -> void {
    if (p == n) return evaluate();
    for (int v = 0; v < n; ++v) {
      if (taken[v] || color[v] != slot[p]) continue;
      taken[v] = 1;
      label[v] = p;
      self(self, p + 1);
      taken[v] = 0;
    }
  };
  rec(rec, 0);
  return best;
}

int chromatic_number(int n, const EdgeList& edges) {
  if (edges.empty()) return 0;
  std::vector<std::vector<int>> adj(static_cast<size_t>(n));
  for (auto [a, b] : edges) adj[a].push_back(b), adj[b].push_back(a);
  std::vector<int> col(static_cast<size_t>(n), -1);
  for (int k = 1; k <= n; ++k) {
    std::fill(col.begin(), col.end(), -1);
    auto rec = [&](auto&& self, int v) -> bool {
      if (v == n) return true;
      for (int c = 0; c < k; ++c) {
        bool ok = true;
        for (int u : adj[v]) ok = ok && col[u] != c;
        if (!ok) continue;
        col[v] = c;
        if (self(self, v + 1)) return true;
        col[v] = -1;
      }
      return false;
    };
    if (rec(rec, 0)) return k;
  }
  return n;
}

Elimination elimination_order(int n, const EdgeList& edges) {
  Elimination out;
  if (n == 0) return out;
  if (n > 16) throw Error(fmt::format("EFP graph component with {} vertices: at most 16 are supported", n));
  std::vector<unsigned> adj(static_cast<size_t>(n), 0);
  for (auto [a, b] : edges) adj[a] |= 1u << b, adj[b] |= 1u << a;
  // q(S, v): vertices outside S + {v} reached from v through vertices of S.
  auto q = [&](unsigned s, int v) {
    unsigned visited = 1u << v, result = 0, stack = 1u << v;
    while (stack) {
      int x = std::countr_zero(stack);
      stack &= stack - 1;
      unsigned nb = adj[x] & ~visited;
      visited |= nb;
      stack |= nb & s;
      result |= nb & ~s;
    }
    return std::popcount(result);
  };
  const unsigned full = (n == 32) ? ~0u : ((1u << n) - 1);
  const double big = 100.0;  // "large M": one step of size c outweighs 16 steps of size c - 1
  std::vector<double> cost(static_cast<size_t>(full) + 1, 0.0);
  std::vector<signed char> last(static_cast<size_t>(full) + 1, -1);
  for (unsigned s = 1; s <= full; ++s) {
    double bestc = -1;
    for (unsigned r = s; r; r &= r - 1) {
      int v = std::countr_zero(r);
      unsigned rest = s & ~(1u << v);
      double c = cost[rest] + std::pow(big, 1 + q(rest, v));
      if (bestc < 0 || c < bestc) bestc = c, last[s] = static_cast<signed char>(v);
    }
    cost[s] = bestc;
  }
  for (unsigned s = full; s;) {
    int v = last[s];
    out.order.push_back(v);
    s &= ~(1u << v);
  }
  std::reverse(out.order.begin(), out.order.end());
  unsigned done = 0;
  for (int v : out.order) {
    out.complexity = std::max(out.complexity, 1 + q(done, v));
    done |= 1u << v;
  }
  return out;
}

}  // namespace efp_detail

namespace {

using efp_detail::EdgeList;

struct Key {
  int d, n;
  EdgeList edges;
  bool operator<(const Key& o) const { return std::tie(d, n, edges) < std::tie(o.d, o.n, o.edges); }
};

constexpr int kMaxDegree = 7;

// All graphs with d <= 7 (ids in this order), computed once.
const std::vector<EfpGraph>& all_graphs() {
  static std::vector<EfpGraph> graphs;
  static std::once_flag once;
  std::call_once(once, [] {
    // Connected graphs, by degree.
    std::vector<std::set<Key>> level(kMaxDegree + 1);
    level[1].insert({1, 2, {{0, 1}}});
    for (int d = 2; d <= kMaxDegree; ++d)
      for (const Key& g : level[d - 1]) {
        for (int a = 0; a < g.n; ++a)
          for (int b = a + 1; b < g.n; ++b) {
            EdgeList e = g.edges;
            e.emplace_back(a, b);
            level[d].insert({d, g.n, efp_detail::canonical_edges(g.n, e)});
          }
        for (int a = 0; a < g.n; ++a) {
          EdgeList e = g.edges;
          e.emplace_back(a, g.n);
          level[d].insert({d, g.n + 1, efp_detail::canonical_edges(g.n + 1, e)});
        }
      }
    struct Conn {
      Key key;
      int chromatic, complexity;
    };
    std::vector<Conn> conn;
    for (int d = 1; d <= kMaxDegree; ++d)
      for (const Key& k : level[d])
        conn.push_back(
            {k, efp_detail::chromatic_number(k.n, k.edges), efp_detail::elimination_order(k.n, k.edges).complexity});
    // All graphs: multisets of connected components (indices non-increasing, so the
    // largest component comes first in the edge list).
    std::map<Key, EfpGraph> all;
    all[{0, 0, {}}] = EfpGraph{0, 0, 0, 0, 0, true, {}};
    std::vector<int> pick;
    auto rec = [&](auto&& self, int max_index, int d_left) -> void {
      if (!pick.empty()) {
        EfpGraph g;
        g.connected = pick.size() == 1;
        for (int i : pick) {
          const Conn& c = conn[static_cast<size_t>(i)];
          for (auto [a, b] : c.key.edges) g.edges.emplace_back(a + g.n, b + g.n);
          g.n += c.key.n;
          g.d += c.key.d;
          g.chromatic_number = std::max(g.chromatic_number, c.chromatic);
          g.ve_complexity = std::max(g.ve_complexity, c.complexity);
        }
        all[{g.d, g.n, g.edges}] = g;
      }
      for (int i = max_index; i >= 0; --i) {
        if (conn[static_cast<size_t>(i)].key.d > d_left) continue;
        pick.push_back(i);
        self(self, i, d_left - conn[static_cast<size_t>(i)].key.d);
        pick.pop_back();
      }
    };
    rec(rec, static_cast<int>(conn.size()) - 1, kMaxDegree);
    for (auto& [k, g] : all) {
      g.id = static_cast<int>(graphs.size());
      graphs.push_back(g);
    }
  });
  return graphs;
}

}  // namespace

std::vector<EfpGraph> efp_graphs(int dmax, bool connected_only) {
  if (dmax < 0 || dmax > kMaxDegree)
    throw Error(
        fmt::format("EFP degree {} is out of range: dmax must be between 0 and {} (the enumeration and the "
                    "published counts stop at d = 7; there are already 1000 graphs up to d = 7)",
                    dmax, kMaxDegree));
  std::vector<EfpGraph> out;
  for (const EfpGraph& g : all_graphs())
    if (g.d <= dmax && (!connected_only || g.connected)) out.push_back(g);
  return out;
}

}  // namespace unbox
