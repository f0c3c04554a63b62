// Graph helpers shared by the EFP enumeration (efp_graphs.cpp) and evaluation (efp.cpp).
#pragma once

#include <utility>
#include <vector>

namespace unbox::efp_detail {

using EdgeList = std::vector<std::pair<int, int>>;  // a < b, repeated edges repeated

// Vertices 0..n-1 that appear in `edges` are relabeled to 0..k-1 per connected
// component (in order of their smallest original vertex); returns one edge list per component.
std::vector<EdgeList> components(const EdgeList& edges);
// Number of vertices touched by `edges` (max label + 1 after relabeling by components()).
int vertex_count(const EdgeList& edges);

// Canonical form of a multigraph on vertices 0..n-1: the lexicographically smallest sorted
// edge list over all vertex relabelings that respect an isomorphism-invariant colour
// refinement (1-WL, high degree first). Two graphs are isomorphic iff their canonical
// forms are equal. Cost: the product of the factorials of the colour-class sizes.
EdgeList canonical_edges(int n, const EdgeList& edges);

// Chromatic number of the underlying simple graph (0 without edges).
int chromatic_number(int n, const EdgeList& edges);

// An elimination order of the vertices minimizing sum_steps M^(1 + |Q|) for large M (so
// first the largest step, then the number of steps of that size), where Q is the set of
// not-yet-eliminated vertices joined to the eliminated one directly or through eliminated
// vertices (exact dynamic programme over subsets, n <= 16). `complexity` is max(1 + |Q|):
// treewidth + 1 for a connected graph with at least one edge.
struct Elimination {
  std::vector<int> order;
  int complexity = 0;
};
Elimination elimination_order(int n, const EdgeList& edges);

// Benchmarks and tests only: share two-vertex intermediates (M x M arrays) between the graphs
// of one call, as the one-vertex ones always are (default true; false measures the gain).
extern bool share_pair_intermediates;

}  // namespace unbox::efp_detail
