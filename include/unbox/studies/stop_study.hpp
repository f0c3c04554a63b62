// The stop/top case study of Roxlo & Reece (arXiv:1805.04525, sections 3-6) end to end:
// events -> training / validation / test split -> the paper's network -> the paper's analysis
// (AUC, AMS of eq. 5 against the best mT2(ll) cut with bootstrap errors, Figure 8 histograms,
// Figure 9 NMIs, Tables 1-4, maximization populations, Figure 13 MET in lepton-MET angle
// categories, a caveman variable, Taylor coefficients, LRP and Integrated-Gradients rankings,
// ADO against mT2(ll), Figure 20 ISR pT in output slices, the (185, 5) spin-correlation
// comparison) and a summary in words.
//
// Events come through a seam, EventSource, so the study does not depend on how they are made:
// the built-in generator (builtin_event_source(), wired in by the generator branch), or the
// synthetic toy_event_source() that the tests use to exercise the machinery.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "unbox/data.hpp"
#include "unbox/train.hpp"

namespace unbox::studies {

// Events of one process after the detector and the selection: one row per selected event with
// the 26 columns of physics::stop_dilepton_columns() (the 19 network inputs and the extras,
// among them mt2ll, met and isr_pt) and "weight" = expected events per fb^-1 of that row (so
// summing the weights of a sample and multiplying by a luminosity in fb^-1 gives expected
// events; importance-biased generation shows up only as unequal weights).
// process: "ttbar", "tw", "ww" or "stop:M1,M2" (stop and neutralino masses in GeV).
// n: events generated before the selection; seed: the sample's seed; spin_correlation: keep
// the tt-bar spin correlations (only meaningful for "ttbar").
using EventSource =
    std::function<Dataset(const std::string& process, std::int64_t n, std::uint64_t seed, bool spin_correlation)>;

// The built-in generator behind the seam (physics::Generator into the features pipeline, the
// backgrounds biased toward their MET tail with compensating weights).
EventSource builtin_event_source();
// Names the built-in source's samples in cache file names; changes when they change.
std::string builtin_source_id();
// Part `part` of `parts` of the built-in source's events (MPI ranks): the streams that yield
// the n events split into contiguous ranges; the parts' rows joined in part order are the
// rows of builtin_event_source() (the events do not depend on the number of parts).
EventSource builtin_event_source_part(int part, int parts);

// A deterministic synthetic stand-in with the same columns: signal with larger MET and
// mT2(ll) and leptons away from the MET, background peaked at low mT2(ll), with a MET that
// follows the lepton-MET angles as in the paper's Figure 13. For testing the machinery only:
// its numbers are not physics.
EventSource toy_event_source();

// Cross sections (pb) the background is split by (generator-physics notes).
inline constexpr double kXsecTtbar = 831.76, kXsecTw = 71.7, kXsecWw = 118.7;

// The weights the network is trained with (the evaluation always uses the physical ones).
// Physical: expected events, with the generator's tail-bias compensation (a background event
// from the oversampled tail weighs up to 1/bias_floor times less than one from the bulk).
// Process: each process's expected events spread evenly over its selected events: the
// processes keep their cross-section shares, and inside each the tail stays as oversampled
// (no 1/p). train() balances the two classes in both.
enum class TrainWeights { Physical, Process };
std::vector<double> training_weights(const Dataset& events, TrainWeights mode);  // needs "process"
std::string train_weights_name(TrainWeights mode);
TrainWeights parse_train_weights(const std::string& name);  // "physical", "process"

struct StopStudyOptions {
  double m_stop = 750.0, m_lsp = 1.0;  // GeV
  // N signal and N background events generated before the selection; the background is split
  // among tt-bar, tW and WW in proportion to their cross sections.
  std::int64_t events = 60000;
  // tW is generated this many times its cross-section share of the N background events (each
  // event's weight as many times smaller: the source's weights sum to the expected events
  // whatever the count). Above the best mT2ll cut tW is most of the background, from a
  // handful of heavy simulated events (its produced W's line-shape tail, which the W* sampling
  // of top decays does not reach), so this is what brings the background's statistical error
  // down.
  std::int64_t tw_oversample = 8;
  int seeds = 1;  // networks trained (seed, seed + 1, ...); the first is explained
  std::uint64_t seed = 1;
  double lumi = 35.9;  // fb^-1
  double br = 10.0;    // b_r of eq. (5)
  // Fractions of the selected events (a seeded shuffle): training, validation (early stopping),
  // and the rest is the test split on which every figure of merit is computed.
  double train_fraction = 0.5, validation_fraction = 0.2;
  std::int64_t epochs = 30;
  TrainWeights train_weights = TrainWeights::Physical;
  // On the paper's tanh output: cross-entropy with P(signal) = (1 + tanh z) / 2 (README: why).
  Loss loss = Loss::BinaryCrossEntropy;
  std::int64_t patience = 5;
  double learning_rate = 1e-3;  // Adam
  std::int64_t batch = 256;
  bool spin_correlation = true;  // tt-bar spin correlations in the main study
  // At (185, 5): also run the core study (train, AUC, AMS) with the other spin setting.
  bool compare_spin = true;
  std::int64_t bootstrap = 200;         // replicas for the AMS errors
  std::int64_t explain_events = 10000;  // test events the explanation methods run on
  std::int64_t maximize_points = 2000;  // activation-maximization starting points
  // Off: only the figures of merit, Figures 8, 13, 20 and ADO (no activation differences, NMI,
  // maximization, caveman, Taylor, LRP or Integrated Gradients).
  bool explain = true;
  std::string out;  // folder for the result files ("" = none)
  // Folder of generated samples (one .npz per process, events, seed and spin setting): read
  // when present, else generated and written ("" = none).
  std::string cache;
  std::string source_id = "custom";  // the source's name in cache file names ("builtin2", "toy")
  bool quiet = false;
  EventSource source;  // required
};

// The best-cut AMS and its bootstrap uncertainty from the finite sample: test events are
// resampled with replacement (keeping their weights) and the best cut is found again.
struct AmsWithError {
  double ams = 0.0, err = 0.0, threshold = 0.0, s = 0.0, b = 0.0;
  double bootstrap_mean = 0.0;
  // The first-order error at the chosen threshold held fixed (sum of w^2 of the selected
  // signal and background propagated through eq. 5); err above also re-chooses the threshold.
  double err_fixed = 0.0;
  // Selected test events (score >= threshold) and the relative statistical error of the
  // selected background, sqrt(sum w^2) / sum w (what a tail bias of the generator reduces).
  std::int64_t n_s = 0, n_b = 0;
  double b_rel_err = 0.0;
};
AmsWithError best_ams_with_error(const std::vector<double>& scores, const std::vector<double>& labels,
                                 const std::vector<double>& weights, double lumi, double br, std::int64_t replicas,
                                 std::uint64_t seed);

// The best AMS of every score on the same `replicas` bootstrap replicas of the test events
// (replica k from the core Rng stream (seed, k), the best threshold found again in each):
// values[score][replica].
std::vector<std::vector<double>> bootstrap_best_ams(const std::vector<const std::vector<double>*>& scores,
                                                    const std::vector<double>& labels,
                                                    const std::vector<double>& weights, double lumi, double br,
                                                    std::int64_t replicas, std::uint64_t seed);

// Best AMS of score a minus best AMS of score b on the test events, and the spread of that
// difference over bootstrap replicas in which both are found again on the same resampled
// events (a paired error: the common fluctuation of the signal cancels).
struct AmsDifference {
  double diff = 0.0, err = 0.0;
  std::int64_t replicas = 0, replicas_ahead = 0;  // replicas with a's AMS above b's
};
AmsDifference paired_ams_difference(const std::vector<double>& a, const std::vector<double>& b,
                                    const std::vector<double>& labels, const std::vector<double>& weights, double lumi,
                                    double br, std::int64_t replicas, std::uint64_t seed);

// One trained network's figures of merit on the test split.
struct SeedResult {
  std::uint64_t seed = 0;
  double auc = 0.0;
  AmsWithError ams_network;
  AmsDifference ams_lead;  // this network minus the best mT2(ll) cut, paired bootstrap
  std::int64_t epochs_run = 0;
  double seconds = 0.0;
};

struct StopStudyResult {
  StopStudyOptions options;
  std::string point;  // "750,1"
  // Selected events per process, before the split (rows, and expected events at lumi).
  nlohmann::ordered_json samples;
  std::int64_t train_events = 0, validation_events = 0, test_events = 0;
  double test_weight_scale = 1.0;                           // test weights are multiplied by this (1 / test fraction)
  std::int64_t events_signal = 0, events_background = 0;    // test split, after selection
  double expected_signal = 0.0, expected_background = 0.0;  // test split x scale x lumi
  double auc = 0.0;
  AmsWithError ams_network;  // output:pre, the first network
  AmsWithError ams_mt2;      // mT2(ll) cut
  AmsDifference ams_lead;    // network minus mT2(ll) cut, paired bootstrap
  std::vector<SeedResult> seeds;
  double auc_mean = 0.0, auc_std = 0.0, ams_mean = 0.0, ams_std = 0.0;
  double lead_mean = 0.0, lead_std = 0.0;  // network minus cut over the seeds' networks
  nlohmann::ordered_json nmi_mt2;          // {"L1": .., "L2": .., ...}
  // Both thresholds chosen on the validation split and the AMS they give on the test split
  // ({"network": {threshold, ams_test, s, b}, "mt2ll": {...}}).
  nlohmann::ordered_json validation_thresholds;
  nlohmann::ordered_json analysis;  // every other piece, by name
  std::string summary;              // in words, from the numbers
  std::vector<std::string> files;   // written to options.out
  nlohmann::ordered_json stage_seconds;

  // The paper's numbers beside ours.
  std::string table() const;
  nlohmann::ordered_json to_json() const;
};

// Runs the whole study; writes every result to options.out when set. Error when the options
// are inconsistent or the source is empty.
StopStudyResult stop_study(const StopStudyOptions& options);

// The paper's numbers for a point ("750,1", "350,200", "185,5"): an object (empty if none).
nlohmann::ordered_json paper_numbers(double m_stop, double m_lsp);

// Figure 13: the weighted median MET (GeV) of events with both leptons opposite the MET
// (cos dphi(l, MET) < -1/2 for both, from the l1_dphi and l2_dphi columns), both adjacent
// (> 1/2 for both), and the rest; weights from the data's weight column.
struct MetAngleMedians {
  double opposite = 0.0, adjacent = 0.0, rest = 0.0, all = 0.0;
  std::int64_t n_opposite = 0, n_adjacent = 0, n_rest = 0;
};
MetAngleMedians met_angle_medians(const Dataset& events);

// Names of the files stop_study writes (relative to options.out), for tests and docs.
std::vector<std::string> stop_study_files(const StopStudyOptions& options);

}  // namespace unbox::studies
