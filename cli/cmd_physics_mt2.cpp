// unbox physics mt2: the stransverse mass of two visibles and the missing momentum, per event,
// from dataset columns (Lester-Nachman bisection, src/physics/mt2.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/mt2.hpp"

namespace unbox::cli {

namespace {

struct Mt2Args {
  std::string data, out, keep, name = "mt2";
  std::string l1 = "l1", l2 = "l2", met = "met", met_phi = "met_phi";
  double mchi = 0;
  double mchi_a = NAN, mchi_b = NAN;  // NaN: use --mchi
  bool json = false;
  int threads = 0;
  DataTransforms transforms;
};

const Tensor& column(const Dataset& d, const std::string& name, const std::string& option) {
  if (!d.has(name)) {
    std::string have;
    for (const auto& n : d.names()) have += (have.empty() ? "" : ", ") + n;
    throw Error(fmt::format("no column '{}' in {} (set its name with {}); it has: {}", name, d.source, option, have));
  }
  const Tensor& t = d.get(name);
  if (t.shape().size() != 1) throw Error(fmt::format("column '{}' in {} is not 1-D", name, d.source));
  return t;
}

int run_mt2(Mt2Args& a) {
  if (a.threads > 0) set_thread_count(a.threads);
  physics::Mt2Options o;
  o.mchi_a = std::isnan(a.mchi_a) ? a.mchi : a.mchi_a;
  o.mchi_b = std::isnan(a.mchi_b) ? a.mchi : a.mchi_b;
  if (!(o.mchi_a >= 0) || !(o.mchi_b >= 0))
    throw Error(fmt::format("invisible masses must be >= 0 GeV (--mchi {}, --mchi-a {}, --mchi-b {})", a.mchi, o.mchi_a,
                            o.mchi_b));
  Dataset data = load_data({a.data, "", "", false}, a.transforms);
  if (data.source.empty()) data.source = a.data;
  const Tensor& apt = column(data, a.l1 + "_pt", "--l1");
  const Tensor& aphi = column(data, a.l1 + "_phi", "--l1");
  const Tensor& am = column(data, a.l1 + "_m", "--l1");
  const Tensor& bpt = column(data, a.l2 + "_pt", "--l2");
  const Tensor& bphi = column(data, a.l2 + "_phi", "--l2");
  const Tensor& bm = column(data, a.l2 + "_m", "--l2");
  const Tensor& met = column(data, a.met, "--met");
  const Tensor& mphi = column(data, a.met_phi, "--met-phi");
  const Index n = data.events();
  for (Index i = 0; i < n; ++i) {
    if (am[i] < 0 || bm[i] < 0)
      throw Error(fmt::format("{}: event {}: negative mass ({} = {}, {} = {})", data.source, i + 1, a.l1 + "_m", am[i],
                              a.l2 + "_m", bm[i]));
    if (apt[i] < 0 || bpt[i] < 0 || met[i] < 0)  // a transverse momentum is a length: never negative
      throw Error(fmt::format("{}: event {}: negative transverse momentum ({} = {}, {} = {}, {} = {})", data.source,
                              i + 1, a.l1 + "_pt", apt[i], a.l2 + "_pt", bpt[i], a.met, met[i]));
  }
  Tensor mt2({n});
  physics::mt2_batch(static_cast<std::size_t>(n), apt.data(), aphi.data(), am.data(), bpt.data(), bphi.data(),
                     bm.data(), met.data(), mphi.data(), mt2.data(), o);
  Dataset out;
  out.source = a.out;
  if (a.keep.empty()) {
    for (const auto& k : data.names())
      if (k != a.name) out.add(k, data.get(k));
  } else {
    for (const auto& k : split_list(a.keep)) out.add(k, data.get(k));
  }
  std::vector<double> v = mt2.values();
  out.add(a.name, std::move(mt2));
  write_dataset(out, a.out);
  std::sort(v.begin(), v.end());
  const double lo = v.empty() ? NAN : v.front(), hi = v.empty() ? NAN : v.back();
  const double med = v.empty() ? NAN : v[v.size() / 2];
  if (a.json) {
    nlohmann::json j = {{"out", a.out},       {"events", n}, {"column", a.name}, {"mchi_a", o.mchi_a},
                        {"mchi_b", o.mchi_b}, {"min", lo},   {"median", med},    {"max", hi}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("wrote %s: %lld events, column '%s' (mchi %g, %g GeV): min %.6g, median %.6g, max %.6g GeV\n",
                a.out.c_str(), static_cast<long long>(n), a.name.c_str(), o.mchi_a, o.mchi_b, lo, med, hi);
  }
  return 0;
}

}  // namespace

void register_physics_mt2(CLI::App& physics) {
  auto a = std::make_shared<Mt2Args>();
  auto* c = add_command(physics, "mt2",
                        "Stransverse mass mT2 per event from two visibles (pt, phi, m) and the missing momentum "
                        "(Lester-Nachman bisection, relative precision 1e-10)",
                        "unbox physics mt2 --data events.csv --out with_mt2.csv --mchi 0\n"
                        "  unbox physics mt2 --data ev.h5 --out mt2.h5 --l1 b1 --l2 b2 --mchi-a 0 --mchi-b 80 "
                        "--keep label",
                        [a] { return run_mt2(*a); });
  c->add_option("--data,-d", a->data,
                "Events (csv, npy, npz, h5) with columns L1_pt, L1_phi, L1_m, L2_pt, "
                "L2_phi, L2_m, MET, MET_PHI (eta is not needed)")
      ->required();
  add_data_transforms(c, a->transforms);
  c->add_option("--out,-o", a->out, "Output file; extension picks the format")->required();
  c->add_option("--mchi", a->mchi, "Invisible mass hypothesis on both sides (GeV)")->capture_default_str();
  c->add_option("--mchi-a", a->mchi_a, "Invisible mass on the first side (default: --mchi)");
  c->add_option("--mchi-b", a->mchi_b, "Invisible mass on the second side (default: --mchi)");
  c->add_option("--l1", a->l1, "Column prefix of the first visible (PREFIX_pt, PREFIX_phi, PREFIX_m)")
      ->capture_default_str();
  c->add_option("--l2", a->l2, "Column prefix of the second visible")->capture_default_str();
  c->add_option("--met", a->met, "Missing transverse momentum column (GeV)")->capture_default_str();
  c->add_option("--met-phi", a->met_phi, "Missing momentum azimuth column (radians)")->capture_default_str();
  c->add_option("--name", a->name, "Name of the output column")->capture_default_str();
  c->add_option("--keep", a->keep, "Data columns to copy to the output (default: all of them, then the mT2 column)");
  c->add_option("--threads", a->threads, "OpenMP threads (default: all)");
  c->add_flag("--json", a->json, "Print a JSON summary instead of the one-line summary");
}

}  // namespace unbox::cli
