// The seam between the stop study and the built-in generator (`unbox generate physics`):
// n events of a process through the energy-flow detector and the SUS-17-001 selection, with
// the backgrounds biased toward their MET and mT2ll tails (compensating weights), which set
// the AMS.
#include "unbox/physics/generator.hpp"
#include "unbox/studies/stop_study.hpp"

namespace unbox::studies {

namespace {
constexpr double kWTailFraction = 0.6, kBiasMet = 150.0, kBiasMt2 = 120.0, kBiasMt2Power = 6.0, kBiasFloor = 0.02;
}  // namespace

EventSource builtin_event_source() {
  return [](const std::string& process, std::int64_t n, std::uint64_t seed, bool spin_correlation) {
    physics::GeneratorOptions g;
    physics::parse_gen_process(process, g);
    g.seed = seed;
    g.spin_correlation = spin_correlation;
    if (g.process != physics::GenProcess::Stop) {
      // The AMS is set by the background's mT2ll tail above the best cut (100-160 GeV), a few
      // per mille of tt-bar, made by W* masses above m_W (a fixed-width Breit-Wigner tail)
      // and by the MET's mismeasurement. Two exact importance devices (weights compensate):
      // - 60 % of the W* masses in top decays sampled flat in m^2 above m_W + 5 Gamma_W (an
      //   event reaches a large mT2ll only when both W* are heavy);
      // - keep a stream with probability min(1, max(0.02, (q / 150 GeV)^2, (r / 120 GeV)^6)),
      //   q the neutrinos' summed pT, r the truth mT2 of the W leptons with the W neutrinos.
      g.w_tail_fraction = kWTailFraction;
      g.bias_scale = kBiasMet;
      g.bias_power = 2.0;
      g.bias_mt2_scale = kBiasMt2;
      g.bias_mt2_power = kBiasMt2Power;
      g.bias_floor = kBiasFloor;
    }
    physics::Generator generator(g);
    physics::FeatureOptions f;
    f.selection = "sus-17-001";  // the paper's generator-level cuts were applied to the partons
    f.quiet = true;
    return generator.run_features(n, f, /*truth=*/false, /*quiet=*/true).data;
  };
}

}  // namespace unbox::studies
