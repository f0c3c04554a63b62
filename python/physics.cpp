// Physics: mT2 over arrays, the stop-dilepton features of HepMC3/LHE files, the built-in
// generator, energy flow polynomials and isolation cones on particle columns.
#include <fmt/format.h>

#include "common.hpp"
#include "unbox/physics/efp.hpp"
#include "unbox/physics/features.hpp"
#include "unbox/physics/generator.hpp"
#include "unbox/physics/isolation.hpp"
#include "unbox/physics/mt2.hpp"
#include "unbox/physics/particles.hpp"

namespace unbox::python {

namespace {

using DatasetPtr = std::shared_ptr<Dataset>;

// Eight arrays of one length (broadcast by the Python layer), float64 C order.
py::array mt2(py::array_t<double, py::array::c_style | py::array::forcecast> a_pt,
              py::array_t<double, py::array::c_style | py::array::forcecast> a_phi,
              py::array_t<double, py::array::c_style | py::array::forcecast> a_m,
              py::array_t<double, py::array::c_style | py::array::forcecast> b_pt,
              py::array_t<double, py::array::c_style | py::array::forcecast> b_phi,
              py::array_t<double, py::array::c_style | py::array::forcecast> b_m,
              py::array_t<double, py::array::c_style | py::array::forcecast> met,
              py::array_t<double, py::array::c_style | py::array::forcecast> met_phi, double mchi_a, double mchi_b,
              double precision) {
  const auto n = static_cast<size_t>(a_pt.size());
  for (const auto* a : {&a_phi, &a_m, &b_pt, &b_phi, &b_m, &met, &met_phi})
    if (static_cast<size_t>(a->size()) != n) throw Error("mt2: the arrays must have one length");
  py::array_t<double> out(static_cast<py::ssize_t>(n));
  physics::Mt2Options o;
  o.mchi_a = mchi_a;
  o.mchi_b = mchi_b;
  o.precision = precision;
  const double *p1 = a_pt.data(), *p2 = a_phi.data(), *p3 = a_m.data(), *p4 = b_pt.data(), *p5 = b_phi.data(),
               *p6 = b_m.data(), *p7 = met.data(), *p8 = met_phi.data();
  double* dst = out.mutable_data();
  {
    LongCall call;
    physics::mt2_batch(n, p1, p2, p3, p4, p5, p6, p7, p8, dst, o);
  }
  return out;
}

void detector_from_name(physics::FeatureOptions& o, const std::string& detector, std::uint64_t seed) {
  if (detector == "cms")
    o.detector = physics::DetectorOptions::cms();
  else if (detector == "objects")
    o.detector = physics::DetectorOptions::objects();
  else if (detector == "truth")
    o.detector = physics::DetectorOptions::truth();
  else
    throw OptionError(fmt::format("unknown detector '{}': expected cms, objects or truth", detector));
  o.detector.seed = seed;
  o.detector_name = detector;
}

Result features(const std::string& path, py::dict kw) {
  physics::FeatureOptions o;
  std::string detector = "cms", flavour = "parton";
  std::uint64_t seed = o.detector.seed;
  std::optional<double> label, weight;
  bool jes = false;
  Options v("physics.features", kw);
  v("channel", o.channel);
  v("label", label);
  v("weight", weight);
  v("detector", detector);
  v("flavour", flavour);
  v("jet_energy_scale", jes);
  v("seed", seed);
  v("selection", o.selection);
  v("max_events", o.max_events);
  v("jet_r", o.reconstruction.jet_r);
  v("iso_cone", o.reconstruction.isolation_cone);
  v("objects", o.objects);
  v("quiet", o.quiet);
  v.finish();
  detector_from_name(o, detector, seed);
  o.detector.jet_energy_scale = jes;
  if (flavour == "parton")
    o.reconstruction.flavour = physics::ReconstructionOptions::Flavour::Parton;
  else if (flavour == "ghost")
    o.reconstruction.flavour = physics::ReconstructionOptions::Flavour::Ghost;
  else
    throw OptionError(fmt::format("unknown flavour '{}': expected parton or ghost", flavour));
  if (label) {
    if (*label != 0 && *label != 1) throw OptionError(fmt::format("label must be 0 or 1, got {}", *label));
    o.label = *label;
  }
  if (weight) o.weight = *weight;
  auto r = std::make_shared<physics::FeatureResult>();
  try {
    LongCall call;
    *r = physics::build_features(path, o);
  } catch (const Cancelled&) {
    throw;
  } catch (const Error& e) {
    throw InputError(e.what());
  }
  Result out;
  out.method = "physics.features";
  out.table = fmt::format("detector {}, selection {}\n", detector, o.selection) + r->to_table();
  auto j = r->to_json();
  j["detector"] = detector;
  j["selection"] = o.selection;
  out.json = j.dump();
  out.owner = r;
  out.frames["data"] = dataset_columns(r, r->data);
  return out;
}

// HepMC3 by the output's name, as `unbox generate physics --out`.
bool hepmc_path(const std::string& out) {
  const std::string ext = extension_of(out);
  const bool txt = out.size() > 10 && out.compare(out.size() - 10, 10, ".hepmc.txt") == 0;
  return ext == "hepmc" || ext == "hepmc3" || txt;
}

Result generate(const std::string& process, Index events, py::dict kw, py::object progress) {
  physics::GeneratorOptions g;
  physics::parse_gen_process(process, g);
  if (events <= 0) throw OptionError(fmt::format("generate: events must be positive, got {}", events));
  std::string detector = "cms", selection = "cms", polarization = "unpolarized";
  bool truth = false, no_cuts = false, no_spin = false, no_isr = false, parton_level = false;
  std::uint64_t detector_seed = 1;
  std::optional<double> label;
  std::string out_path;
  Options v("physics.generate", kw);
  v("out", out_path);
  v("seed", g.seed);
  v("truth", truth);
  v("no_cuts", no_cuts);
  v("weighted", g.weighted);
  v("no_spin_correlation", no_spin);
  v("taus", g.taus);
  v("no_isr", no_isr);
  v("parton_level", parton_level);
  v("sqrt_s", g.sqrt_s);
  v("scale", g.scale);
  v("stop_top_polarization", polarization);
  v("bias_met", g.bias_scale);
  v("bias_power", g.bias_power);
  v("bias_floor", g.bias_floor);
  v("detector", detector);
  v("detector_seed", detector_seed);
  v("selection", selection);
  v("label", label);
  v.finish();
  g.cuts = !no_cuts;
  g.spin_correlation = !no_spin;
  g.isr = !no_isr;
  g.hadronize = !parton_level;
  if (polarization == "unpolarized")
    g.stop_top_polarization = physics::StopTopPolarization::Unpolarized;
  else if (polarization == "left")
    g.stop_top_polarization = physics::StopTopPolarization::Left;
  else if (polarization == "right")
    g.stop_top_polarization = physics::StopTopPolarization::Right;
  else
    throw OptionError(
        fmt::format("unknown stop top polarization '{}': expected unpolarized, left or right", polarization));
  const bool hepmc = !out_path.empty() && hepmc_path(out_path);
  if (hepmc && truth)
    throw OptionError("physics.generate: truth adds columns to the feature table; a HepMC3 file holds the events");
  physics::FeatureOptions fo;
  if (detector != "cms" && detector != "truth")
    throw OptionError(fmt::format("unknown detector '{}': expected cms or truth", detector));
  detector_from_name(fo, detector, detector_seed);
  fo.selection = selection;
  fo.keep_all = no_cuts;
  fo.quiet = true;
  fo.label = label ? *label : (g.process == physics::GenProcess::Stop ? 1.0 : 0.0);
  auto r = std::make_shared<physics::FeatureResult>();
  nlohmann::json norm;
  std::string head;
  std::int64_t streams = 0;
  double wsum = 0;
  ProgressBridge bar(progress, "generate");
  g.progress = bar.callback();
  bar.run([&] {
    physics::Generator gen(g);
    const auto& n = gen.normalization();
    norm = {{"sigma_lo", n.sigma_lo},
            {"sigma_best", n.sigma_best},
            {"branching", n.branching},
            {"k_factor", n.k_factor},
            {"unweighting_efficiency", n.unweighting_efficiency},
            {"gg_share", n.gg_share}};
    head = fmt::format(
        "process {}: LO cross section {:.6g} pb (GRV94 LO, fixed scale), best {:.6g} pb, factor {:.4g}; "
        "dilepton branching {:.4g}; unweighting efficiency {:.3g}\n",
        process, n.sigma_lo, n.sigma_best, n.k_factor, n.branching, n.unweighting_efficiency);
    if (hepmc) {  // the events themselves, as `unbox generate physics --out x.hepmc`
      physics::HepMC3Writer writer(out_path);
      streams = gen.run(events, [&](const physics::GeneratedEvent& e) {
        writer.write(e);
        wsum += e.weight;
      });
      writer.close();
    } else {
      *r = gen.run_features(events, fo, truth, true);
      if (!out_path.empty()) write_dataset(r->data, out_path);
    }
  });
  g.progress = nullptr;
  Result out;
  out.method = "physics.generate";
  if (hepmc) {
    out.table = head + fmt::format("wrote {}: {} events from {} streams; summed weight {:.6g} events per fb^-1\n",
                                   out_path, events, streams, wsum);
    nlohmann::json j = {{"process", process}, {"out", out_path},       {"events", events},
                        {"streams", streams}, {"summed_weight", wsum}, {"normalization", norm}};
    out.json = j.dump();
    out.owner = r;
    return out;
  }
  out.table = head + r->to_table();
  if (!out_path.empty())
    out.table += fmt::format("wrote {}: {} rows x {} columns from {} generated events\n", out_path, r->data.events(),
                             r->data.names().size(), events);
  auto j = r->to_json();
  j["process"] = process;
  j["normalization"] = norm;
  if (!out_path.empty()) j["out"] = out_path;
  out.json = j.dump();
  out.owner = r;
  out.frames["data"] = dataset_columns(r, r->data);
  return out;
}

ParticleColumns particle_options(Options& v, ParticleColumns& c) {
  v("particles", c.pattern);
  v("pt", c.pt);
  v("eta", c.eta);
  v("phi", c.phi);
  v("max_particles", c.max_particles);
  return c;
}

Result efp(const DatasetPtr& data, py::dict kw) {
  int dmax = 3;
  bool connected = false;
  EfpOptions o;
  ParticleColumns cols;
  Options v("efp", kw);
  v("dmax", dmax);
  v("connected", connected);
  v("kappa", o.kappa);
  v("beta", o.beta);
  v("quiet", o.quiet);
  particle_options(v, cols);
  v.finish();
  const auto graphs = efp_graphs(dmax, connected);
  const ParticleArrays p = particle_arrays(*data, cols);
  auto values = std::make_shared<Dataset>();
  {
    LongCall call;
    const Tensor t = efp_values(p.pt, p.eta, p.phi, graphs, o);
    const Index n = data->events(), ng = static_cast<Index>(graphs.size());
    for (Index g = 0; g < ng; ++g) {
      Tensor col({n});
      for (Index e = 0; e < n; ++e) col[e] = t.at(e, g);
      values->add(efp_column_name(graphs[static_cast<size_t>(g)]), std::move(col));
    }
  }
  nlohmann::json gj = nlohmann::json::array();
  for (const auto& g : graphs) gj.push_back(efp_graph_json(g));
  nlohmann::json j{{"jets", data->events()}, {"particles", p.particles},    {"graphs", gj},
                   {"dmax", dmax},           {"connected_only", connected}, {"kappa", o.kappa},
                   {"beta", o.beta},         {"columns", values->names()}};
  Result out;
  out.method = "efp";
  out.table = efp_graph_table(graphs);
  out.json = j.dump();
  out.owner = values;
  out.frames["values"] = dataset_columns(values, *values);
  return out;
}

Result isolation_cones(const DatasetPtr& data, py::dict kw) {
  IsolationOptions o;
  ParticleColumns cols;
  std::string ref_pt = "ref_pt", ref_eta = "ref_eta", ref_phi = "ref_phi";
  Options v("isolation", kw);
  v("r0", o.r0);
  v("veto", o.veto);
  v("ref_pt", ref_pt);
  v("ref_eta", ref_eta);
  v("ref_phi", ref_phi);
  particle_options(v, cols);
  v.finish();
  const ParticleArrays p = particle_arrays(*data, cols);
  auto values = std::make_shared<Dataset>();
  {
    LongCall call;
    const Tensor t = isolation(data->get(ref_pt), data->get(ref_eta), data->get(ref_phi), p.pt, p.eta, p.phi, o);
    const Index n = data->events(), nr = static_cast<Index>(o.r0.size());
    for (Index r = 0; r < nr; ++r) {
      Tensor col({n});
      for (Index e = 0; e < n; ++e) col[e] = t.at(e, r);
      values->add(isolation_column_name(o.r0[static_cast<size_t>(r)]), std::move(col));
    }
  }
  nlohmann::json j{{"events", data->events()},
                   {"particles", p.particles},
                   {"veto", o.veto},
                   {"r0", o.r0},
                   {"columns", values->names()}};
  Result out;
  out.method = "isolation";
  out.table = fmt::format("{} events, {} particles each, columns {}\n", data->events(), p.particles,
                          fmt::join(values->names(), ", "));
  out.json = j.dump();
  out.owner = values;
  out.frames["values"] = dataset_columns(values, *values);
  return out;
}

}  // namespace

void init_physics(py::module_& m) {
  m.def("mt2", &mt2);
  m.def("features", &features, py::arg("path"), py::arg("options"));
  m.def("generate", &generate, py::arg("process"), py::arg("events"), py::arg("options"),
        py::arg("progress") = py::none());
  m.def("efp", &efp, py::arg("data"), py::arg("options"));
  m.def("isolation", &isolation_cones, py::arg("data"), py::arg("options"));
  m.def("efp_graphs", [](int dmax, bool connected) {
    nlohmann::json gj = nlohmann::json::array();
    for (const auto& g : efp_graphs(dmax, connected)) gj.push_back(efp_graph_json(g));
    return json_to_python(gj);
  });
}

}  // namespace unbox::python
