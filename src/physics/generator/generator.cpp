// The built-in generator's driver: hard-process sampling over (shat, y, angles) with GRV94 LO
// densities, unweighting against a deterministically found maximum, decays with spin
// correlations, ISR, the generator-level cuts, truth quantities, fragmentation, normalization.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "dirac.hpp"
#include "electroweak.hpp"
#include "generator_impl.hpp"
#include "generator_internal.hpp"
#include "matrix_elements.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/kinematics.hpp"
#include "unbox/physics/mt2.hpp"
#include "unbox/physics/pdf.hpp"

namespace unbox::physics {

using namespace gen;

double SmParameters::top_width() {
  const double x = m_w * m_w / (m_top * m_top);
  return g_fermi * m_top * m_top * m_top / (8 * M_PI * std::sqrt(2.0)) * (1 - x) * (1 - x) * (1 + 2 * x);
}

void parse_gen_process(const std::string& spec, GeneratorOptions& o) {
  if (spec == "ttbar") {
    o.process = GenProcess::TTbar;
  } else if (spec == "tw") {
    o.process = GenProcess::TW;
  } else if (spec == "ww") {
    o.process = GenProcess::WW;
  } else if (spec.rfind("stop:", 0) == 0) {
    const std::string rest = spec.substr(5);
    const auto comma = rest.find(',');
    try {
      if (comma == std::string::npos) throw std::invalid_argument("");
      size_t k1 = 0, k2 = 0;
      o.stop_mass = std::stod(rest.substr(0, comma), &k1);
      o.lsp_mass = std::stod(rest.substr(comma + 1), &k2);
      if (k1 != comma || k2 != rest.size() - comma - 1) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw Error(fmt::format("bad process '{}': expected stop:M_STOP,M_LSP in GeV, e.g. stop:750,1", spec));
    }
    o.process = GenProcess::Stop;
  } else {
    throw Error(fmt::format("unknown process '{}': expected ttbar, tw, ww or stop:M_STOP,M_LSP", spec));
  }
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

namespace {

// Record -> GenEvent (final state, flavour tags, partons).
void fill_gen_event(const Record& rec, bool parton_level, GenEvent& ev) {
  ev.final_state.clear();
  ev.b_tags.clear();
  ev.c_tags.clear();
  ev.partons.clear();
  ev.parton_level = parton_level;
  for (const Part& q : rec.parts) {
    GenParticle g;
    g.px = q.p.x, g.py = q.p.y, g.pz = q.p.z, g.e = q.p.e, g.m = q.m, g.pdg_id = q.id, g.status = q.status;
    if (q.status == 4) continue;
    if (q.status == 1) ev.final_state.push_back(g);
    if (is_flavour_parton(g)) ev.partons.push_back(g);
    if (parton_level) {
      if (std::abs(q.id) == 5 && q.status == 1) ev.b_tags.push_back(g);
    } else if (is_b_hadron(q.id)) {
      ev.b_tags.push_back(g);  // our B hadrons decay to D mesons: each is the last of its chain
    } else if (is_c_hadron(q.id)) {
      ev.c_tags.push_back(g);
    }
  }
}

double cos_between(const P4& a, const P4& b) { return dot3(a, b) / (a.p() * b.p()); }

}  // namespace

void Generator::Impl::truth_for_tops(const P4& t, const P4& tb, const P4* lp, const P4* lm, const P4* bt, const P4* bb,
                                     const P4* wp, const P4* wm, GenTruth& tr) const {
  const P4 sys = t + tb;
  const P4 tz = boost_to_rest(t, sys), tbz = boost_to_rest(tb, sys);
  if (lp && lm) {
    const P4 l1 = boost_to_rest(boost_to_rest(*lp, sys), tz);
    const P4 l2 = boost_to_rest(boost_to_rest(*lm, sys), tbz);
    tr.hel_cos1 = cos_between(l1, tz);
    tr.hel_cos2 = cos_between(l2, tbz);  // on -k: the antitop's own direction
  }
  auto wcos = [&](const P4& top, const P4& w, const P4& l) {
    const P4 wt = boost_to_rest(w, top), lt = boost_to_rest(l, top);
    return cos_between(boost_to_rest(lt, wt), wt);
  };
  if (lp && wp) tr.w_cos_star1 = wcos(t, *wp, *lp);
  if (lm && wm) tr.w_cos_star2 = wcos(tb, *wm, *lm);
  if (lp && bt) tr.mbl1 = (*lp + *bt).m();
  if (lm && bb) tr.mbl2 = (*lm + *bb).m();
}

bool Generator::Impl::generate(std::int64_t index, GeneratedEvent& out, bool do_fragment) const {
  Rng rng(o.seed, static_cast<std::uint64_t>(index), 0);
  Point p;
  double w;
  for (;;) {
    w = sample(rng, p);
    if (!(w > 0)) {
      if (o.weighted) return false;
      continue;
    }
    if (o.weighted) break;
    if (rng.uniform() * wmax < w) break;
  }
  double weight = o.weighted ? w * k_factor * sigma_best_fb() : sigma_best_fb();
  GenTruth& tr = out.truth;
  tr = GenTruth{};
  tr.mt2ll = tr.mbl1 = tr.mbl2 = tr.w_cos_star1 = tr.w_cos_star2 = tr.hel_cos1 = tr.hel_cos2 = kNaN;
  tr.ckk = tr.m_blnu1 = tr.m_blnu2 = tr.m_chi_side1 = tr.m_chi_side2 = tr.m_top_chi1 = kNaN;
  tr.process = static_cast<int>(o.process);
  tr.gg = p.gg ? 1 : 0;

  thread_local Record rec;  // reused: no allocation per event once grown
  rec.parts.clear();
  rec.add(P4(), 0, p.id1, 4, -1);
  rec.add(P4(), 0, p.id2, 4, -1);
  // Everything is built in the pair's rest frame (partons along +-z), then boosted.
  P4 lep_p, lep_m, nu_p, nu_m;  // W leptons of side 1 (l+) and 2 (l-) and their W neutrinos
  int il_p = -1, il_m = -1;
  const double rs = std::sqrt(p.shat);
  double dx, dy, dz;
  unit_vector(p.c, p.phi, dx, dy, dz);
  switch (o.process) {
    case GenProcess::TTbar: {
      // Top masses over the whole physical range (fixed-width Breit-Wigner, as the W's):
      // above m_b + the lowest W* mass, the pair below sqrt(shat).
      double m1, m2;
      const double lo = kMb + kWMassLow + 1.0, hi = rs - lo;
      do {
        m1 = breit_wigner(rng, kMt, gt, lo, hi);
        m2 = breit_wigner(rng, kMt, gt, lo, hi);
      } while (m1 + m2 >= rs);
      const double pst = two_body_p(rs, m1, m2);
      const P4 t(std::sqrt(pst * pst + m1 * m1), pst * dx, pst * dy, pst * dz);
      const P4 tb(std::sqrt(pst * pst + m2 * m2), -pst * dx, -pst * dy, -pst * dz);
      Eigen::Matrix3d C = Eigen::Matrix3d::Zero();
      const double beta = std::sqrt(1 - 4 * kMt * kMt / p.shat);
      tr.ckk = p.gg ? ckk_gg(beta, p.c) : ckk_qq(beta, p.c);
      double bound = 1;
      if (o.spin_correlation) {
        C = ttbar_spin_matrix(p.gg, beta, p.c, p.phi);  // = the traces' (tested)
        bound = 1 + std::min(1.0, C.norm());
      }
      TopDecay d1, d2;
      // The accept-reject on the spin correlation looks at the lepton directions only, whose
      // marginal is isotropic at every W* mass: the W-mass weights of the kept pair stay exact.
      for (;;) {
        decay_top(rng, t, m1, false, o.taus, d1, o.w_tail_fraction);
        decay_top(rng, tb, m2, true, o.taus, d2, o.w_tail_fraction);
        if (!o.spin_correlation) break;
        const P4 a = boost_to_rest(d1.l, t), b = boost_to_rest(d2.l, tb);
        const Eigen::Vector3d av(a.x, a.y, a.z), bv(b.x, b.y, b.z);
        const double R = 1 + av.normalized().dot(C * bv.normalized());
        if (rng.uniform() * bound < R) break;
      }
      const int it = rec.add(t, m1, kTop, 2, -2), itb = rec.add(tb, m2, -kTop, 2, -2);
      rec.add(d1.b, kMb, kBottom, 1, it);
      const int iw1 = rec.add(d1.w, d1.w.m(), kW, 2, it);
      rec.add(d2.b, kMb, -kBottom, 1, itb);
      const int iw2 = rec.add(d2.w, d2.w.m(), -kW, 2, itb);
      il_p = add_w_leptons(rng, rec, iw1, d1.l, d1.nu, d1.lepton, d1.neutrino);
      il_m = add_w_leptons(rng, rec, iw2, d2.l, d2.nu, d2.lepton, d2.neutrino);
      lep_p = d1.l, lep_m = d2.l, nu_p = d1.nu, nu_m = d2.nu;
      tr.m_blnu1 = m1, tr.m_blnu2 = m2;
      weight *= d1.weight * d2.weight;
      break;
    }
    case GenProcess::Stop: {
      const double pst = two_body_p(rs, o.stop_mass, o.stop_mass);
      const double es = std::sqrt(pst * pst + o.stop_mass * o.stop_mass);
      const P4 s1(es, pst * dx, pst * dy, pst * dz), s2(es, -pst * dx, -pst * dy, -pst * dz);
      StopSide a, b;
      decay_stop(rng, s1, false, a);
      decay_stop(rng, s2, true, b);
      const int is1 = rec.add(s1, o.stop_mass, kStop, 2, -2), is2 = rec.add(s2, o.stop_mass, -kStop, 2, -2);
      const int it1 = rec.add(a.top, a.top.m(), kTop, 2, is1), it2 = rec.add(b.top, b.top.m(), -kTop, 2, is2);
      rec.add(a.chi, o.lsp_mass, kLsp, 1, is1);
      rec.add(b.chi, o.lsp_mass, kLsp, 1, is2);
      rec.add(a.b, kMb, kBottom, 1, it1);
      const int iw1 = rec.add(a.w, a.w.m(), kW, 2, it1);
      rec.add(b.b, kMb, -kBottom, 1, it2);
      const int iw2 = rec.add(b.w, b.w.m(), -kW, 2, it2);
      il_p = add_w_leptons(rng, rec, iw1, a.l, a.nu, a.lepton, a.neutrino);
      il_m = add_w_leptons(rng, rec, iw2, b.l, b.nu, b.lepton, b.neutrino);
      lep_p = a.l, lep_m = b.l, nu_p = a.nu, nu_m = b.nu;
      tr.m_blnu1 = (a.b + a.w).m(), tr.m_blnu2 = (b.b + b.w).m();
      tr.m_chi_side1 = (a.b + a.w + a.chi).m(), tr.m_chi_side2 = (b.b + b.w + b.chi).m();
      if (two_body) tr.m_top_chi1 = (a.top + a.chi).m();
      break;
    }
    case GenProcess::TW: {
      // p.k: t, W-, l-, nubar in the pair frame; top spin correlation by accept-reject.
      const P4 t = p.k[0];
      TopDecay d;
      const double bound = 1 + std::min(1.0, p.pol.norm());
      for (;;) {
        decay_top(rng, t, kMt, false, o.taus, d, o.w_tail_fraction);
        const P4 a = boost_to_rest(d.l, t);
        const Eigen::Vector3d av(a.x, a.y, a.z);
        if (rng.uniform() * bound < 1 + p.pol.dot(av.normalized())) break;
      }
      int lw, nw;
      pick_w_leptons(rng, false, o.taus, lw, nw);
      const int it = rec.add(t, kMt, kTop, 2, -2);
      const int iw = rec.add(p.k[1], p.m4, -kW, 2, -2);
      rec.add(d.b, kMb, kBottom, 1, it);
      const int iwt = rec.add(d.w, d.w.m(), kW, 2, it);
      il_p = add_w_leptons(rng, rec, iwt, d.l, d.nu, d.lepton, d.neutrino);
      il_m = add_w_leptons(rng, rec, iw, p.k[2], p.k[3], lw, nw);
      lep_p = d.l, lep_m = p.k[2], nu_p = d.nu, nu_m = p.k[3];
      tr.m_blnu1 = kMt;
      weight *= d.weight;
      break;
    }
    case GenProcess::WW: {
      // p.k: l-(k1) nubar(k2) from W-, nu(k3) l+(k4) from W+.
      const int iwm = rec.add(p.k[0] + p.k[1], p.m3, -kW, 2, -2);
      const int iwp = rec.add(p.k[2] + p.k[3], p.m4, kW, 2, -2);
      int lp, np, lm, nm;
      pick_w_leptons(rng, true, o.taus, lp, np);
      pick_w_leptons(rng, false, o.taus, lm, nm);
      il_p = add_w_leptons(rng, rec, iwp, p.k[3], p.k[2], lp, np);
      il_m = add_w_leptons(rng, rec, iwm, p.k[0], p.k[1], lm, nm);
      lep_p = p.k[3], lep_m = p.k[0], nu_p = p.k[2], nu_m = p.k[1];
      break;
    }
  }
  // tW: the CP mirror (bbar g -> tbar W+) for half of the streams.
  const bool mirror = o.process == GenProcess::TW && rng.uniform() < 0.5;
  if (mirror) {
    for (Part& q : rec.parts) {
      q.p = P4(q.p.e, -q.p.x, -q.p.y, -q.p.z);
      if (q.id != 21 && q.id != 111 && q.id != 22) q.id = -q.id;
    }
    auto flip = [](P4& v) { v = P4(v.e, -v.x, -v.y, -v.z); };
    flip(lep_p), flip(lep_m), flip(nu_p), flip(nu_m);
    std::swap(lep_p, lep_m);
    std::swap(nu_p, nu_m);
    std::swap(il_p, il_m);
  }

  // Truth in the pair frame (before the boost: all truth quantities are invariant or frame-internal).
  {
    const P4* lp = &lep_p;
    const P4* lm = &lep_m;
    // Use the final e/mu (after tau decays) for the leptons.
    const P4 flp = rec.parts[static_cast<size_t>(il_p)].p, flm = rec.parts[static_cast<size_t>(il_m)].p;
    lp = &flp, lm = &flm;
    int it = -1, itb = -1, ib = -1, ibb = -1, iw = -1, iwb = -1;
    for (size_t i = 0; i < rec.parts.size(); ++i) {
      const Part& q = rec.parts[i];
      const int m = q.mother;
      const bool from_top = m >= 0 && std::abs(rec.parts[static_cast<size_t>(m)].id) == kTop;
      if (q.id == kTop) it = static_cast<int>(i);
      if (q.id == -kTop) itb = static_cast<int>(i);
      if (q.id == kBottom && from_top) ib = static_cast<int>(i);
      if (q.id == -kBottom && from_top) ibb = static_cast<int>(i);
      if (q.id == kW && from_top) iw = static_cast<int>(i);
      if (q.id == -kW && from_top) iwb = static_cast<int>(i);
    }
    auto P = [&](int i) { return rec.parts[static_cast<size_t>(i)].p; };
    // The leptons from the top's W (l+) and the antitop's W (l-) in the pair frame.
    if (it >= 0 && itb >= 0) {
      const P4 bt = P(ib), bb = P(ibb), wp = P(iw), wm = P(iwb);
      truth_for_tops(P(it), P(itb), lp, lm, &bt, &bb, &wp, &wm, tr);
      // w_cos_star uses the W-decay lepton before a tau decay
      tr.w_cos_star1 = kNaN, tr.w_cos_star2 = kNaN;
      GenTruth t2 = tr;
      truth_for_tops(P(it), P(itb), &lep_p, &lep_m, &bt, &bb, &wp, &wm, t2);
      tr.w_cos_star1 = t2.w_cos_star1, tr.w_cos_star2 = t2.w_cos_star2;
    } else if (it >= 0 || itb >= 0) {  // tW
      const bool top = it >= 0;
      const int ti = top ? it : itb;
      const P4 b = P(top ? ib : ibb), w = P(top ? iw : iwb);
      const P4& l = top ? *lp : *lm;
      const P4& l0 = top ? lep_p : lep_m;
      const P4 wt = boost_to_rest(w, P(ti)), lt = boost_to_rest(l0, P(ti));
      const double wc = cos_between(boost_to_rest(lt, wt), wt);
      (top ? tr.mbl1 : tr.mbl2) = (l + b).m();
      (top ? tr.w_cos_star1 : tr.w_cos_star2) = wc;
    }
    if (do_fragment || o.bias_mt2_scale > 0) {  // the counting pass needs it for the bias only
      Mt2Options mo;
      const P4 miss = nu_p + nu_m;
      tr.mt2ll = mt2(0.0, lp->x, lp->y, 0.0, lm->x, lm->y, miss.x, miss.y, mo);
    }
  }

  // ISR and the boost to the lab.
  P4 sys(rs, 0, 0, 0);
  double pt = 0, phi_isr = 0, yg = 0;
  const double ysys = 0.5 * std::log(p.x1 / p.x2);
  bool emitted = false;
  if (o.isr) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      pt = isr_pt(rng, rs, p.gg || o.process == GenProcess::TW, std::min(rs, 0.5 * o.sqrt_s));
      phi_isr = rng.uniform(0, 2 * M_PI);
      yg = ysys + 1.5 * rng.normal();
      const double mt_sys = std::sqrt(rs * rs + pt * pt);
      const double e_tot = mt_sys * std::cosh(ysys) + pt * std::cosh(yg);
      const double pz_tot = mt_sys * std::sinh(ysys) + pt * std::sinh(yg);
      if (e_tot + pz_tot < o.sqrt_s && e_tot - pz_tot < o.sqrt_s) {
        emitted = pt > 1.0;
        break;
      }
      pt = 0;
    }
  }
  if (!emitted) pt = 0;
  const double mts = std::sqrt(rs * rs + pt * pt);
  sys = P4(mts * std::cosh(ysys), pt * std::cos(phi_isr), pt * std::sin(phi_isr), mts * std::sinh(ysys));
  for (size_t i = 2; i < rec.parts.size(); ++i) rec.parts[i].p = boost_from_rest(rec.parts[i].p, sys);
  lep_p = boost_from_rest(lep_p, sys), lep_m = boost_from_rest(lep_m, sys);
  nu_p = boost_from_rest(nu_p, sys), nu_m = boost_from_rest(nu_m, sys);
  P4 total = sys;
  if (emitted) {
    const P4 g(pt * std::cosh(yg), -pt * std::cos(phi_isr), -pt * std::sin(phi_isr), pt * std::sinh(yg));
    rec.add(g, 0.0, kGluon, 1, -2);
    total += g;
  }
  rec.parts[0].p = P4(0.5 * (total.e + total.z), 0, 0, 0.5 * (total.e + total.z));
  rec.parts[1].p = P4(0.5 * (total.e - total.z), 0, 0, -0.5 * (total.e - total.z));
  tr.pt_system = pt;
  tr.m_system = rs;

  // Parton-level missing momentum and the generator cuts.
  double mx = 0, my = 0;
  int n15 = 0, n20 = 0;
  bool b20 = false;
  for (const Part& q : rec.parts) {
    if (q.status != 1) continue;
    const int a = std::abs(q.id);
    if (a == 12 || a == 14 || a == 16 || a == kLsp) mx += q.p.x, my += q.p.y;
    if (a == kE || a == kMu) {
      n15 += q.p.pt() > 15;
      n20 += q.p.pt() > 20;
    }
    if (a == kBottom && q.p.pt() > 20) b20 = true;
  }
  tr.met_parton = std::hypot(mx, my);
  if (o.cuts) {
    if (n15 < 2 || n20 >= 3) return false;
    if (o.process != GenProcess::WW && !b20) return false;
    if (tr.met_parton <= 50) return false;
  }
  if (o.bias_scale > 0 || o.bias_mt2_scale > 0) {
    double pk = o.bias_floor;
    if (o.bias_scale > 0) pk = std::max(pk, std::pow(tr.met_parton / o.bias_scale, o.bias_power));
    if (o.bias_mt2_scale > 0 && tr.mt2ll > 0)
      pk = std::max(pk, std::pow(tr.mt2ll / o.bias_mt2_scale, o.bias_mt2_power));
    pk = std::min(1.0, pk);
    if (rng.uniform() >= pk) return false;
    weight /= pk;
  }
  out.index = index;
  out.weight = weight;
  if (!do_fragment) return true;
  if (o.hadronize) {
    Rng frng(o.seed, static_cast<std::uint64_t>(index), 1);
    fragment(frng, rec);
  }
  out.record.clear();
  out.record.reserve(rec.parts.size());
  for (const Part& q : rec.parts) out.record.push_back({q.p.x, q.p.y, q.p.z, q.p.e, q.m, q.id, q.status, q.mother});
  out.event.number = index;
  out.event.weight = weight;
  fill_gen_event(rec, !o.hadronize, out.event);
  return true;
}

}  // namespace unbox::physics
