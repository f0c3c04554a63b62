// The seam between the stop study and the built-in generator (`unbox generate physics`):
// n events of a process through the energy-flow detector and the SUS-17-001 selection, with
// the backgrounds biased toward their MET and mT2ll tails (compensating weights), which set
// the AMS.
#include <fmt/format.h>

#include <algorithm>

#include "unbox/physics/features.hpp"
#include "unbox/physics/generator.hpp"
#include "unbox/studies/stop_study.hpp"

namespace unbox::studies {

namespace {
constexpr double kWTailFraction = 0.6, kBiasMet = 150.0, kBiasMt2 = 120.0, kBiasMt2Power = 6.0, kBiasFloor = 0.02;
}  // namespace

namespace {
physics::GeneratorOptions builtin_options(const std::string& process, std::uint64_t seed, bool spin_correlation) {
  physics::GeneratorOptions g;
  physics::parse_gen_process(process, g);
  g.seed = seed;
  g.spin_correlation = spin_correlation;
  if (g.process == physics::GenProcess::TTbar || g.process == physics::GenProcess::TW) {
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
  // WW has no tail bias: the selection's two jets and b tag leave it no selected event at
  // these sizes (one ISR emission; none of 116 000 in the 10^6-event demo), and the bias would
  // triple its generation time (the costliest per event: its unweighting efficiency is 0.03).
  return g;
}

physics::FeatureOptions builtin_features() {
  physics::FeatureOptions f;
  f.selection = "sus-17-001";  // the paper's generator-level cuts were applied to the partons
  f.quiet = true;
  return f;
}
}  // namespace

// Bump when the samples builtin_event_source() makes change (cache file names carry it).
std::string builtin_source_id() { return "builtin2"; }

EventSource builtin_event_source() {
  return [](const std::string& process, std::int64_t n, std::uint64_t seed, bool spin_correlation) {
    physics::Generator generator(builtin_options(process, seed, spin_correlation));
    return generator.run_features(n, builtin_features(), /*truth=*/false, /*quiet=*/true).data;
  };
}

EventSource builtin_event_source_part(int part, int parts) {
  if (parts < 1 || part < 0 || part >= parts) throw Error(fmt::format("bad part {} of {}", part, parts));
  return [part, parts](const std::string& process, std::int64_t n, std::uint64_t seed, bool spin_correlation) {
    physics::Generator generator(builtin_options(process, seed, spin_correlation));
    // The streams that yield n events (a parton-level pass every part repeats), split into
    // contiguous ranges; each stream's event comes from its own seed and the detector is seeded
    // by the stream index, so the parts' rows joined in order are run_features(n)'s rows.
    const std::int64_t streams = generator.stream_count(n, true);
    const std::int64_t base = streams / parts, extra = streams % parts;
    const std::int64_t begin = part * base + std::min<std::int64_t>(part, extra);
    const std::int64_t count = base + (part < extra ? 1 : 0);
    physics::FeatureBuilder fb(builtin_features());
    generator.generate_range(begin, count, [&](const physics::GeneratedEvent& e) { fb.add(e.event, e.index); });
    Dataset d = fb.finish("generator", "generator").data;
    const double inv = 1.0 / static_cast<double>(streams);  // as run_features: expected events per fb^-1
    for (double& w : d.get("weight").values()) w *= inv;
    return d;
  };
}

}  // namespace unbox::studies
