// Building standard networks and training them: mini-batch Adam, BCE or MSE loss,
// L1/L2 on weights, per-event weights, a seeded validation split, early stopping that
// restores the best weights, and one hook called after every step and every epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/network.hpp"
#include "unbox/ops.hpp"

namespace unbox {

// A plain stack: input -> Standardize -> (Dense -> activation)* -> Dense -> output activation.
class SequentialBuilder {
 public:
  explicit SequentialBuilder(std::vector<std::string> features, const std::string& input_name = "x");
  SequentialBuilder& standardize();
  // ClipMinMax (ops/preprocess.hpp): clip at mean -+ k std, then min-max to [0, 1].
  SequentialBuilder& clip_minmax(double k = 3.0);
  SequentialBuilder& dense(Index width);
  SequentialBuilder& activation(const Activation& act);
  SequentialBuilder& softmax();
  Network build();

 private:
  Network net_;
  int last_;
  int counter_ = 0;
};

enum class OutputKind { Sigmoid, Tanh };

struct Architecture {
  std::vector<Index> hidden;                    // widths of the hidden layers
  Activation activation{ActivationKind::ReLU};  // hidden activation
  OutputKind output = OutputKind::Sigmoid;      // sigmoid: BCE; tanh: MSE on +-1
  double l1 = 0.0;                              // suggested regularization
  std::string name;                             // "paper" or "64,64"
  std::vector<Index> pfn_phi;  // "pfn:PHI:F": per-particle widths of a Particle Flow Network (hidden = F)
  // Input preprocessing layer: "standardize" (default) or "clip3-minmax" (the XAUG poster:
  // clip at mean -+ 3 std, then min-max to [0, 1]; gradients vanish beyond the clip).
  std::string preprocess = "standardize";
};

// "paper" -> Roxlo & Reece: 128,64,32,16,16,8,8,4,4,2,2, LeakyReLU(0.1), tanh output (MSE
// on +-1), L1 1e-5. "pfn:64,64,32:64,32" -> a Particle Flow Network (ops/preprocess.hpp, ops/linear.hpp,
// ops/pooling.hpp) on particle columns p0_pt, p0_eta, ...: per-particle widths, then the widths after the sum.
// Otherwise a comma list of widths with the given activation and output.
Architecture parse_architecture(const std::string& arch, const std::string& activation = "relu",
                                const std::string& output = "sigmoid");
Network build_network(const std::vector<std::string>& features, const Architecture& arch);

enum class Loss { Auto, BinaryCrossEntropy, MeanSquaredError };
std::string loss_name(Loss loss);
// "auto", "bce" (binary cross-entropy; on a tanh output with P(signal) = (1 + tanh z) / 2)
// or "mse" (squared error on a tanh output, targets +-1).
Loss parse_loss(const std::string& name);
std::string loss_key(Loss loss);  // the name parse_loss reads

struct TrainEvent {
  enum Kind { Step, Epoch } kind;
  Index step = 0;         // optimizer steps so far
  Index epoch = 0;        // 1-based epoch (during an epoch: the current one)
  double loss = 0.0;      // batch loss (Step) or mean training loss of the epoch (Epoch)
  double val_loss = 0.0;  // Epoch only
  double val_auc = 0.0;   // Epoch only
  const Network* network = nullptr;
};

// Data parallelism across processes (MPI ranks; set by the caller): process `rank` of `size`
// computes a contiguous share of every mini-batch's chunks of 128 events, and `all_gather`
// (collective: every process's doubles concatenated in process order, on every process)
// exchanges the chunks' gradients and losses, which every process then adds in chunk order
// as one process does, so the model is bit for bit the one-process model. Every process
// holds the whole sample (the split, the validation and the shuffles are repeated).
struct TrainRanks {
  int rank = 0, size = 1;
  std::function<std::vector<double>(const std::vector<double>&)> all_gather;
};

struct TrainOptions {
  Loss loss = Loss::Auto;  // Auto: BCE for a sigmoid output, MSE (+-1) for tanh
  Index batch = 256;
  double learning_rate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, adam_epsilon = 1e-8;
  Index epochs = 100;
  Index patience = 5;         // early stopping on validation loss; 0: off
  double l1 = 0.0, l2 = 0.0;  // on weights, not biases
  double validation_fraction = 0.2;
  bool balance_classes = false;     // equal total weight for signal and background
  bool fit_standardization = true;  // set the Standardize layer from the training split
  std::uint64_t seed = 1;
  bool quiet = false;
  std::function<void(const TrainEvent&)> hook;
  TrainRanks ranks;  // one process unless set
};

struct EpochRecord {
  Index epoch;
  double loss, val_loss, val_auc, seconds;
};

struct TrainResult {
  Loss loss = Loss::Auto;
  Index epochs_run = 0;
  Index best_epoch = 0;
  double best_val_loss = 0.0;
  double best_val_auc = 0.0;
  Index steps = 0;
  Index train_events = 0, validation_events = 0;
  double seconds = 0.0;
  bool stopped_early = false;
  std::vector<EpochRecord> history;
};

// The events train() holds out for validation with these options, in its order: a
// seeded shuffle of 0..N-1 whose first round(validation_fraction * N) are held out.
// (Learning-progress tracking measures on these, events the optimizer never sees.)
std::vector<Index> validation_events(Index n_events, const TrainOptions& options);

// The options a caller can get wrong: Error for a batch, epoch count or learning rate that
// is not positive, or a validation fraction outside [0, 1). train() checks them too; a
// front end calls this before it reads the data.
void check(const TrainOptions& options);

// The data checks of a training run, shared by `unbox train` and the Python module's
// unbox.train: a label column of 0 and 1 only, the input columns (`columns`; empty: every
// 1-D column but the label and weight) present, every value of them, the label and the
// weight finite, and check_training_data (both classes, usable weights, sane magnitudes).
// Returns the input columns. Errors name the file, column and event.
std::vector<std::string> check_training_inputs(const Dataset& data, const std::vector<std::string>& columns);

// Records a finished training in the model's metadata as every front end does it:
// "architecture", "training" (data, label, weight, loss, optimizer, options, threads,
// outcome and per-epoch history) and "unbox_version".
void record_training(Network& net, const Dataset& data, const std::string& architecture, const TrainOptions& options,
                     const TrainResult& result);

// Train `net` (a single flat input, one output neuron) on raw inputs [N, n], labels
// (0/1) and weights (may be empty). Deterministic for a seed and thread count.
TrainResult train(Network& net, const Tensor& inputs, const std::vector<double>& labels,
                  const std::vector<double>& weights, const TrainOptions& options);

}  // namespace unbox
