// unbox's built-in leading-order event generator for the stop/top dilepton study (Roxlo & Reece
// §2): p p -> t tbar (spin-correlated), t W, W+ W-, and stop pairs at 13 TeV, with GRV94 LO
// parton densities, V-A top decays, Breit-Wigner tops and W's over their physical range, stop two- and three-body
// decays, initial-state radiation, a simple fragmentation with B hadrons and their semileptonic decays, the paper's
// generator-level cuts, and a normalization to the best available cross sections. The physics, formulas and their
// sources are in docs/generator.md.
//
// Reproducibility: event stream i of a run with seed S draws only from random numbers seeded
// by (S, i), so any thread count and any chunking give bit-identical events. Every stream
// yields at most one event (after unweighting, the importance bias and the cuts).
//
// Normalization: a stream's `weight` is the expected number of events per fb^-1 times the
// number of streams consumed; divide by that number (Generator::run does) to get expected
// events per fb^-1 per written event.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/reader.hpp"

namespace unbox::physics {

enum class GenProcess { TTbar = 0, TW = 1, WW = 2, Stop = 3 };

// How the top from a stop decay is polarized (the mixing is not given in the paper).
enum class StopTopPolarization { Unpolarized, Left, Right };

struct GeneratorOptions {
  GenProcess process = GenProcess::TTbar;
  double stop_mass = 0, lsp_mass = 0;  // GeV, for GenProcess::Stop
  double sqrt_s = 13000.0;             // GeV
  std::uint64_t seed = 1;
  bool taus = false;             // W -> tau nu with tau -> e/mu nu nu as well
  bool spin_correlation = true;  // t tbar spin correlations (LO spin density)
  bool weighted = false;         // weighted events instead of unweighted
  bool cuts = true;              // the paper's generator-level cuts on partons after decays
  bool isr = true;               // initial-state radiation (one emission, the pair recoils)
  bool hadronize = true;         // fragmentation, B hadrons and their decays; off: partons final
  StopTopPolarization stop_top_polarization = StopTopPolarization::Unpolarized;
  // Importance bias for tails: a stream is kept with probability
  //   p = min(1, max(bias_floor, (q / bias_scale)^bias_power, (r / bias_mt2_scale)^bias_mt2_power)),
  // q = |sum of the neutrinos' (and LSPs') transverse momenta| at parton level (GeV), r = the
  // truth mT2 of the two W leptons (after tau decays) with the two W neutrinos as the missing
  // momentum (GenTruth::mt2ll), and its weight multiplied by 1/p, so every weighted
  // distribution is unbiased. A scale <= 0 leaves its term out; both <= 0: off.
  double bias_scale = 0.0;
  double bias_power = 2.0;
  double bias_floor = 0.01;
  double bias_mt2_scale = 0.0;
  double bias_mt2_power = 4.0;
  // Share of the W* masses in top decays sampled flat in m^2 between m_W + 5 Gamma_W and
  // m_t - m_b (the high-virtuality tail that makes mT2ll exceed m_W), the rest from the
  // Breit-Wigner; each event carries the compensating weight, so every weighted distribution
  // is unchanged. 0: the W line shape as is, unit weights.
  double w_tail_fraction = 0.0;
  // Factorization and renormalization scale (GeV), fixed; <= 0: m_t (t tbar, tW), m_W (WW),
  // the stop mass (stops).
  double scale = 0.0;
  // Not used by the computation: streams generated so far, for a bar (run, run_features).
  ProgressCallback progress;
};

// Parse "ttbar", "tw", "ww", "stop:M_STOP,M_LSP" into the options (Error on anything else).
void parse_gen_process(const std::string& spec, GeneratorOptions& options);

// Truth quantities of one event (NaN where they do not apply).
struct GenTruth {
  double mt2ll = 0;                         // mT2 of the two W leptons, the W neutrinos as missing momentum
  double mbl1 = 0, mbl2 = 0;                // m(l+ b) from the top (side 1), m(l- bbar) from the antitop
  double w_cos_star1 = 0, w_cos_star2 = 0;  // charged lepton in the W frame vs the W in the top frame
  double hel_cos1 = 0, hel_cos2 = 0;        // l+ on k in the t frame, l- on -k in the tbar frame
  double pt_system = 0, m_system = 0;       // the produced pair
  double ckk = 0;                           // t tbar: C_kk(beta, Theta) of the event's channel (else NaN)
  double met_parton = 0;                    // |sum pT| of the neutrinos and LSPs at parton level
  double m_blnu1 = 0, m_blnu2 = 0;          // m(b W) of each side (top mass or off-shell top)
  double m_chi_side1 = 0, m_chi_side2 = 0;  // m(b W chi) (stops; = m_stop)
  double m_top_chi1 = 0;                    // two-body stops: m(t + chi) of side 1
  int process = 0;
  int gg = 0;  // initial state was g g
};

// One entry of the generator's event record (for HepMC3 output): momentum in GeV, the index
// of its mother in the record (-1: an incoming parton; -2: made by the hard process).
struct GenRecordParticle {
  double px = 0, py = 0, pz = 0, e = 0, m = 0;
  int pdg_id = 0, status = 0, mother = -1;
};

struct GeneratedEvent {
  std::int64_t index = 0;                 // the stream
  std::vector<GenRecordParticle> record;  // incoming partons first, then everything made
  GenEvent event;                         // hadron level (or parton level when hadronize is off)
  GenTruth truth;
  double weight = 0;  // see the normalization above
};

// Cross sections and factors a run uses (pb).
struct GenNormalization {
  double sigma_lo = 0;    // our LO cross section (quadrature for t tbar and stops; MC else)
  double sigma_best = 0;  // the note's best cross section
  double branching = 0;   // dilepton branching fraction per pair
  double k_factor = 0;    // sigma_best / sigma_lo
  double max_weight = 0;  // unweighting maximum (pb per point)
  double unweighting_efficiency = 0;
  double gg_share = 0;  // gg fraction of sigma_lo (t tbar, stops)
};

class Generator {
 public:
  explicit Generator(const GeneratorOptions& options);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
  const GeneratorOptions& options() const { return options_; }
  const GenNormalization& normalization() const { return norm_; }

  // One stream: false when it yields no event (unweighting never rejects a stream: it retries
  // inside the stream; the cuts and the importance bias can). Thread-safe.
  bool generate(std::int64_t index, GeneratedEvent& out) const;

  // Streams [begin, begin + count), OpenMP-parallel; `sink` is called in stream order from
  // one thread for every yielded event.
  void generate_range(std::int64_t begin, std::int64_t count,
                      const std::function<void(const GeneratedEvent&)>& sink) const;

  // The number of streams (from 0) that yield `events` events: a parton-level pass when the
  // cuts, the bias or weighted events can drop streams; `events` itself otherwise.
  std::int64_t stream_count(std::int64_t events, bool quiet = true) const;

  // Runs streams 0, 1, ... until `events` events were yielded; returns the number of streams
  // consumed (the weights given to `sink` are already divided by it). Events are generated
  // twice when cuts or the bias are on (a cheap parton-level pass finds the stream count).
  std::int64_t run(std::int64_t events, const std::function<void(const GeneratedEvent&)>& sink,
                   bool quiet = true) const;

  // Everything to features in one pass: `events` events through a FeatureBuilder per block of
  // streams (block size from `events` only), joined in stream order; the weight column and the
  // cut-flow sums are divided by the number of streams at the end. With truth, the truth
  // columns (gen_truth_columns()) are appended in row order.
  FeatureResult run_features(std::int64_t events, const FeatureOptions& features, bool truth, bool quiet = true) const;

  // The LO cross section by quadrature (pb; t tbar and stops), with the gg share and <m_pair>.
  double lo_cross_section_quadrature(double* gg_share = nullptr, double* mean_mass = nullptr) const;

  struct Impl;

 private:
  GeneratorOptions options_;
  GenNormalization norm_;
  Impl* impl_;
};

// Truth column names, in the order Generator::run_features writes them.
const std::vector<std::string>& gen_truth_columns();
// The values of one event in that order.
std::vector<double> gen_truth_values(const GenTruth& truth);

// Writes events as HepMC3 ASCII (libHepMC3's WriterAscii), atomically.
class HepMC3Writer {
 public:
  explicit HepMC3Writer(const std::string& path);
  ~HepMC3Writer();
  void write(const GeneratedEvent& event);
  void close();  // renames the temporary file into place

 private:
  struct State;
  State* state_;
};

// Process parameters the generator uses (GeV): exposed for the tests and the README.
struct SmParameters {
  static constexpr double m_top = 172.5, m_w = 80.379, w_width = 2.085, m_z = 91.1876, m_b = 4.75;
  static constexpr double g_fermi = 1.1663787e-5;
  static double top_width();  // LO, m_b = 0: G_F m_t^3 (1 - x)^2 (1 + 2x) / (8 pi sqrt 2)
};

}  // namespace unbox::physics
