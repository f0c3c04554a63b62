// Energy flow polynomials (Komiske, Metodiev, Thaler 2018, "Energy flow polynomials:
// a complete linear basis for jet substructure"), in EnergyFlow's normalized form:
//
//   EFP_G = sum_{i_1..i_n} z_{i_1} ... z_{i_n} prod_{(k,l) in G} theta_{i_k i_l}
//   z_i = pT_i^kappa / sum_j pT_j^kappa,  theta_ij = (DeltaR_ij)^beta,
//   DeltaR_ij^2 = (eta_i - eta_j)^2 + (phi_i - phi_j)^2 with Delta-phi wrapped into (-pi, pi].
//
// G is a multigraph (an edge may appear several times: theta is raised to that power);
// vertices without edges are not part of G; the d = 0 graph is the constant 1.
// Evaluation uses a variable-elimination order with cost M^(ve_complexity) per jet
// (M particles), ve_complexity = treewidth + 1 for connected graphs with d >= 1
// (a 4-cycle costs M^3, not M^4); disconnected graphs are products of their components.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "unbox/tensor.hpp"

namespace unbox {

struct EfpGraph {
  int id = 0;                              // position in the stable order of efp_graphs(dmax, false) (see below)
  int n = 0;                               // vertices (those with at least one edge)
  int d = 0;                               // edges, counted with multiplicity (the degree of the polynomial)
  int chromatic_number = 0;                // of the underlying simple graph (0 for d = 0)
  int ve_complexity = 0;                   // exponent c of the per-jet cost M^c with the best elimination order
                                           // (max over connected components; 0 for d = 0, 1 for... see efp.cpp)
  bool connected = false;                  // d = 0 counts as connected (the empty product), as in EnergyFlow
  std::vector<std::pair<int, int>> edges;  // canonical edge list, a < b, sorted, repeated edges repeated
};

struct EfpOptions {
  double kappa = 1.0;  // energy weighting: z_i = pT_i^kappa / sum_j pT_j^kappa
  double beta = 1.0;   // angular weighting: theta_ij = DeltaR_ij^beta
  bool quiet = true;   // progress bar on long evaluations
};

// All multigraphs with at most dmax edges (0 <= dmax <= 7), d = 0 included, up to
// isomorphism; connected_only keeps the connected ones. Sorted by (d, n, canonical edge
// list); ids are positions in the full (connected and disconnected) list for the same
// dmax, and since the order is by d first, the id of a graph does not depend on dmax
// either; the connected-only list keeps the same ids (so it has gaps).
std::vector<EfpGraph> efp_graphs(int dmax, bool connected_only);

// EFP values for N jets given as [N, P] tensors of pT, eta, phi (particles with pT == 0 are
// padding and contribute nothing; a jet with no particle gives 0 for every d >= 1 graph).
// Returns [N, G], column g = graphs[g]. Parallel over jets (OpenMP), thread-count independent.
Tensor efp_values(const Tensor& pt, const Tensor& eta, const Tensor& phi, const std::vector<EfpGraph>& graphs,
                  const EfpOptions& opt);

// Stable column name: "efp_<id>" (e.g. "efp_17"), with id from efp_graphs.
std::string efp_column_name(const EfpGraph& g);

// {"id", "n", "d", "chromatic_number", "ve_complexity", "connected", "edges": [[a, b], ...]}.
nlohmann::json efp_graph_json(const EfpGraph& g);
// A readable table of the graphs.
std::string efp_graph_table(const std::vector<EfpGraph>& graphs);

}  // namespace unbox
