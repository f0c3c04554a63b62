// unbox generate toy NAME --events N --seed S --out FILE
// unbox generate physics PROCESS --events N --seed S --out FILE [--features] [--truth] ...
// `generate` is a group: the built-in toys and the built-in LO event generator.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "unbox/core.hpp"
#include "unbox/data.hpp"
#include "unbox/dist.hpp"
#include "unbox/physics/generator.hpp"
#include "unbox/toys.hpp"

namespace unbox::cli {

namespace {

struct ToyOptions {
  std::string name;
  Index events = 100000;
  std::uint64_t seed = 1;
  std::string out;
};

int run_toy(const ToyOptions& o) {
  Dataset d = generate_toy(o.name, o.events, o.seed);
  write_dataset(d, o.out);
  std::string cols;
  for (const auto& n : d.names()) cols += (cols.empty() ? "" : ", ") + n;
  std::printf(
      "%s\n",
      fmt::format("wrote {}: {} events ({} signal), columns {}", o.out, d.events(), d.events() / 2, cols).c_str());
  return 0;
}

struct PhysicsGenArgs {
  std::string process, out, detector = "cms", selection = "cms", polarization = "unpolarized";
  physics::GeneratorOptions g;
  Index events = 10000;
  bool features = false, truth = false, no_cuts = false, no_spin = false, no_isr = false, parton_level = false;
  bool quiet = false;
  int threads = 0;
  double label = -1;
  std::uint64_t detector_seed = 1;
};

// HepMC3 output across ranks: the streams 0 .. S-1 that yield the requested events (S from
// the parton-level pass every rank repeats) are split into contiguous ranges; each rank
// writes its range to OUT.rankR (stream index = event number, weights / S as in one
// process), then rank 0 joins the parts in rank order into OUT (header of part 0, the events
// of every part, one footer) and removes them. The parts must be on a file system every
// rank sees (as OUT itself). The events do not depend on the number of ranks.
int run_physics_ranks(const physics::Generator& gen, const PhysicsGenArgs& a) {
  const int rank = dist::rank(), size = dist::size();
  const std::string part = fmt::format("{}.rank{}", a.out, rank);
  std::string status = "ok";
  std::int64_t streams = 0, written = 0;
  try {
    streams = gen.stream_count(a.events, true);
    const auto range = dist::split(streams, rank, size);
    const double inv = 1.0 / static_cast<double>(streams);
    physics::HepMC3Writer writer(part);
    physics::GeneratedEvent copy;
    gen.generate_range(range.begin, range.count(), [&](const physics::GeneratedEvent& e) {
      copy = e;  // reuses the buffers of the previous event
      copy.weight *= inv;
      copy.event.weight = copy.weight;
      writer.write(copy);
      ++written;
    });
    writer.close();
  } catch (const Error& e) {
    status = std::string("error:") + e.what();
  }
  auto all = dist::gather(status + "|" + std::to_string(written));
  if (rank != 0) return status == "ok" ? 0 : 2;
  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    const std::string& s = all[static_cast<size_t>(r)];
    if (s.rfind("ok|", 0) != 0) {
      for (int k = 0; k < size; ++k) std::filesystem::remove(fmt::format("{}.rank{}", a.out, k));
      throw Error(fmt::format("rank {}: {}", r, s.substr(6, s.rfind('|') - 6)));
    }
    total += std::stoll(s.substr(3));
  }
  // Join: part 0 up to its footer, then the event lines of the others, then the footer.
  {
    const std::string tmp = a.out + ".joining";
    std::ofstream out(tmp, std::ios::binary);
    std::string footer;
    for (int r = 0; r < size; ++r) {
      const std::string name = fmt::format("{}.rank{}", a.out, r);
      std::ifstream in(name, std::ios::binary);
      if (!in)
        throw Error(fmt::format("cannot read '{}' (written by rank {}; is it on a shared file system?)", name, r));
      std::string line;
      bool events = false;
      while (std::getline(in, line)) {
        if (line.rfind("HepMC::Asciiv3-END_EVENT_LISTING", 0) == 0) {
          footer = line + "\n";
          break;
        }
        if (line.rfind("E ", 0) == 0) events = true;
        if (events || r == 0) out << line << "\n";
      }
    }
    out << footer << "\n";
    out.close();
    if (!out) throw Error(fmt::format("cannot write '{}' (disk full?)", a.out));
    std::filesystem::rename(tmp, a.out);
    for (int r = 0; r < size; ++r) std::filesystem::remove(fmt::format("{}.rank{}", a.out, r));
  }
  if (!a.quiet)
    std::printf("%s\n",
                fmt::format("wrote {}: {} events from {} streams on {} ranks", a.out, total, streams, size).c_str());
  return 0;
}

int run_physics(PhysicsGenArgs& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  physics::parse_gen_process(a.process, a.g);
  if (a.events <= 0) throw Error(fmt::format("--events must be positive, got {}", a.events));
  a.g.cuts = !a.no_cuts;
  a.g.spin_correlation = !a.no_spin;
  a.g.isr = !a.no_isr;
  a.g.hadronize = !a.parton_level;
  if (a.polarization == "unpolarized")
    a.g.stop_top_polarization = physics::StopTopPolarization::Unpolarized;
  else if (a.polarization == "left")
    a.g.stop_top_polarization = physics::StopTopPolarization::Left;
  else if (a.polarization == "right")
    a.g.stop_top_polarization = physics::StopTopPolarization::Right;
  else
    throw Error(fmt::format("unknown stop top polarization '{}': expected unpolarized, left or right", a.polarization));
  if (a.truth && !a.features) throw Error("--truth adds columns to the feature table: use it with --features");
  physics::Generator gen(a.g);
  const auto& n = gen.normalization();
  std::string head = fmt::format(
      "process {}: LO cross section {:.6g} pb (GRV94 LO, fixed scale), best {:.6g} pb, factor {:.4g}; "
      "dilepton branching {:.4g}; unweighting efficiency {:.3g}\n",
      a.process, n.sigma_lo, n.sigma_best, n.k_factor, n.branching, n.unweighting_efficiency);
  if (!a.quiet) std::fputs(head.c_str(), stdout);
  std::fflush(stdout);
  if (a.features && dist::size() > 1)
    throw Error("generate physics --features runs in one process; across ranks, write HepMC3 (--out x.hepmc)");
  if (a.features) {
    physics::FeatureOptions fo;
    if (a.detector == "cms") {
      fo.detector = physics::DetectorOptions::cms();
    } else if (a.detector == "truth") {
      fo.detector = physics::DetectorOptions::truth();
    } else {
      throw Error(fmt::format("unknown --detector '{}': expected cms or truth", a.detector));
    }
    fo.detector.seed = a.detector_seed;
    fo.detector_name = a.detector;
    fo.selection = a.selection;
    fo.keep_all = a.no_cuts;
    fo.quiet = true;
    fo.label = a.label >= 0 ? a.label : (a.g.process == physics::GenProcess::Stop ? 1.0 : 0.0);
    physics::FeatureResult r = gen.run_features(a.events, fo, a.truth, a.quiet);
    write_dataset(r.data, a.out);
    if (!a.quiet) {
      std::fputs(r.to_table().c_str(), stdout);
      std::printf("%s\n", fmt::format("wrote {}: {} rows x {} columns from {} generated events", a.out, r.data.events(),
                                      r.data.names().size(), a.events)
                              .c_str());
    }
    return 0;
  }
  const std::string ext = extension_of(a.out);
  const bool txt = a.out.size() > 10 && a.out.compare(a.out.size() - 10, 10, ".hepmc.txt") == 0;
  if (ext != "hepmc" && ext != "hepmc3" && !txt)
    throw Error(
        fmt::format("--out '{}': events are written as HepMC3 (.hepmc, .hepmc3); use --features for a "
                    "feature table",
                    a.out));
  if (dist::size() > 1) return run_physics_ranks(gen, a);
  physics::HepMC3Writer writer(a.out);
  double wsum = 0;
  const std::int64_t streams = gen.run(
      a.events,
      [&](const physics::GeneratedEvent& e) {
        writer.write(e);
        wsum += e.weight;
      },
      a.quiet);
  writer.close();
  if (!a.quiet)
    std::printf("%s\n", fmt::format("wrote {}: {} events from {} streams; summed weight {:.6g} events per fb^-1", a.out,
                                    a.events, streams, wsum)
                            .c_str());
  return 0;
}

}  // namespace

void register_generate(CLI::App& app) {
  auto opts = std::make_shared<ToyOptions>();
  // Filled in below; the group's runner dispatches to the selected generator.
  auto toy_cmd = std::make_shared<CLI::App*>(nullptr);
  auto phys_cmd = std::make_shared<CLI::App*>(nullptr);
  auto pa = std::make_shared<PhysicsGenArgs>();
  CLI::App* gen = add_command(app, "generate", "Generate a data set (built-in toys, built-in LO physics generator)",
                              "unbox generate toy product --events 100000 --seed 1 --out product.csv\n"
                              "  unbox generate physics ttbar --events 100000 --features --out ttbar.h5",
                              [opts, toy_cmd, phys_cmd, pa] {
                                if (*toy_cmd && (*toy_cmd)->parsed()) return run_toy(*opts);
                                if (*phys_cmd && (*phys_cmd)->parsed()) return run_physics(*pa);
                                return 2;
                              });
  gen->require_subcommand(1);

  std::string names;
  for (const auto& n : toy_names()) names += (names.empty() ? "" : ", ") + n;
  for (const auto& n : jet_toy_names()) names += ", " + n;
  CLI::App* toy = gen->add_subcommand("toy",
                                      "A built-in toy: product and islands (Roxlo & Reece 2.5), "
                                      "gauss-marginal, gauss-correlation, gauss-width, gauss-mixed (Wunsch et al.), "
                                      "xaug-jets (Agarwal et al., XAUG)");
  *toy_cmd = toy;
  toy->footer(
      "Example:\n  unbox generate toy islands --events 200000 --seed 7 --out islands.h5\n"
      "Columns: x, y, label (product, islands); x1, x2, label (gauss-*). label 1 = signal.\n"
      "xaug-jets: p{i}_pt, p{i}_eta, p{i}_phi, p{i}_z, p{i}_theta for particles i = 0..19 (0-9 in the\n"
      "harder subjet, 10-19 in the softer), then xaug_subjet_balance, xaug_subjet_dr, xaug_mass, label.\n"
      "The output format follows the extension of --out (.csv, .npy, .npz, .h5).");
  // Unknown names are reported by generate_toy (an unbox::Error listing the names), so no
  // CLI11 validator here: one place owns the list.
  toy->add_option("name", opts->name, "Toy name: " + names)->required();
  toy->add_option("--events,-n", opts->events, "Number of events (events/2 signal)")->capture_default_str();
  toy->add_option("--seed,-s", opts->seed, "Random seed (same seed, same events on any machine)")
      ->capture_default_str();
  toy->add_option("--out,-o", opts->out, "Output file; format from the extension")->required();

  CLI::App* ph = gen->add_subcommand(
      "physics", "The built-in leading-order generator: ttbar, tw, ww, stop:M_STOP,M_LSP at 13 TeV (Roxlo & Reece)");
  *phys_cmd = ph;
  ph->footer(
      "Physics (docs/generator.md): GRV94 LO parton densities at a fixed scale (m_t; m_W for ww; the stop mass);\n"
      "LO matrix elements; t tbar spin correlations from the LO spin density; V-A top decays; W Breit-Wigner within\n"
      "15 widths; the top Breit-Wigner TRUNCATED at |m - m_t| < 5 Gamma_t (Gamma_t = 1.48 GeV, LO); stop -> t chi\n"
      "(two-body) or stop -> b W chi through an off-shell top (three-body), from the masses; ISR (one emission, the\n"
      "pair recoils); fragmentation with B hadrons and semileptonic B and D decays. Generator-level cuts of the\n"
      "paper on partons after the decays (2 e/mu > 15 GeV, not 3 > 20 GeV, a b quark > 20 GeV except for ww, parton\n"
      "MET > 50 GeV) unless --no-cuts. weight = expected events per fb^-1 (best cross section x dilepton branching).\n"
      "Output: HepMC3 (--out x.hepmc) or, with --features, the 19 inputs + extras, label, weight (format from the\n"
      "extension); --truth adds truth_mt2ll, truth_mbl1, truth_mbl2, w_cos_star1, w_cos_star2, hel_cos1, hel_cos2,\n"
      "pt_system, m_system, process. Same seed, same events on any number of threads.\n"
      "Examples:\n  unbox generate physics ttbar --events 100000 --features --truth --out ttbar.h5\n"
      "  unbox generate physics stop:350,200 --events 20000 --out stop350.hepmc\n"
      "  unbox generate physics ttbar --events 50000 --no-cuts --features --truth --detector truth --out t.csv");
  ph->add_option("process", pa->process, "ttbar, tw, ww or stop:M_STOP,M_LSP (GeV)")->required();
  ph->add_option("--events,-n", pa->events, "Number of events written")->capture_default_str();
  ph->add_option("--seed,-s", pa->g.seed, "Random seed (event i depends only on the seed and i)")
      ->capture_default_str();
  ph->add_option("--out,-o", pa->out, "Output: HepMC3 (.hepmc, .hepmc3), or a feature table with --features")
      ->required();
  ph->add_flag("--features", pa->features,
               "Write the feature table (reconstruction, detector, selection) instead of events");
  ph->add_flag("--truth", pa->truth, "With --features: add the truth columns");
  ph->add_flag("--no-cuts", pa->no_cuts,
               "No generator-level cuts; with --features every event gets a row (NaN features where objects are "
               "missing) and a 'selected' column");
  ph->add_flag("--weighted", pa->g.weighted, "Weighted events (default: unweighted, all the same weight)");
  ph->add_flag("--no-spin-correlation", pa->no_spin, "t tbar decays without spin correlations");
  ph->add_flag("--taus", pa->g.taus, "Include W -> tau nu with tau -> e/mu nu nu");
  ph->add_flag("--no-isr", pa->no_isr, "No initial-state radiation (the pair has no transverse momentum)");
  ph->add_flag("--parton-level", pa->parton_level, "No fragmentation: quarks and gluons are final");
  ph->add_option("--sqrt-s", pa->g.sqrt_s, "Proton-proton collision energy (GeV)")->capture_default_str();
  ph->add_option("--scale", pa->g.scale, "Fixed factorization/renormalization scale in GeV (0: the default)")
      ->capture_default_str();
  ph->add_option("--stop-top-polarization", pa->polarization, "Top from stop -> t chi: unpolarized, left or right")
      ->capture_default_str();
  ph->add_option("--bias-met", pa->g.bias_scale,
                 "Importance bias for tails: keep an event with probability min(1, max(floor, (q/S)^power)), q = "
                 "parton-level |sum pT| of neutrinos and LSPs, S this value in GeV; weights x 1/probability (0: off)")
      ->capture_default_str();
  ph->add_option("--bias-power", pa->g.bias_power, "Power of the bias")->capture_default_str();
  ph->add_option("--bias-floor", pa->g.bias_floor, "Smallest keep probability of the bias")->capture_default_str();
  ph->add_option("--bias-mt2", pa->g.bias_mt2_scale,
                 "Importance bias on the truth mT2 r of the W leptons (W neutrinos missing): the keep probability "
                 "is also at least (r/S)^power, S this value in GeV (0: off)")
      ->capture_default_str();
  ph->add_option("--bias-mt2-power", pa->g.bias_mt2_power, "Power of the mT2 bias")->capture_default_str();
  ph->add_option("--w-tail", pa->g.w_tail_fraction,
                 "Share of the W* masses in top decays sampled flat in m^2 above m_W + 5 Gamma_W (weights "
                 "compensate; 0: the Breit-Wigner as is)")
      ->capture_default_str();
  ph->add_option("--detector", pa->detector, "With --features: cms or truth")->capture_default_str();
  ph->add_option("--detector-seed", pa->detector_seed, "Seed of the detector response")->capture_default_str();
  ph->add_option("--selection", pa->selection, "With --features: cms, paper, generator or none")->capture_default_str();
  ph->add_option("--label", pa->label, "Label column value (default 1 for stops, 0 otherwise)");
  ph->add_option("--threads", pa->threads, "OpenMP threads (default: all)");
  ph->add_flag("--quiet,-q", pa->quiet, "No progress or summary");
}

}  // namespace unbox::cli
