// Mutual information between neurons and physics variables (Roxlo & Reece section 2.3).
//
// Binned estimator: the normalized mutual information of eq. (1),
//   NMI(X;Y) = I(X;Y) / sqrt(H(X) H(Y)),
// on columns discretized into (by default) 20 equal-frequency bins; a column with at most
// as many distinct values as bins (label, b-tag, a sign, a dead neuron) uses its distinct
// values as bins. NMI equals scikit-learn's normalized_mutual_info_score(average_method=
// 'geometric') on the same bin labels, except that a constant column gives 0 here (it
// carries no information) where scikit-learn returns 1 when both columns are constant.
//
// Kraskov (KSG, algorithm 1) estimator for continuous columns: I in nats and the
// information coefficient of correlation sqrt(1 - exp(-2 I)) (|rho| for a Gaussian pair),
// since eq. (1)'s normalization is undefined for differential entropies.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

namespace unbox {

enum class MiEstimator { Binned, Kraskov };
enum class Binning { EqualFrequency, EqualWidth };

// "binned" / "ksg" (also "kraskov", "knn"); "equal-frequency" ("freq", "quantile") /
// "equal-width" ("width"). Unknown: Error listing the choices.
MiEstimator parse_mi_estimator(const std::string& text);
Binning parse_binning(const std::string& text);
std::string to_string(MiEstimator e);
std::string to_string(Binning b);

struct MutualInfoOptions {
  MiEstimator estimator = MiEstimator::Binned;
  Binning binning = Binning::EqualFrequency;
  Index bins = 20;  // 2..1000
  Index k = 3;      // KSG neighbours
  // KSG costs O(N log N) per pair; it runs on a seeded random subset of this many
  // events (0: all events).
  Index knn_events = 20000;
  std::uint64_t seed = 1;                      // KSG subset and tie-breaking jitter
  Index batch = 4096;                          // events per evaluation batch
  std::vector<std::string> neurons = {"all"};  // rows: neurons, "all", "Lk", "Lk:pre" (expand_neurons)
  std::vector<std::string> variables;          // columns: data columns or neurons (empty: the model's input columns)
  Index top = 5;                               // rows of the top-neurons table
  ProgressCallback progress;                   // not used by the computation: events (or steps) done, for a bar
};

// One column discretized: bin index per event (0..bins-1, every bin occupied).
struct BinnedColumn {
  std::vector<std::uint16_t> index;
  Index bins = 0;
  std::vector<Index> counts;  // events per bin
  bool discrete = false;      // the column's distinct values are its bins
  double entropy = 0.0;       // H in nats of the bin occupation
};

// Discretize one column. Equal-frequency bins are cut at order statistics (ties stay in
// one bin, so a spike such as a ReLU's zero is one bin); empty bins are dropped.
// Non-finite values: Error naming `name`.
BinnedColumn bin_column(std::span<const double> values, const MutualInfoOptions& options,
                        const std::string& name = "column");

// Mutual information in nats of two binned columns of equal length (plug-in estimate),
// and eq. (1). Both are 0 when either column is constant.
double binned_mutual_info(const BinnedColumn& x, const BinnedColumn& y);
double normalized_mutual_info(const BinnedColumn& x, const BinnedColumn& y);
// Convenience: bin both columns with `options`, then eq. (1).
double normalized_mutual_info(std::span<const double> x, std::span<const double> y,
                              const MutualInfoOptions& options = {});

// KSG algorithm 1 (Kraskov, Stoegbauer, Grassberger 2004) with max-norm: I in nats,
// clipped at 0. Columns are scaled to unit variance; exact ties are broken by a seeded
// jitter of 1e-10 (as scikit-learn does), so discrete columns give a number but not a
// meaningful one.
double ksg_mutual_info(std::span<const double> x, std::span<const double> y, Index k = 3, std::uint64_t seed = 1);
// sqrt(1 - exp(-2 I)).
double information_coefficient(double mi_nats);

struct MutualInfoResult {
  MiEstimator estimator = MiEstimator::Binned;
  Binning binning = Binning::EqualFrequency;
  Index bins = 20, k = 3;
  Index events = 0;                    // events used (KSG: the subset)
  std::vector<std::string> neurons;    // rows
  std::vector<std::string> variables;  // columns
  // [neuron][variable]. nmi: eq. (1) for the binned estimator; for KSG the information
  // coefficient (the normalized score of that estimator). mi: nats.
  std::vector<std::vector<double>> nmi;
  std::vector<std::vector<double>> mi;
  std::vector<Index> neuron_bins, variable_bins;  // binned: effective bins per column
  std::vector<bool> neuron_discrete, variable_discrete;

  // {"neurons", "variables", "nmi", "mi_nats", "estimator", ...}
  nlohmann::json to_json() const;
  Index top = 5;  // rows of the top-neurons table in table()
  // The matrix and both top tables.
  std::string table() const;
  // The neuron x variable matrix.
  std::string matrix_table() const;
  // "Which neurons know most about V": the top `top` neurons of every variable.
  std::string top_neurons_table(Index top = 5) const;
  // "Which variables does N track": the top `top` variables of every neuron, one line each.
  std::string top_variables_table(Index top = 3) const;
  // Indices of rows (neurons) sorted by nmi with variable v, descending (ties by order).
  std::vector<Index> neurons_by(Index variable) const;
  std::vector<Index> variables_by(Index neuron) const;
};

// The matrix between the columns of `rows` ([N, a]) and of `cols` ([N, b]). Each column is
// binned once; joint histograms run in parallel over (row, column) pairs and the result
// does not depend on the number of threads.
MutualInfoResult mutual_info_matrix(const Tensor& rows, const std::vector<std::string>& row_names, const Tensor& cols,
                                    const std::vector<std::string>& col_names, const MutualInfoOptions& options = {});

// Neuron lists: neuron names (L2N12, L12N0:pre, output, NODE[j]) and whole layers: "L2"
// (every neuron of hidden layer 2 after its activation), "L2:pre", "all" (every neuron
// of L1..Lm after activation). Duplicates are dropped, order kept.
std::vector<std::string> expand_neurons(const Network& net, const std::vector<std::string>& list);

// Neurons (expanded as above) against variables: each variable is a 1-D column of `data`
// or, when no column has that name, a neuron of the network (e.g. L12N0 or output, as
// in the paper's Figure 9). `columns` maps data columns to the model input (as for
// gather_inputs).
MutualInfoResult mutual_info(const Network& model, const Events& events, const MutualInfoOptions& options = {});

// Across processes (MPI ranks; docs/distributed.md), binned estimator. Step 1, local (it may
// throw: the caller makes every process agree before step 2): the neuron and variable
// columns of this process's events. Step 2, collective through `all_gather` (every
// process's doubles concatenated in process order, on every process): the distinct values
// and ranges merged, the equal-frequency edges found as exact order statistics of all
// processes' values (a bisection on their order keys, counts summed over processes), the
// joint histograms' counts summed. Every process gets the result, which equals
// mutual_info() on all events bit for bit. Memory: this process's events x columns doubles.
struct MutualInfoColumns {
  std::vector<std::string> neurons, variables;
  std::vector<std::vector<double>> a, b;  // per neuron / per variable: the values of this process's events
};
MutualInfoColumns mutual_info_columns(const Network& model, const Events& events, const MutualInfoOptions& options);
using AllGather = std::function<std::vector<double>(const std::vector<double>&)>;
MutualInfoResult mutual_info_across(const MutualInfoColumns& mine, const MutualInfoOptions& options,
                                    const AllGather& all_gather);

}  // namespace unbox
