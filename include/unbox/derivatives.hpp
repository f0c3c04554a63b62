// Exact input derivatives of one neuron to third order: gradient, Hessian (i <= j) and
// third-order tensor (i <= j <= k) for every event of a batch, by automatic
// differentiation over the network's DAG (never by finite differences).
//
// Variables: the network's flat inputs, all input nodes one after the other. In
// standardized units (the default) the derivatives are taken with respect to the
// values the first trainable layer sees, i.e. after a Standardize that is the only
// consumer of an input node; in physical units with respect to the raw data columns.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "unbox/network.hpp"

namespace unbox {

// Number of index pairs i <= j and triples i <= j <= k of n variables.
inline Index pair_count(Index n) { return n * (n + 1) / 2; }
inline Index triple_count(Index n) { return n * (n + 1) * (n + 2) / 6; }
// The lexicographic order used everywhere: (0,0), (0,1), .., (0,n-1), (1,1), ...
// Position of pair (i, j), i <= j.
inline Index pair_index(Index i, Index j, Index n) { return i * n - i * (i - 1) / 2 + (j - i); }
// All triples i <= j <= k in lexicographic order, flattened (3 indices each).
std::vector<Index> triple_list(Index n);

struct DerivativeOptions {
  int order = 2;                // highest order, 1..3
  bool physical_units = false;  // false: after the input Standardize; true: raw data columns
  // Events per tile; 0 picks it so that the largest derivative tensor of one tile stays
  // near 2 MiB (cache), from 256 events at first order down to a few at third order.
  Index tile = 0;
};

// What the engine found about the network and the target neuron.
struct DerivativePlan {
  NeuronRef neuron;
  std::vector<std::string> variables;  // one name per variable (the data columns)
  std::vector<double> scale;           // d/d(variable) = scale * d/d(raw column)
  std::vector<bool> standardized;      // per variable: a Standardize sits on its input
  // Every elementwise non-linearity below the target is piecewise linear (ReLU,
  // LeakyReLU, identity): second and higher derivatives vanish almost everywhere except
  // through the target's own activation, which alone gives the Hessian and third order.
  bool piecewise_linear_hidden = false;
  std::string target_activation;   // "Sigmoid", "Tanh", "" when the target is not after an activation
  std::vector<std::string> notes;  // plain-language diagnostics for the user
};

DerivativePlan plan_derivatives(const Network& net, const NeuronRef& neuron, const DerivativeOptions& options);

// One tile of results, row-major per event: value [count], first [count, n],
// second [count, pair_count(n)], third [count, triple_count(n)] (null above the order).
struct DerivativeTile {
  Index begin = 0, count = 0, variables = 0;
  const double* value = nullptr;
  const double* first = nullptr;
  const double* second = nullptr;
  const double* third = nullptr;
};

// Streams the derivatives of all events: events are cut into chunks of `chunk` events
// (fixed boundaries); chunks run in parallel (OpenMP), the tiles of a chunk in order on
// one thread, so a visitor that accumulates per chunk and sums the chunks in order gives
// results that do not depend on the thread count. `visit(chunk, tile)`.
void visit_derivatives(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& neuron,
                       const DerivativeOptions& options, Index chunk,
                       const std::function<void(Index chunk, const DerivativeTile&)>& visit);

// All derivatives of all events in memory (fine for modest n and event counts).
struct InputDerivatives {
  DerivativePlan plan;
  int order = 1;
  Tensor value;   // [N]
  Tensor first;   // [N, n]
  Tensor second;  // [N, pair_count(n)]   (empty below order 2)
  Tensor third;   // [N, triple_count(n)] (empty below order 3)
};
InputDerivatives input_derivatives(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& neuron,
                                   const DerivativeOptions& options = {});

}  // namespace unbox
