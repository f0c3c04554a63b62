// unbox efp: energy flow polynomials. `--list` prints the multigraphs (id, n, d, chromatic
// number, variable-elimination cost, edges); `--data` evaluates them on particle lists and
// writes one column per EFP (efp_<id>), a candidate pool for `unbox ado search`.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/physics/efp.hpp"
#include "unbox/physics/particles.hpp"

namespace unbox::cli {

namespace {

struct EfpArgs {
  bool list = false, connected = false, json = false, quiet = false;
  int dmax = 5, threads = 0;
  Index chunk = 0;
  std::string data, out, keep, graphs_out;
  EfpOptions opt;
  ParticleColumns cols;
  DataTransforms transforms;
};

// The EFP table of `data`'s jets: --keep columns, then efp_<id> per graph.
Dataset efp_table(const EfpArgs& a, const Dataset& data, const std::vector<EfpGraph>& graphs, Index& particles) {
  const ParticleArrays p = particle_arrays(data, a.cols);
  particles = std::max(particles, p.particles);
  Dataset out;
  for (const auto& k : split_list(a.keep)) out.add(k, data.get(k));
  const Tensor v = efp_values(p.pt, p.eta, p.phi, graphs, a.opt);
  const Index n = data.events(), ng = static_cast<Index>(graphs.size());
  for (Index g = 0; g < ng; ++g) {
    Tensor col({n});
    for (Index e = 0; e < n; ++e) col[e] = v.at(e, g);
    out.add(efp_column_name(graphs[static_cast<size_t>(g)]), std::move(col));
  }
  return out;
}

// Chunk by chunk and/or across ranks (as predict): rows written as they are computed (CSV/TSV);
// each rank writes its range of the jets to OUT.rankR, rank 0 joins the parts in rank order.
// Every jet's EFPs are its own, so the rows are those of one process.
Index run_streamed(EfpArgs& a, const std::vector<EfpGraph>& graphs, Index& particles) {
  const std::string ext = extension_of(a.out);
  if (ext != "csv" && ext != "tsv")
    throw Error(fmt::format("--out '{}': EFPs written chunk by chunk or across ranks go to CSV or TSV", a.out));
  const bool ranks = dist::size() > 1;
  const std::string mine = ranks ? rank_part(a.out, dist::rank()) : a.out;
  EventArgs ea;
  ea.data = a.data;
  ea.default_label = false;
  ea.transforms = a.transforms;
  a.opt.quiet = true;  // no progress bar per chunk
  std::string status = "ok";
  Index events = 0;
  try {
    write_atomically(mine, [&](const std::string& tmp) {
      CsvAppender writer(tmp, mine);
      for_each_chunk(ea, a.chunk, [&](Dataset&& d) { writer.append(efp_table(a, d, graphs, particles)); });
      writer.close();
      events = writer.events();
    });
  } catch (const Error& e) {
    if (!ranks) throw;
    status = std::string("error:") + e.what();
  }
  if (ranks) {
    // The largest particle count over the ranks (for the summary line): gathered as text.
    auto all = dist::gather(std::to_string(particles));
    for (const auto& s : all) particles = std::max<Index>(particles, s.empty() ? 0 : std::stoll(s));
    events = join_rank_parts(a.out, status, events, 1);
  }
  return events;
}

int run_efp(EfpArgs& a) {
  if (a.dmax > 7)
    throw Error(
        fmt::format("--dmax {} is refused: EFPs are enumerated up to d = 7 (1000 graphs, the published "
                    "counts); d = 8 alone would add thousands of graphs, mostly products of smaller ones",
                    a.dmax));
  if (a.dmax < 0) throw Error(fmt::format("--dmax {}: must be between 0 and 7", a.dmax));
  const std::vector<EfpGraph> graphs = efp_graphs(a.dmax, a.connected);
  if (!a.graphs_out.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& g : graphs) j.push_back(efp_graph_json(g));
    write_text_atomically(a.graphs_out, j.dump(1) + "\n");
  }
  if (a.list || a.data.empty()) {
    if (!a.list) throw Error("efp needs --list (print the graphs) or --data JETS --out FILE (evaluate them)");
    if (a.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& g : graphs) j.push_back(efp_graph_json(g));
      std::printf("%s\n", j.dump(1).c_str());
    } else {
      std::fputs(efp_graph_table(graphs).c_str(), stdout);
      std::printf("%zu graphs with d <= %d%s\n", graphs.size(), a.dmax, a.connected ? " (connected only)" : "");
    }
    return 0;
  }
  if (a.out.empty()) throw Error("efp --data needs --out FILE (csv, npz, h5, ...) for the EFP table");
  if (a.threads > 0) set_thread_count(a.threads);
  a.opt.quiet = a.quiet || a.json;
  const auto t0 = std::chrono::steady_clock::now();
  Index n = 0, particles = 0;
  if (streamed_run(a.chunk)) {
    n = run_streamed(a, graphs, particles);
    if (!dist::root()) return 0;
  } else {
    Dataset data = load_data({a.data, "", "", false}, a.transforms);
    if (data.source.empty()) data.source = a.data;
    const Dataset out = efp_table(a, data, graphs, particles);
    n = data.events();
    write_dataset(out, a.out);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Index ng = static_cast<Index>(graphs.size());
  if (a.json) {
    nlohmann::json j{{"out", a.out},           {"jets", n},
                     {"particles", particles}, {"graphs", ng},
                     {"dmax", a.dmax},         {"connected_only", a.connected},
                     {"kappa", a.opt.kappa},   {"beta", a.opt.beta},
                     {"seconds", seconds},     {"columns", nlohmann::json::array()}};
    for (const auto& g : graphs) j["columns"].push_back(efp_column_name(g));
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("wrote %s: %lld jets (up to %lld particles), %lld EFPs with d <= %d%s (kappa %g, beta %g) in %.2f s\n",
                a.out.c_str(), static_cast<long long>(n), static_cast<long long>(particles), static_cast<long long>(ng),
                a.dmax, a.connected ? ", connected only" : "", a.opt.kappa, a.opt.beta, seconds);
    std::printf("  columns efp_<id>; the graphs: unbox efp --list --dmax %d%s [--json]\n", a.dmax,
                a.connected ? " --connected" : "");
  }
  return 0;
}

}  // namespace

void register_efp(CLI::App& app) {
  auto a = std::make_shared<EfpArgs>();
  auto* c =
      add_command(app, "efp",
                  "Energy flow polynomials: list the multigraphs up to degree d <= 7, or evaluate them on jets "
                  "given as particle lists (one column per EFP, a candidate pool for `unbox ado search`)",
                  "unbox efp --list --dmax 5 --connected\n"
                  "  unbox efp --data jets.csv --dmax 5 --keep label --out efps.csv\n"
                  "  unbox efp --data jets.h5 --particles '{var}' --pt pt --eta eta --phi phi --dmax 4 --out efps.h5",
                  [a] { return run_efp(*a); });
  c->add_flag("--list", a->list, "Print the graphs (id, n, d, chromatic number, VE complexity, connected, edges)");
  c->add_option("--dmax", a->dmax, "Largest degree (number of edges), 0..7")->capture_default_str();
  c->add_flag("--connected", a->connected, "Connected graphs only (the default is all graphs, d = 0 included)");
  c->add_option("--data,-d", a->data, "Jets: particle columns p{i}_pt, p{i}_eta, p{i}_phi (pT = 0 is padding)");
  add_data_transforms(c, a->transforms);
  c->add_option("--out,-o", a->out, "EFP table; extension picks the format (csv, npz, h5, ...)");
  c->add_option("--keep", a->keep, "Data columns copied to the output (e.g. label)");
  c->add_option("--kappa", a->opt.kappa, "Energy weight: z_i = pT_i^kappa / sum pT^kappa (1 is IRC safe)")
      ->capture_default_str();
  c->add_option("--beta", a->opt.beta, "Angular weight: theta_ij = DeltaR_ij^beta (> 0)")->capture_default_str();
  c->add_option("--particles", a->cols.pattern,
                "Particle column pattern: {i} = particle index, {var} = pt/eta/phi name; without {i} the names are "
                "[events, particles] arrays")
      ->capture_default_str();
  c->add_option("--pt", a->cols.pt, "Name of the pT variable in the pattern")->capture_default_str();
  c->add_option("--eta", a->cols.eta, "Name of the eta variable in the pattern")->capture_default_str();
  c->add_option("--phi", a->cols.phi, "Name of the phi variable in the pattern")->capture_default_str();
  c->add_option("--max-particles", a->cols.max_particles, "Use at most this many particles per jet (0: all)")
      ->capture_default_str();
  c->add_option("--graphs", a->graphs_out, "Also write the graph list (as --list --json) to this file");
  c->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  c->add_flag("--quiet,-q", a->quiet, "No progress bar");
  c->add_flag("--json", a->json, "Print JSON: with --list the graphs, with --data a summary");
  add_chunk_option(c, a->chunk, "nothing (rows are written as they are computed; CSV/TSV output)");
}

}  // namespace unbox::cli
