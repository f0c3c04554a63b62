// Writes a small sample of hand-built ttbar-like dilepton events (tests/physics/hepmc_samples.hpp)
// as HepMC3 ASCII, or as LHE when the output ends in .lhe, so the README's physics example
// runs without an event generator:
//   make_hepmc_sample sample.hepmc [--events N] [--seed S] [--mev]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../physics/hepmc_samples.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: make_hepmc_sample OUT.hepmc|OUT.lhe [--events N] [--seed S] [--mev]\n");
    return 2;
  }
  std::string out = argv[1];
  int n = 200;
  unsigned long long seed = 1;
  bool mev = false;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--events") && i + 1 < argc)
      n = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--mev"))
      mev = true;
    else {
      std::fprintf(stderr, "make_hepmc_sample: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (n < 1) {
    std::fprintf(stderr, "make_hepmc_sample: --events must be at least 1\n");
    return 2;
  }
  bool lhe = out.size() > 4 && out.compare(out.size() - 4, 4, ".lhe") == 0;
  if (lhe)
    unbox::test_samples::write_ttbar_lhe(out, n, seed);
  else
    unbox::test_samples::write_ttbar_hepmc(out, n, seed, mev ? HepMC3::Units::MEV : HepMC3::Units::GEV);
  std::printf("wrote %s: %d ttbar-like dilepton events (%s)\n", out.c_str(), n,
              lhe ? "LHE, parton level" : (mev ? "HepMC3, MeV" : "HepMC3, GeV"));
  return 0;
}
