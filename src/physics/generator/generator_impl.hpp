// The generator's implementation state (internal): hard-process sampling and stop decays.
#pragma once

#include <Eigen/Core>
#include <array>
#include <cmath>

#include "electroweak.hpp"
#include "generator_internal.hpp"
#include "matrix_elements.hpp"
#include "unbox/physics/generator.hpp"
#include "unbox/physics/pdf.hpp"

namespace unbox::physics {

namespace gen {
constexpr double kMt = SmParameters::m_top, kMw = SmParameters::m_w, kGw = SmParameters::w_width,
                 kMb = SmParameters::m_b;
}  // namespace gen

// Internal header: only the generator's own sources include it.
using namespace gen;

struct Generator::Impl {
  GeneratorOptions o;
  Grv94Lo pdf;
  double alpha_s, mu, mheavy, s_had, gt;
  EwParameters ew;
  bool two_body = true;  // stops
  double stop3_max = 0;
  double wmax = 0;
  double sigma_mc = 0;
  double k_factor = 1, branching = 1;
  double mean_w = 0;      // mean point weight (pb): sigma_lo, times BR(W -> e nu)^n for tW, WW
  double sigma_best = 0;  // pb
  double sigma_best_fb() const { return sigma_best * branching * 1000.0; }

  explicit Impl(const GeneratorOptions& opt)
      : o(opt),
        pdf(1.0),
        alpha_s(0),
        mu(0),
        mheavy(kMt),
        s_had(opt.sqrt_s * opt.sqrt_s),
        gt(SmParameters::top_width()),
        ew() {
    switch (o.process) {
      case GenProcess::TTbar:
        mu = kMt;
        break;
      case GenProcess::TW:
        mu = kMt;
        break;
      case GenProcess::WW:
        mu = kMw;
        break;
      case GenProcess::Stop:
        mu = o.stop_mass;
        mheavy = o.stop_mass;
        break;
    }
    if (o.scale > 0) mu = o.scale;
    pdf = Grv94Lo(mu * mu);
    alpha_s = alpha_s_grv94(mu);
    ew = ew_parameters(alpha_s);
  }

  // ---- hard process -------------------------------------------------------------------
  struct Point {
    double shat = 0, y = 0, c = 0, phi = 0, x1 = 0, x2 = 0, w = 0;
    double m3 = 0, m4 = 0;  // masses of the two produced particles (tW, WW: sampled W masses)
    int id1 = 0, id2 = 0;
    bool gg = false;
    double me_extra[4] = {0, 0, 0, 0};
    P4 k[4];  // tW / WW: decay momenta in the pair frame
    Eigen::Vector3d pol = Eigen::Vector3d::Zero();
  };

  double threshold() const {
    switch (o.process) {
      case GenProcess::TTbar:
        return 2 * kMt;
      case GenProcess::Stop:
        return 2 * o.stop_mass;
      case GenProcess::TW:
        return kMt + kMw - 15 * kGw;
      case GenProcess::WW:
        return 2 * (kMw - 15 * kGw);
    }
    return 0;
  }

  // Samples one point; returns its weight in pb (0 outside), filled into p.w as well.
  double sample(Rng& rng, Point& p) const {
    const double smin = threshold() * threshold();
    // shat ~ smin (1 - v)^(-1/n); n chosen for the best unweighting efficiency of each process
    // (t tbar 0.23, tW 0.11, WW 0.03, stops 0.24 measured with the fixed pre-scan).
    const double n = o.process == GenProcess::WW ? 0.5 : (o.process == GenProcess::Stop ? 1.5 : 1.0);
    const double vmax = 1.0 - std::pow(smin / s_had, n);
    const double v = rng.uniform() * vmax;
    p.shat = smin * std::pow(1.0 - v, -1.0 / n);
    double jac = vmax * p.shat / (n * (1.0 - v));
    const double tau = p.shat / s_had, ymax = -0.5 * std::log(tau);
    p.y = rng.uniform(-ymax, ymax);
    jac *= 2 * ymax;
    p.x1 = std::sqrt(tau) * std::exp(p.y);
    p.x2 = std::sqrt(tau) * std::exp(-p.y);
    p.phi = rng.uniform(0, 2 * M_PI);
    p.w = 0;
    if (p.x1 >= 1 || p.x2 >= 1) return 0;
    std::array<double, 13> f1, f2;
    pdf.xf_all(p.x1, f1);
    pdf.xf_all(p.x2, f2);
    if (o.process == GenProcess::TTbar || o.process == GenProcess::Stop) {
      const double m = mheavy, b = std::sqrt(std::max(0.0, 1 - 4 * m * m / p.shat));
      const double za = std::atanh(std::min(b, 1 - 1e-15));
      p.c = std::tanh(rng.uniform(-za, za)) / b;
      const double jc = (1 - b * b * p.c * p.c) / b * 2 * za;
      const bool top = o.process == GenProcess::TTbar;
      const double dgg =
          dsigma_dc(top ? me2_gg_ttbar(p.shat, m, alpha_s, p.c) : me2_gg_stops(p.shat, m, alpha_s, p.c), p.shat, m);
      const double dqq =
          dsigma_dc(top ? me2_qq_ttbar(p.shat, m, alpha_s, p.c) : me2_qq_stops(p.shat, m, alpha_s, p.c), p.shat, m);
      const double wgg = f1[pdf_slot(0)] * f2[pdf_slot(0)] * dgg;
      double lq[10], wqq = 0;
      for (int q = 1; q <= 5; ++q) {
        lq[2 * q - 2] = f1[pdf_slot(q)] * f2[pdf_slot(-q)] * dqq;
        lq[2 * q - 1] = f1[pdf_slot(-q)] * f2[pdf_slot(q)] * dqq;
        wqq += lq[2 * q - 2] + lq[2 * q - 1];
      }
      p.w = (wgg + wqq) * jac / p.shat * kGeV2toPb * jc;
      if (!(p.w > 0)) return p.w = 0;
      double u = rng.uniform() * (wgg + wqq);
      if (u < wgg) {
        p.gg = true, p.id1 = p.id2 = 21;
      } else {
        p.gg = false;
        u -= wgg;
        int k = 0;
        while (k < 9 && u >= lq[k]) u -= lq[k++];
        const int q = k / 2 + 1;
        p.id1 = (k % 2 == 0) ? q : -q;
        p.id2 = -p.id1;
      }
      p.m3 = p.m4 = m;
      return p.w;
    }
    // tW and WW: angles uniform; W masses from their Breit-Wigner; W decays isotropic in
    // their frames; the full |M|^2 with the lepton currents as the weight.
    const double rs = std::sqrt(p.shat);
    // cos Theta from a mixture of (1 - b c)^-2, (1 + b c)^-2 (40 % each) and a flat part,
    // b the velocity of on-shell products: it follows the t- and u-channel peaks.
    {
      const double m3 = o.process == GenProcess::TW ? kMt : kMw, m4 = kMw;
      const double bb = std::clamp(2 * two_body_p(rs, m3, m4) / rs, 0.05, 1 - 1e-9);
      const double u = rng.uniform(), lo = 1 / (1 + bb), hi = 1 / (1 - bb);
      if (u < 0.8) {
        const double w = lo + (hi - lo) * rng.uniform();
        p.c = (1 - 1 / w) / bb;
        if (u < 0.4) p.c = -p.c;
      } else {
        p.c = rng.uniform(-1, 1);
      }
      auto peak = [&](double c) { return (1 - bb * bb) / (2 * (1 - bb * c) * (1 - bb * c)); };
      const double g = 0.4 * peak(p.c) + 0.4 * peak(-p.c) + 0.2 * 0.5;
      jac *= 0.5 / g;  // relative to uniform c (density 1/2)
    }
    // W masses from m_W - 15 Gamma_W (the shat threshold) up to the kinematic limit: the
    // fixed-width Breit-Wigner's high tail feeds mT2ll above m_W.
    const double wlo = kMw - 15 * kGw;
    auto bw_norm = [&](double hi) {  // integral of |prop|^2 dm^2 over [wlo, hi]
      return (std::atan((hi * hi - kMw * kMw) / (kMw * kGw)) - std::atan((wlo * wlo - kMw * kMw) / (kMw * kGw))) /
             (kMw * kGw);
    };
    auto iso_decay = [&](const P4& w, P4& a, P4& bb) {
      double x, y, z;
      unit_vector(rng.uniform(-1, 1), rng.uniform(0, 2 * M_PI), x, y, z);
      const double e = 0.5 * w.m();
      a = boost_from_rest(P4(e, e * x, e * y, e * z), w);
      bb = boost_from_rest(P4(e, -e * x, -e * y, -e * z), w);
    };
    double dx, dy, dz;
    unit_vector(p.c, p.phi, dx, dy, dz);
    const double E = 0.5 * rs;
    const P4 pa(E, 0, 0, E), pb(E, 0, 0, -E);
    if (o.process == GenProcess::TW) {
      const double whi = rs - kMt - 1e-6;
      if (whi <= wlo) return 0;
      const double mw = breit_wigner(rng, kMw, kGw, wlo, whi);
      if (mw + kMt >= rs) return 0;
      const double pst = two_body_p(rs, kMt, mw);
      const P4 t(std::sqrt(pst * pst + kMt * kMt), pst * dx, pst * dy, pst * dz);
      const P4 w(std::sqrt(pst * pst + mw * mw), -pst * dx, -pst * dy, -pst * dz);
      P4 l, nb;
      iso_decay(w, l, nb);
      // b from +z (x1) and g from -z, or the reverse
      const double lbg = f1[pdf_slot(5)] * f2[pdf_slot(0)], lgb = f1[pdf_slot(0)] * f2[pdf_slot(5)];
      Eigen::Vector3d P1, P2;
      const double m1 = me2_gb_tw(ew, pb, pa, t, kMt, l, nb, P1);  // b along +z
      const double m2 = me2_gb_tw(ew, pa, pb, t, kMt, l, nb, P2);  // b along -z
      const double wbg = lbg * m1, wgb = lgb * m2;
      // 2-body phase space p*/(4 pi rs) * dOmega/(4 pi) (uniform: 1), 1/(2 shat) flux, W line
      // shape integral / (2 pi), W -> l nu phase space 1/(8 pi); x 4 pi for the decay solid
      // angle average... both angles sampled uniformly, so the measure is 1 each.
      const double ps = pst / (4 * M_PI * rs) / (2 * p.shat) * bw_norm(whi) / (2 * M_PI) / (8 * M_PI);
      p.w = (wbg + wgb) * ps * jac / p.shat * kGeV2toPb;
      if (!(p.w > 0)) return p.w = 0;
      const bool bfirst = rng.uniform() * (wbg + wgb) < wbg;
      p.id1 = bfirst ? 5 : 21;
      p.id2 = bfirst ? 21 : 5;
      p.pol = bfirst ? P1 : P2;
      p.gg = false;
      p.m3 = kMt, p.m4 = mw;
      p.k[0] = t, p.k[1] = w, p.k[2] = l, p.k[3] = nb;
      return p.w;
    }
    // WW
    // m1 over [wlo, rs - wlo], then m2 over [wlo, rs - m1]: the weight carries both windows'
    // Breit-Wigner integrals.
    const double whi1 = rs - wlo - 1e-6;
    if (whi1 <= wlo) return 0;
    const double m1 = breit_wigner(rng, kMw, kGw, wlo, whi1);
    const double whi2 = rs - m1 - 1e-6;
    if (whi2 <= wlo) return 0;
    const double m2 = breit_wigner(rng, kMw, kGw, wlo, whi2);
    if (m1 + m2 >= rs) return 0;
    const double pst = two_body_p(rs, m1, m2);
    const P4 wm(std::sqrt(pst * pst + m1 * m1), pst * dx, pst * dy, pst * dz);
    const P4 wp(std::sqrt(pst * pst + m2 * m2), -pst * dx, -pst * dy, -pst * dz);
    P4 k1, k2, k3, k4;
    iso_decay(wm, k1, k2);
    iso_decay(wp, k3, k4);
    // d and s (u and c) have the same couplings: four squared amplitudes serve the 8 channels.
    double me[4];
    me2_qq_ww_all(ew, pa, pb, k1, k2, k3, k4, me);
    double lq[8], wsum = 0;
    for (int q = 1; q <= 4; ++q) {
      const bool up = (q == 2 || q == 4);
      const double mq = me[up ? 2 : 0];   // quark along +z
      const double mqb = me[up ? 3 : 1];  // quark along -z
      lq[2 * q - 2] = f1[pdf_slot(q)] * f2[pdf_slot(-q)] * mq;
      lq[2 * q - 1] = f1[pdf_slot(-q)] * f2[pdf_slot(q)] * mqb;
      wsum += lq[2 * q - 2] + lq[2 * q - 1];
    }
    const double ps = pst / (4 * M_PI * rs) / (2 * p.shat) * (bw_norm(whi1) / (2 * M_PI)) *
                      (bw_norm(whi2) / (2 * M_PI)) / (8 * M_PI) / (8 * M_PI);
    p.w = wsum * ps * jac / p.shat * kGeV2toPb;
    if (!(p.w > 0)) return p.w = 0;
    double u = rng.uniform() * wsum;
    int k = 0;
    while (k < 7 && u >= lq[k]) u -= lq[k++];
    const int q = k / 2 + 1;
    p.id1 = (k % 2 == 0) ? q : -q;
    p.id2 = -p.id1;
    p.m3 = m1, p.m4 = m2;
    p.k[0] = k1, p.k[1] = k2, p.k[2] = k3, p.k[3] = k4;
    return p.w;
  }

  // ---- stop decays ----------------------------------------------------------------------
  struct StopSide {
    P4 top, b, w, l, nu, chi;
    int lepton = 0, neutrino = 0;
  };

  double stop_coupling_a() const { return o.stop_top_polarization == StopTopPolarization::Left ? 0.0 : 1.0; }
  double stop_coupling_b() const { return o.stop_top_polarization == StopTopPolarization::Right ? 0.0 : 1.0; }

  // Three-body stop -> b W chi (W -> l nu) in the stop rest frame; weight for accept-reject.
  double stop3_point(Rng& rng, StopSide& s) const {
    const double ms = o.stop_mass, mc = o.lsp_mass;
    const double wlo = kMw - 15 * kGw, top_hi = ms - mc;
    const double tlo = kMb + wlo;
    if (top_hi <= tlo) return 0;
    const double mts = std::sqrt(tlo * tlo + rng.uniform() * (top_hi * top_hi - tlo * tlo));
    const double mw = breit_wigner(rng, kMw, kGw, wlo, std::min(kMw + 15 * kGw, mts - kMb - 1e-6));
    if (mw + kMb >= mts) return 0;
    double x, y, z;
    const double p1 = two_body_p(ms, mts, mc);
    unit_vector(rng.uniform(-1, 1), rng.uniform(0, 2 * M_PI), x, y, z);
    s.top = P4(std::sqrt(p1 * p1 + mts * mts), p1 * x, p1 * y, p1 * z);
    s.chi = P4(std::sqrt(p1 * p1 + mc * mc), -p1 * x, -p1 * y, -p1 * z);
    const double p2 = two_body_p(mts, kMb, mw);
    unit_vector(rng.uniform(-1, 1), rng.uniform(0, 2 * M_PI), x, y, z);
    s.w = boost_from_rest(P4(std::sqrt(p2 * p2 + mw * mw), p2 * x, p2 * y, p2 * z), s.top);
    s.b = boost_from_rest(P4(std::sqrt(p2 * p2 + kMb * kMb), -p2 * x, -p2 * y, -p2 * z), s.top);
    unit_vector(rng.uniform(-1, 1), rng.uniform(0, 2 * M_PI), x, y, z);
    const double e = 0.5 * mw;
    s.l = boost_from_rest(P4(e, e * x, e * y, e * z), s.w);
    s.nu = boost_from_rest(P4(e, -e * x, -e * y, -e * z), s.w);
    const double me = me2_stop_3body(s.b, s.chi, mc, s.nu, s.l, kMt, gt, stop_coupling_a(), stop_coupling_b());
    return me * p1 / ms * p2 / mts;
  }

  void decay_stop(Rng& rng, const P4& stop, bool anti, StopSide& s) const {
    const double ms = o.stop_mass, mc = o.lsp_mass;
    if (two_body) {
      const double hi = std::min(kMt + 5 * gt, ms - mc - 1e-6), lo = kMt - 5 * gt;
      const double mt = breit_wigner(rng, kMt, gt, lo, hi);
      const double p = two_body_p(ms, mt, mc);
      double x, y, z;
      unit_vector(rng.uniform(-1, 1), rng.uniform(0, 2 * M_PI), x, y, z);
      const P4 t_rest(std::sqrt(p * p + mt * mt), p * x, p * y, p * z);
      s.top = boost_from_rest(t_rest, stop);
      s.chi = boost_from_rest(P4(std::sqrt(p * p + mc * mc), -p * x, -p * y, -p * z), stop);
      const double pol = o.stop_top_polarization == StopTopPolarization::Left
                             ? -1.0
                             : (o.stop_top_polarization == StopTopPolarization::Right ? 1.0 : 0.0);
      for (;;) {
        TopDecay d;
        decay_top(rng, s.top, mt, anti, o.taus, d);
        s.b = d.b, s.w = d.w, s.l = d.l, s.nu = d.nu, s.lepton = d.lepton, s.neutrino = d.neutrino;
        if (pol == 0.0) break;
        // helicity: the lepton direction in the top frame against the top direction
        // (from the stop frame); for the antitop the analysing power flips with CP.
        const P4 lt = boost_to_rest(boost_to_rest(s.l, stop), t_rest);
        const double cth = dot3(lt, t_rest) / (lt.p() * t_rest.p());
        if (rng.uniform() * 2 < 1 + pol * cth) break;
      }
      return;
    }
    for (;;) {
      StopSide r;
      const double w = stop3_point(rng, r);
      if (rng.uniform() * stop3_max < w) {
        // Build in the stop frame, then move to the stop's momentum (CP mirror for the anti).
        auto mv = [&](const P4& v) { return boost_from_rest(anti ? P4(v.e, -v.x, -v.y, -v.z) : v, stop); };
        s.top = mv(r.top), s.chi = mv(r.chi), s.b = mv(r.b), s.w = mv(r.w), s.l = mv(r.l), s.nu = mv(r.nu);
        pick_w_leptons(rng, !anti, o.taus, s.lepton, s.neutrino);
        return;
      }
    }
  }

  // ---- one stream -----------------------------------------------------------------------
  bool generate(std::int64_t index, GeneratedEvent& out, bool do_fragment) const;
  // Which of the streams 0, 1, ... yield an event, up to the one that gives the events-th.
  std::vector<char> stream_flags(const Generator& g, std::int64_t events, bool quiet) const;
  void truth_for_tops(const P4& t, const P4& tb, const P4* lp, const P4* lm, const P4* bt, const P4* bb, const P4* wp,
                      const P4* wm, GenTruth& tr) const;
};

}  // namespace unbox::physics
