// The seam between the stop study and the built-in generator (`unbox generate physics`):
// n events of a process through the energy-flow detector and the SUS-17-001 selection, with
// the backgrounds biased toward their MET tail (compensating weights), which sets the AMS.
#include "unbox/physics/generator.hpp"
#include "unbox/studies/stop_study.hpp"

namespace unbox::studies {

EventSource builtin_event_source() {
  return [](const std::string& process, std::int64_t n, std::uint64_t seed, bool spin_correlation) {
    physics::GeneratorOptions g;
    physics::parse_gen_process(process, g);
    g.seed = seed;
    g.spin_correlation = spin_correlation;
    if (g.process != physics::GenProcess::Stop) {
      // Keep a background stream with probability min(1, max(0.02, (q / 150 GeV)^2)), q the
      // neutrinos' summed pT, weight 1/p: the tail above the best mT2ll cut (100-160 GeV), a
      // few per mille of tt-bar, gets about 10x more simulated events at the same cost.
      g.bias_scale = 150.0;
      g.bias_power = 2.0;
      g.bias_floor = 0.02;
    }
    physics::Generator generator(g);
    physics::FeatureOptions f;
    f.selection = "sus-17-001";  // the paper's generator-level cuts were applied to the partons
    f.quiet = true;
    return generator.run_features(n, f, /*truth=*/false, /*quiet=*/true).data;
  };
}

}  // namespace unbox::studies
