// unbox physics features: generator events (HepMC3 or LHE) -> the stop-dilepton inputs of
// Roxlo & Reece section 2.1, one row per selected event, with the cut-flow.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/reader.hpp"

namespace unbox::cli {

namespace {

struct FeaturesArgs {
  std::string data, out, cutflow_out, detector = "cms", flavour = "parton";
  physics::FeatureOptions opt;
  double label = 0, weight = 1;
  bool json = false, jes = false, no_jes = false;
  Index chunk = 0;
  CLI::Option* label_opt = nullptr;
  CLI::Option* weight_opt = nullptr;
};

// Events in a generator file, by a line scan (no parsing): HepMC3 "E " records, LHE <event> blocks.
std::int64_t count_generator_events(const std::string& path) {
  const bool hepmc = physics::detect_event_format(path) == physics::EventFormat::HepMC3;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::int64_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (hepmc) {
      n += line.size() >= 2 && line[0] == 'E' && line[1] == ' ';
    } else {
      const size_t p = line.find_first_not_of(" \t");
      n += p != std::string::npos && line.compare(p, 6, "<event") == 0 &&
           (line.size() == p + 6 || line[p + 6] == '>' || line[p + 6] == ' ');
    }
  }
  return n;
}

void add_counts(physics::CutFlow& into, const physics::CutFlow& part) {
  into.total_events += part.total_events;
  into.total_weight += part.total_weight;
  for (size_t i = 0; i < into.events.size() && i < part.events.size(); ++i) {
    into.events[i] += part.events[i];
    into.weights[i] += part.weights[i];
  }
}

physics::CutFlow cutflow_from_json(const nlohmann::json& j) {
  physics::CutFlow f;
  f.total_events = j.at("total_events").get<Index>();
  f.total_weight = j.at("total_weighted").get<double>();
  for (const auto& c : j.at("cuts")) {
    f.add_step(c.at("name").get<std::string>(), c.at("description").get<std::string>());
    f.events.back() = c.at("events").get<Index>();
    f.weights.back() = c.at("weighted").get<double>();
  }
  return f;
}

// Chunk by chunk and/or across ranks: every --chunk events the rows so far are written (CSV/TSV)
// and the cut-flow counts added; under mpirun each rank takes a contiguous range of the
// file's events (rank 0 counts them once; a rank parses the events before its range without
// running the detector on them), writes OUT.rankR, and rank 0 joins the parts in rank order.
// The detector is seeded by the event's number in the file, so the rows are those of one process.
int run_streamed(FeaturesArgs& a) {
  const std::string ext = extension_of(a.out);
  if (ext != "csv" && ext != "tsv")
    throw Error(fmt::format("--out '{}': features written chunk by chunk or across ranks go to CSV or TSV", a.out));
  if (a.chunk < 0) throw Error(fmt::format("--chunk must be >= 0, got {}", a.chunk));
  const bool ranks = dist::size() > 1;
  dist::Range range{0, a.opt.max_events >= 0 ? a.opt.max_events : std::numeric_limits<Index>::max()};
  if (ranks) {
    std::string counted;
    if (dist::root()) {
      try {
        counted = "ok:" + std::to_string(count_generator_events(a.data));
      } catch (const Error& e) {
        counted = std::string("error:") + e.what();
      }
    }
    counted = dist::broadcast(counted);
    if (counted.rfind("ok:", 0) != 0) throw Error(counted.substr(6));
    Index total = std::stoll(counted.substr(3));
    if (a.opt.max_events >= 0) total = std::min<Index>(total, a.opt.max_events);
    range = dist::split(total, dist::rank(), dist::size());
  }
  const Index chunk = a.chunk > 0 ? a.chunk : std::numeric_limits<Index>::max();
  const std::string mine = ranks ? rank_part(a.out, dist::rank()) : a.out;
  const std::string format = physics::detect_event_format(a.data) == physics::EventFormat::HepMC3 ? "HepMC3" : "LHE";
  std::string status = "ok";
  Index rows = 0, read = 0;
  std::vector<std::string> columns;
  physics::CutFlow flow;
  try {
    write_atomically(mine, [&](const std::string& tmp) {
      CsvAppender writer(tmp, mine);
      auto reader = physics::open_events(a.data);
      physics::FeatureBuilder builder(a.opt);
      physics::GenEvent gen;
      Index index = 0, in_chunk = 0;
      bool first = true;
      auto flush = [&] {
        physics::FeatureResult part = builder.finish(a.data, format);
        writer.append(part.data);
        columns = part.data.names();
        if (first)
          flow = part.cutflow;
        else
          add_counts(flow, part.cutflow);
        first = false;
        in_chunk = 0;
      };
      while (index < range.end && reader->next(gen)) {
        if (index >= range.begin) {
          builder.add(gen, index);
          ++read;
          if (++in_chunk == chunk) flush();
        }
        ++index;
      }
      if (in_chunk > 0 || first) flush();
      writer.close();
      rows = writer.events();
    });
  } catch (const Error& e) {
    if (!ranks) throw;
    status = std::string("error:") + e.what();
  }
  physics::FeatureResult r;
  r.source = a.data;
  r.format = format;
  if (ranks) {
    // Every rank's cut-flow and events read, added at rank 0 in rank order.
    const auto parts =
        dist::gather(status == "ok" ? nlohmann::json{{"flow", flow.to_json()}, {"read", read}}.dump() : std::string());
    rows = join_rank_parts(a.out, status, rows, 1);
    if (!dist::root()) return 0;
    read = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      const auto j = nlohmann::json::parse(parts[k]);
      if (k == 0)
        flow = cutflow_from_json(j["flow"]);
      else
        add_counts(flow, cutflow_from_json(j["flow"]));
      read += j["read"].get<Index>();
    }
  }
  r.cutflow = std::move(flow);
  r.events_read = read;
  nlohmann::json j = r.to_json();
  j["selected"] = rows;
  j["columns"] = columns;
  if (!a.cutflow_out.empty()) write_text_atomically(a.cutflow_out, j.dump(2) + "\n");
  if (a.json) {
    j["out"] = a.out;
    j["detector"] = a.detector;
    j["selection"] = a.opt.selection;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::string t = fmt::format("detector {}, selection {}\n", a.detector, a.opt.selection);
    t += fmt::format("{} ({}): {} events read, {} selected\ncut-flow:\n", r.source, r.format, read, rows);
    t += r.cutflow.to_table();
    t += fmt::format("wrote {}: {} events x {} columns\n", a.out, rows, columns.size());
    if (!a.cutflow_out.empty()) t += fmt::format("cut-flow -> {}\n", a.cutflow_out);
    std::fputs(t.c_str(), stdout);
  }
  return 0;
}

int run_features(FeaturesArgs& a) {
  const std::uint64_t seed = a.opt.detector.seed;
  if (a.detector == "cms") {
    a.opt.detector = physics::DetectorOptions::cms();
  } else if (a.detector == "objects") {
    a.opt.detector = physics::DetectorOptions::objects();
  } else if (a.detector == "truth") {
    a.opt.detector = physics::DetectorOptions::truth();
  } else {
    throw Error(fmt::format("unknown --detector '{}': expected cms, objects or truth", a.detector));
  }
  a.opt.detector.seed = seed;
  a.opt.detector.jet_energy_scale = a.jes && !a.no_jes;
  if (a.flavour == "parton") {
    a.opt.reconstruction.flavour = physics::ReconstructionOptions::Flavour::Parton;
  } else if (a.flavour == "ghost") {
    a.opt.reconstruction.flavour = physics::ReconstructionOptions::Flavour::Ghost;
  } else {
    throw Error(fmt::format("unknown --flavour '{}': expected parton or ghost", a.flavour));
  }
  a.opt.detector_name = a.detector;
  if (a.label_opt->count() > 0) {
    if (a.label != 0 && a.label != 1) throw Error(fmt::format("--label must be 0 or 1, got {}", a.label));
    a.opt.label = a.label;
  }
  if (a.weight_opt->count() > 0) a.opt.weight = a.weight;
  a.opt.quiet = a.opt.quiet || a.json;
  if (streamed_run(a.chunk)) return run_streamed(a);
  physics::FeatureResult r = physics::build_features(a.data, a.opt);
  write_dataset(r.data, a.out);
  if (!a.cutflow_out.empty()) write_text_atomically(a.cutflow_out, r.to_json().dump(2) + "\n");
  if (a.json) {
    auto j = r.to_json();
    j["out"] = a.out;
    j["detector"] = a.detector;
    j["selection"] = a.opt.selection;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::string t = fmt::format("detector {}, selection {}\n", a.detector, a.opt.selection) + r.to_table();
    t += fmt::format("wrote {}: {} events x {} columns\n", a.out, r.data.events(), r.data.names().size());
    if (!a.cutflow_out.empty()) t += fmt::format("cut-flow -> {}\n", a.cutflow_out);
    std::fputs(t.c_str(), stdout);
  }
  return 0;
}

}  // namespace

void register_physics_features(CLI::App& physics) {
  auto a = std::make_shared<FeaturesArgs>();
  auto* c =
      add_command(physics, "features",
                  "Generator events (HepMC3 or LHE) -> reconstructed objects, detector response, selection "
                  "and the stop-dilepton network inputs, with the cut-flow",
                  "unbox physics features --channel stop-dilepton --data events.hepmc --out features.h5 "
                  "--label 0\n  unbox physics features --data ttbar.lhe --out f.csv --detector truth "
                  "--selection paper --cutflow cutflow.json\n  unbox physics features --data events.hepmc --out f.csv "
                  "--objects\n  unbox physics mt2 --data f.csv --out mt2.csv --l1 obj_l1 --l2 obj_l2 "
                  "--met-phi obj_met_phi",
                  [a] { return run_features(*a); });
  c->add_option("--channel", a->opt.channel, "Feature set")->capture_default_str();
  c->add_option("--data,-d", a->data, "Events: HepMC3 ASCII (.hepmc, .hepmc3) or LHE (.lhe); else by content")
      ->required();
  c->add_option("--out,-o", a->out, "Feature file; extension picks the format (h5, csv, npz, npy)")->required();
  a->label_opt = c->add_option("--label", a->label, "Add a label column with this value (1 signal, 0 background)");
  a->weight_opt = c->add_option("--weight", a->weight, "Constant event weight (default: the generator's event weight)");
  c->add_option("--detector", a->detector,
                "Detector: cms (energy-flow emulation of Delphes 3.4.1's CMS card), objects (the simplified "
                "object smearing) or truth")
      ->capture_default_str();
  c->add_option("--flavour", a->flavour,
                "Jet flavour for b-tagging: parton (the card's highest-PDG parton within Delta-R 0.5) or ghost "
                "(ghost-associated b/c hadrons)")
      ->capture_default_str();
  c->add_flag("--jet-energy-scale", a->jes,
              "Apply the card's jet energy scale sqrt((2.5 - 0.15|eta|)^2/pT + 1) to energy-flow jets (off by default: "
              "it was tuned on full-shower jets whose raw response is below 1; these jets already respond within 3 % "
              "of 1, and the factor pushes them up to 12 % high at 30 GeV)");
  c->add_flag("--no-jet-energy-scale", a->no_jes, "Leave energy-flow jets unscaled (the default)")->group("");
  c->add_option("--seed", a->opt.detector.seed, "Seed of the detector response")->capture_default_str();
  c->add_option("--selection", a->opt.selection,
                "sus-17-001 (CMS SUS-17-001 preselection, MET/sqrt(HT) > 5), sus-19-011 (the same with the "
                "likelihood significance S > 12), paper (generator cuts + sus-17-001), generator or none")
      ->capture_default_str();
  c->add_option("--max-events", a->opt.max_events, "Read at most this many events (-1: all)")->capture_default_str();
  c->add_option("--jet-r", a->opt.reconstruction.jet_r, "Anti-kT radius")->capture_default_str();
  c->add_option("--iso-cone", a->opt.reconstruction.isolation_cone, "Lepton isolation cone (Delta-R)")
      ->capture_default_str();
  c->add_flag("--objects", a->opt.objects,
              "Also write the raw objects the features were computed from: obj_l1_pt, obj_l1_eta, obj_l1_phi, "
              "obj_l1_m, the same for obj_l2, obj_j1 (the jet paired with l1), obj_j2, and obj_met_phi (GeV, "
              "radians, eta not sign-flipped), before label and weight; feeds `unbox physics mt2 --l1 obj_l1 "
              "--l2 obj_l2 --met-phi obj_met_phi`");
  c->add_option("--cutflow", a->cutflow_out, "Write the cut-flow (and run summary) as JSON");
  c->add_flag("--quiet,-q", a->opt.quiet, "No progress bar");
  c->add_flag("--json", a->json, "Print JSON instead of the table");
  add_chunk_option(c, a->chunk, "the rows of N events (written to CSV/TSV --out chunk by chunk)");
}

}  // namespace unbox::cli
