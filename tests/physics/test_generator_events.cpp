// The built-in generator's events: t tbar truth distributions against analytic LO results
// (mT2 and m(bl) endpoints, W helicity F0, the helicity spin correlation against the event
// average of C_kk(beta, Theta)), stop decay kinematics and the three-body Dalitz density, the
// ISR spectrum against the CMS shares, the importance bias (unbiased weighted distributions),
// normalization, determinism over threads and chunking, and the HepMC3 round trip.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "physics/generator/generator_impl.hpp"
#include "physics/generator/generator_internal.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/generator.hpp"
#include "unbox/physics/reader.hpp"

namespace {

using namespace unbox::physics;

GeneratorOptions truth_options(GenProcess p = GenProcess::TTbar) {
  GeneratorOptions o;
  o.process = p;
  o.cuts = false;
  o.isr = false;
  o.hadronize = false;
  return o;
}

std::vector<GenTruth> truths(const GeneratorOptions& o, std::int64_t n) {
  Generator g(o);
  std::vector<GenTruth> out;
  out.reserve(static_cast<size_t>(n));
  g.generate_range(0, n, [&](const GeneratedEvent& e) { out.push_back(e.truth); });
  return out;
}

double spin_c(const std::vector<GenTruth>& t) {
  double s = 0;
  for (const auto& x : t) s += x.hel_cos1 * x.hel_cos2;
  return -9 * s / static_cast<double>(t.size());
}

TEST(GeneratorEvents, TtbarTruth400k) {
  const auto t = truths(truth_options(), 400000);
  ASSERT_EQ(t.size(), 400000u);
  const double mw = SmParameters::m_w, gw = SmParameters::w_width, mt = SmParameters::m_top;
  const double mbl_edge = std::sqrt(mt * mt - mw * mw) + 5.0;
  // The m(bl) edge holds for tops near their mass shell: count those (the tops follow the
  // Breit-Wigner over the whole range, 6 % of them beyond 5 widths).
  const double gt = SmParameters::top_width();
  double n_mt2 = 0, n_mbl = 0, n_shell = 0, cos2 = 0, ckk = 0;
  for (const auto& x : t) {
    n_mt2 += x.mt2ll <= mw + 5 * gw;
    const bool shell = std::abs(x.m_blnu1 - mt) < 5 * gt && std::abs(x.m_blnu2 - mt) < 5 * gt;
    n_shell += shell;
    if (shell) n_mbl += (x.mbl1 <= mbl_edge) + (x.mbl2 <= mbl_edge);
    cos2 += x.w_cos_star1 * x.w_cos_star1 + x.w_cos_star2 * x.w_cos_star2;
    ckk += x.ckk;
  }
  const double n = static_cast<double>(t.size());
  EXPECT_GE(n_mt2 / n, 0.999);
  EXPECT_GE(n_mbl / (2 * n_shell), 0.999);
  // F0 = 2 - 5 <cos^2 theta*> against m_t^2 / (m_t^2 + 2 m_W^2) = 0.697.
  const double f0 = 2 - 5 * cos2 / (2 * n);
  EXPECT_NEAR(f0, mt * mt / (mt * mt + 2 * mw * mw), 0.01);
  // Spin correlation: the LO helicity value ~ 0.31 and our own event-averaged C_kk.
  const double c = spin_c(t);
  EXPECT_NEAR(c, 0.31, 0.04);
  EXPECT_NEAR(c, ckk / n, 0.01);
  std::printf("ttbar 400k: F0 %.4f, C %.4f, <C_kk> %.4f, mT2 fraction %.5f\n", f0, c, ckk / n, n_mt2 / n);
}

TEST(GeneratorEvents, NoSpinCorrelationAndStopsGiveZero) {
  auto o = truth_options();
  o.spin_correlation = false;
  EXPECT_NEAR(spin_c(truths(o, 200000)), 0.0, 0.02);
  auto s = truth_options(GenProcess::Stop);
  s.stop_mass = 750, s.lsp_mass = 1;
  EXPECT_NEAR(spin_c(truths(s, 200000)), 0.0, 0.02);
}

TEST(GeneratorEvents, StopDecayKinematics) {
  for (double m : {750.0, 185.0}) {
    auto o = truth_options(GenProcess::Stop);
    o.stop_mass = m, o.lsp_mass = m == 750 ? 1 : 5;
    for (const auto& x : truths(o, 2000)) {
      EXPECT_NEAR(x.m_top_chi1, m, 1e-6 * m);
      EXPECT_NEAR(x.m_chi_side2, m, 1e-6 * m);
    }
  }
  auto o = truth_options(GenProcess::Stop);
  o.stop_mass = 350, o.lsp_mass = 200;
  const auto t = truths(o, 20000);
  const double lo = SmParameters::m_b + SmParameters::m_w - 15 * SmParameters::w_width;
  std::vector<double> hist(5, 0.0);
  for (const auto& x : t) {
    EXPECT_TRUE(std::isnan(x.m_top_chi1));  // three-body
    EXPECT_NEAR(x.m_chi_side1, 350, 1e-6 * 350);
    EXPECT_NEAR(x.m_chi_side2, 350, 1e-6 * 350);
    EXPECT_GE(x.m_blnu1, lo);
    EXPECT_LE(x.m_blnu1, 150.0 + 1e-9);
    const int b = std::min(4, static_cast<int>((x.m_blnu1 - 85.0) / 13.0));
    if (b >= 0) hist[static_cast<size_t>(b)] += 1;
  }
  // Dalitz density: the m(bW) spectrum of the accepted events against the same phase space
  // sampled flat and weighted by |M|^2 (the unweighting must reproduce it).
  Generator g(o);
  Generator::Impl impl(o);
  impl.two_body = false;
  unbox::physics::gen::Rng rng(99, 1, 3);
  std::vector<double> ref(5, 0.0);
  double tot = 0;
  for (int i = 0; i < 400000; ++i) {
    Generator::Impl::StopSide s;
    const double w = impl.stop3_point(rng, s);
    const double mbw = (s.b + s.w).m();
    tot += w;
    const int b = std::min(4, static_cast<int>((mbw - 85.0) / 13.0));
    if (b >= 0 && w > 0) ref[static_cast<size_t>(b)] += w;
  }
  double nh = 0, nr = 0;
  for (int b = 0; b < 5; ++b) nh += hist[static_cast<size_t>(b)], nr += ref[static_cast<size_t>(b)];
  for (int b = 0; b < 5; ++b) {
    const double ph = hist[static_cast<size_t>(b)] / nh, pr = ref[static_cast<size_t>(b)] / nr;
    EXPECT_NEAR(ph, pr, 4 * std::sqrt(pr / nh) + 0.01) << "m(bW) bin " << b;
  }
  (void)tot;
}

TEST(GeneratorEvents, IsrSharesMatchCms) {
  auto o = truth_options();
  o.isr = true;
  const auto t = truths(o, 100000);
  const double edges[6] = {0, 35, 80, 140, 200, 500}, target[5] = {38, 32, 16, 6.8, 6.8};
  std::vector<double> h(5, 0.0);
  double n = 0;
  for (const auto& x : t)
    for (int b = 0; b < 5; ++b)
      if (x.pt_system >= edges[b] && x.pt_system < edges[b + 1]) h[static_cast<size_t>(b)] += 1, n += 1;
  const double tsum = 38 + 32 + 16 + 6.8 + 6.8;
  for (int b = 0; b < 5; ++b) EXPECT_NEAR(100 * h[static_cast<size_t>(b)] / n, 100 * target[b] / tsum, 5.0) << b;
}

TEST(GeneratorEvents, ImportanceBiasKeepsWeightedDistributions) {
  auto o = truth_options();
  const double edges[5] = {0, 50, 100, 200, 1e9};
  auto hist = [&](const GeneratorOptions& opt, std::int64_t n, std::vector<double>& h, std::vector<double>& e2,
                  std::int64_t& kept) {
    Generator g(opt);
    h.assign(4, 0.0);
    e2.assign(4, 0.0);
    kept = 0;
    g.generate_range(0, n, [&](const GeneratedEvent& ev) {
      ++kept;
      for (int b = 0; b < 4; ++b)
        if (ev.truth.met_parton >= edges[b] && ev.truth.met_parton < edges[b + 1]) {
          h[static_cast<size_t>(b)] += ev.weight / static_cast<double>(n);
          e2[static_cast<size_t>(b)] += std::pow(ev.weight / static_cast<double>(n), 2);
        }
    });
  };
  std::vector<double> h0, e0, h1, e1;
  std::int64_t k0, k1;
  hist(o, 100000, h0, e0, k0);
  o.bias_scale = 200, o.bias_power = 2, o.bias_floor = 0.02;
  hist(o, 100000, h1, e1, k1);
  EXPECT_LT(k1, k0 / 3);  // the bias keeps few low-MET events
  for (int b = 0; b < 4; ++b) {
    const double sig = std::sqrt(e0[static_cast<size_t>(b)] + e1[static_cast<size_t>(b)]);
    EXPECT_NEAR(h1[static_cast<size_t>(b)], h0[static_cast<size_t>(b)], 4 * sig) << b;
  }
  // The tail bin's relative error is smaller per kept event with the bias.
  const double r0 = std::sqrt(e0[3]) / h0[3], r1 = std::sqrt(e1[3]) / h1[3];
  EXPECT_LT(r1 * std::sqrt(static_cast<double>(k1)), r0 * std::sqrt(static_cast<double>(k0)));
}

// The W* line shape in t -> b W* (W* -> l nu) over the whole range, with the tail importance
// sampling: the weighted histogram of the sampled W masses against the textbook density
// dGamma/dm^2 ~ lambda^(1/2)(m_t^2, m_b^2, m^2) [(m_t^2 - m_b^2)^2 + m^2 (m_t^2 + m_b^2) - 2 m^4]
//              / ((m^2 - M_W^2)^2 + M_W^2 Gamma_W^2)
// (fixed-width Breit-Wigner; written here independently of the generator), integrated per bin
// by the trapezoid rule on 20,000 points; chi-square over bins from the peak to 160 GeV.
double textbook_w_density(double mt, double m) {
  const double mb = SmParameters::m_b, M = SmParameters::m_w, G = SmParameters::w_width;
  const double lam = (mt * mt - (mb + m) * (mb + m)) * (mt * mt - (mb - m) * (mb - m));
  if (lam <= 0) return 0.0;
  const double d = m * m - M * M;
  return std::sqrt(lam) * (std::pow(mt * mt - mb * mb, 2) + m * m * (mt * mt + mb * mb) - 2 * std::pow(m, 4)) /
         (d * d + M * M * G * G) * 2 * m;  // per unit m
}

TEST(GeneratorEvents, WLineShapeWithTailSamplingIsTheBreitWigner) {
  using namespace unbox::physics::gen;
  const double mt = SmParameters::m_top, mb = SmParameters::m_b;
  const double edges[] = {2, 60, 70, 76, 79, 80, 81, 82, 85, 90, 100, 110, 120, 130, 140, 150, 160, mt - mb};
  const int nb = static_cast<int>(std::size(edges)) - 1;
  // Reference bin probabilities.
  std::vector<double> ref(static_cast<size_t>(nb), 0.0);
  double tot = 0;
  const int np = 200000;
  const double lo = 2.0, hi = mt - mb;
  for (int i = 0; i < np; ++i) {
    const double a = lo + (hi - lo) * i / np, b = lo + (hi - lo) * (i + 1) / np;
    const double v = 0.5 * (b - a) * (textbook_w_density(mt, a) + textbook_w_density(mt, b));
    tot += v;
    for (int k = 0; k < nb; ++k)
      if (0.5 * (a + b) >= edges[k] && 0.5 * (a + b) < edges[k + 1]) ref[static_cast<size_t>(k)] += v;
  }
  for (double& r : ref) r /= tot;
  EXPECT_GT(ref[static_cast<size_t>(nb - 2)] + ref[static_cast<size_t>(nb - 3)], 1e-5);  // 140-160 GeV populated
  for (double f : {0.0, 0.3}) {
    Rng rng(2026, 17, 5);
    const P4 top(mt, 0, 0, 0);
    const int n = 300000;
    std::vector<double> h(static_cast<size_t>(nb), 0.0), h2(static_cast<size_t>(nb), 0.0);
    double sw = 0, sw2 = 0;
    std::int64_t tail = 0;
    for (int i = 0; i < n; ++i) {
      TopDecay d;
      const double w = decay_top(rng, top, mt, false, false, d, f);
      EXPECT_EQ(w, d.weight);
      const double m = d.w.m();
      sw += w, sw2 += w * w;
      tail += m > 110;
      for (int k = 0; k < nb; ++k)
        if (m >= edges[k] && m < edges[k + 1]) h[static_cast<size_t>(k)] += w, h2[static_cast<size_t>(k)] += w * w;
    }
    // The weights average to one (the sampled density is normalized exactly).
    EXPECT_NEAR(sw / n, 1.0, 4 * std::sqrt(sw2 / n - std::pow(sw / n, 2)) / std::sqrt(n) + 1e-12) << "f " << f;
    double chi2 = 0;
    for (int k = 0; k < nb; ++k) {
      const double p = h[static_cast<size_t>(k)] / n, r = ref[static_cast<size_t>(k)];
      // Unit weights: the binomial variance of the reference; weighted: the sample's own.
      const double var = f == 0 ? r * (1 - r) / n : (h2[static_cast<size_t>(k)] / n - p * p) / n + 1e-300;
      chi2 += (p - r) * (p - r) / var;
      // Each bin, the tail ones included, within 4 standard deviations.
      EXPECT_NEAR(p, r, 4 * std::sqrt(var) + 1e-9) << "f " << f << " bin " << edges[k] << "-" << edges[k + 1];
    }
    // chi-square with nb degrees of freedom: mean 17, sd 5.8; 40 is p ~ 1e-3.
    EXPECT_LT(chi2, 40.0) << "f " << f;
    // The tail sampling puts many more sampled W's above 110 GeV.
    if (f > 0) {
      EXPECT_GT(tail, 0.05 * n);  // 9 % at f = 0.3 against 0.3 % from the Breit-Wigner alone
    }
    std::printf("W line shape, tail fraction %.1f: chi2 %.1f / %d bins, W above 110 GeV %lld of %d\n", f, chi2, nb,
                static_cast<long long>(tail), n);
  }
}

// The tail sampling and the mT2 bias leave the weighted truth mT2ll distribution of t tbar
// unchanged (and its total), and populate the tail above 110 GeV that the W peak leaves empty.
TEST(GeneratorEvents, TailBiasKeepsWeightedMt2AndFillsTheTail) {
  auto o = truth_options();
  const double edges[] = {0, 20, 40, 60, 70, 80, 90, 100, 110, 1e9};
  const int nb = static_cast<int>(std::size(edges)) - 1;
  struct H {
    std::vector<double> h, e2;
    std::int64_t kept = 0, tail = 0;
    double total = 0;
  };
  auto run = [&](const GeneratorOptions& opt, std::int64_t n) {
    Generator g(opt);
    H r;
    r.h.assign(static_cast<size_t>(nb), 0.0);
    r.e2.assign(static_cast<size_t>(nb), 0.0);
    g.generate_range(0, n, [&](const GeneratedEvent& ev) {
      const double w = ev.weight / static_cast<double>(n);
      ++r.kept;
      r.total += w;
      r.tail += ev.truth.mt2ll > 110;
      for (int b = 0; b < nb; ++b)
        if (ev.truth.mt2ll >= edges[b] && ev.truth.mt2ll < edges[b + 1])
          r.h[static_cast<size_t>(b)] += w, r.e2[static_cast<size_t>(b)] += w * w;
    });
    return r;
  };
  const H plain = run(o, 150000);
  o.w_tail_fraction = 0.3;
  o.bias_mt2_scale = 100, o.bias_mt2_power = 4, o.bias_floor = 0.05;
  const H biased = run(o, 150000);
  EXPECT_LT(biased.kept, plain.kept / 2);  // the bias drops most low-mT2 events
  double s0 = 0, s1 = 0;
  for (int b = 0; b < nb; ++b) {
    const double sig = std::sqrt(plain.e2[static_cast<size_t>(b)] + biased.e2[static_cast<size_t>(b)]);
    EXPECT_NEAR(biased.h[static_cast<size_t>(b)], plain.h[static_cast<size_t>(b)], 4 * sig) << "bin " << edges[b];
    s0 += plain.e2[static_cast<size_t>(b)], s1 += biased.e2[static_cast<size_t>(b)];
  }
  // Total expected events per fb^-1 unchanged within the statistics of both samples.
  EXPECT_NEAR(biased.total, plain.total, 4 * std::sqrt(s0 + s1));
  EXPECT_NEAR(plain.total, 831.76 * std::pow(0.1071 + 0.1063, 2) * 1000, 1e-6 * plain.total);
  // The tail above 110 GeV: populated with the bias at this seed, and its relative error
  // far smaller than without.
  const size_t t = static_cast<size_t>(nb - 1);
  EXPECT_GT(biased.tail, 200);
  const double r0 = plain.h[t] > 0 ? std::sqrt(plain.e2[t]) / plain.h[t] : 1.0;
  const double r1 = std::sqrt(biased.e2[t]) / biased.h[t];
  EXPECT_LT(r1, 0.5 * r0);
  std::printf(
      "t tbar truth mT2ll > 110 GeV: plain %lld events (rel. err %.3f), biased %lld (rel. err %.3f), "
      "kept %lld / %lld\n",
      static_cast<long long>(plain.tail), r0, static_cast<long long>(biased.tail), r1,
      static_cast<long long>(biased.kept), static_cast<long long>(plain.kept));
}

TEST(GeneratorEvents, NormalizationIsExpectedEventsPerInverseFb) {
  auto o = truth_options();
  Generator g(o);
  double sum = 0;
  const std::int64_t streams = g.run(5000, [&](const GeneratedEvent& e) { sum += e.weight; });
  EXPECT_EQ(streams, 5000);
  EXPECT_NEAR(sum, 831.76 * std::pow(0.1071 + 0.1063, 2) * 1000, 1e-6 * sum);
  // Weighted events: the same total within the statistics.
  o.weighted = true;
  Generator gw(o);
  double sw = 0;
  gw.run(20000, [&](const GeneratedEvent& e) { sw += e.weight; });
  EXPECT_NEAR(sw / sum, 1.0, 0.03);
  // With the cuts, fewer events per stream; the written events' weights still sum to the
  // cross section of the cut phase space, so sum = best x BR x (kept fraction).
  auto oc = truth_options();
  oc.cuts = true;
  Generator gc(oc);
  double sc = 0;
  std::int64_t kept = 0;
  const std::int64_t sc_streams = gc.run(2000, [&](const GeneratedEvent& e) { sc += e.weight, ++kept; });
  EXPECT_EQ(kept, 2000);
  EXPECT_NEAR(sc, sum * 2000.0 / static_cast<double>(sc_streams), 1e-6 * sc);
}

TEST(GeneratorEvents, DeterministicOverThreadsAndChunks) {
  GeneratorOptions o;  // full chain: cuts, ISR, fragmentation
  o.seed = 7;
  Generator g(o);
  FeatureOptions fo;
  fo.detector = DetectorOptions::cms();
  fo.selection = "cms";
  fo.quiet = true;
  const int saved = unbox::thread_count();
  unbox::set_thread_count(1);
  const FeatureResult a = g.run_features(600, fo, true);
  unbox::set_thread_count(2);
  const FeatureResult b = g.run_features(600, fo, true);
  unbox::set_thread_count(saved);
  ASSERT_EQ(a.data.names(), b.data.names());
  ASSERT_EQ(a.data.events(), b.data.events());
  ASSERT_GT(a.data.events(), 0);
  for (const auto& name : a.data.names()) {
    const auto& x = a.data.get(name);
    const auto& y = b.data.get(name);
    for (unbox::Index i = 0; i < a.data.events(); ++i) {
      const double u = x.data()[i], v = y.data()[i];
      EXPECT_TRUE((std::isnan(u) && std::isnan(v)) || u == v) << name << " row " << i;
    }
  }
  // Chunking: [0, 300) at once against [0, 100) + [100, 300).
  std::vector<std::vector<GenRecordParticle>> r1, r2;
  g.generate_range(0, 300, [&](const GeneratedEvent& e) { r1.push_back(e.record); });
  g.generate_range(0, 100, [&](const GeneratedEvent& e) { r2.push_back(e.record); });
  g.generate_range(100, 200, [&](const GeneratedEvent& e) { r2.push_back(e.record); });
  ASSERT_EQ(r1.size(), r2.size());
  for (size_t i = 0; i < r1.size(); ++i) {
    ASSERT_EQ(r1[i].size(), r2[i].size());
    for (size_t k = 0; k < r1[i].size(); ++k) {
      EXPECT_EQ(r1[i][k].px, r2[i][k].px);
      EXPECT_EQ(r1[i][k].e, r2[i][k].e);
      EXPECT_EQ(r1[i][k].pdg_id, r2[i][k].pdg_id);
    }
  }
}

TEST(GeneratorEvents, HepMC3RoundTrip) {
  GeneratorOptions o;
  o.process = GenProcess::Stop;
  o.stop_mass = 350, o.lsp_mass = 200;
  Generator g(o);
  const std::string path = (std::filesystem::temp_directory_path() / "unbox-gen-roundtrip.hepmc").string();
  std::vector<GeneratedEvent> written;
  {
    HepMC3Writer w(path);
    g.run(50, [&](const GeneratedEvent& e) {
      w.write(e);
      written.push_back(e);
    });
    w.close();
  }
  auto reader = open_events(path);
  GenEvent e;
  size_t i = 0;
  while (reader->next(e)) {
    ASSERT_LT(i, written.size());
    const GenEvent& ref = written[i].event;
    EXPECT_EQ(e.number, written[i].index);
    EXPECT_DOUBLE_EQ(e.weight, ref.weight);
    ASSERT_EQ(e.final_state.size(), ref.final_state.size());
    for (size_t k = 0; k < ref.final_state.size(); ++k) {
      EXPECT_NEAR(e.final_state[k].px, ref.final_state[k].px, 1e-9 * (1 + std::abs(ref.final_state[k].px)));
      EXPECT_EQ(e.final_state[k].pdg_id, ref.final_state[k].pdg_id);
    }
    EXPECT_EQ(e.b_tags.size(), ref.b_tags.size());
    EXPECT_EQ(e.c_tags.size(), ref.c_tags.size());
    EXPECT_EQ(e.partons.size(), ref.partons.size());
    ++i;
  }
  EXPECT_EQ(i, written.size());
  std::filesystem::remove(path);
}

}  // namespace
