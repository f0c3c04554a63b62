// The built-in generator's set-up (cross sections, unweighting maximum) and its parallel,
// deterministic loops over event streams, into a callback or into the feature table.
// GCC 12 reports a false "uninitialized" inside its AVX-512 intrinsics (Eigen's complex
// packets, _mm512_broadcast_f64x2) when built with -march=native; silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "electroweak.hpp"
#include "generator_impl.hpp"
#include "matrix_elements.hpp"
#include "unbox/cancel.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/pdf.hpp"

namespace unbox::physics {

using namespace gen;

namespace {

// Gauss-Legendre nodes and weights on [-1, 1].
void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  x.resize(static_cast<size_t>(n));
  w.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    double z = std::cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = z;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1, p1 = p2;
      }
      const double pn = n == 1 ? z : p1, pn1 = n == 1 ? 1 : p0;
      dp = n * (z * pn - pn1) / (z * z - 1);
      const double dz = pn / dp;
      z -= dz;
      if (std::abs(dz) < 1e-15) break;
    }
    x[static_cast<size_t>(i)] = z;
    w[static_cast<size_t>(i)] = 2 / ((1 - z * z) * dp * dp);
  }
}

constexpr std::int64_t kPrescan = 100000;
constexpr std::uint64_t kPrescanSeed = 0x5eed5eedULL;

}  // namespace

Generator::Generator(const GeneratorOptions& options) : options_(options), impl_(new Impl(options)) {
  Impl& I = *impl_;
  if (options.sqrt_s <= 0) throw Error("the collision energy must be positive");
  if (!(options.w_tail_fraction >= 0 && options.w_tail_fraction <= 0.9))
    throw Error(fmt::format("the W tail share must be in [0, 0.9], got {}", options.w_tail_fraction));
  if ((options.bias_scale > 0 || options.bias_mt2_scale > 0) && !(options.bias_floor > 0 && options.bias_floor <= 1))
    throw Error(fmt::format("the bias floor must be in (0, 1], got {}", options.bias_floor));
  if (options.process == GenProcess::Stop) {
    const double ms = options.stop_mass, mc = options.lsp_mass;
    if (!(ms > 0) || !(mc >= 0) || ms - mc <= SmParameters::m_w + SmParameters::m_b + 5.0)
      throw Error(
          fmt::format("stop:{},{}: need m_stop - m_LSP above m_W + m_b + 5 GeV (four-body decays are "
                      "not implemented)",
                      ms, mc));
    I.two_body = ms - mc > SmParameters::m_top;
    if (!I.two_body) {
      Rng rng(kPrescanSeed, 0, 11);
      double mx = 0;
      for (int i = 0; i < 50000; ++i) {
        Impl::StopSide s;
        mx = std::max(mx, I.stop3_point(rng, s));
      }
      I.stop3_max = 1.3 * mx;
    }
  }
  I.branching = std::pow(w_leptonic_fraction(options.taus), 2);
  I.sigma_best = [&] {
    switch (options.process) {
      case GenProcess::TTbar:
        return 831.76;
      case GenProcess::TW:
        return 71.7;
      case GenProcess::WW:
        return 118.7;
      case GenProcess::Stop: {
        const double m[3] = {185, 350, 750}, s[3] = {111.0, 4.43, 0.0500};
        const int i = options.stop_mass < 350 ? 0 : 1;
        const double t = (options.stop_mass - m[i]) / (m[i + 1] - m[i]);
        return std::exp(std::log(s[i]) + t * (std::log(s[i + 1]) - std::log(s[i])));
      }
    }
    return 0.0;
  }();
  // Pre-scan with a fixed seed: the maximum weight (x 1.1) and the Monte Carlo mean.
  std::vector<double> w(static_cast<size_t>(kPrescan));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < kPrescan; ++i) {
    Rng rng(kPrescanSeed, static_cast<std::uint64_t>(i), 9);
    Impl::Point p;
    w[static_cast<size_t>(i)] = I.sample(rng, p);
  }
  double mx = 0, sum = 0;
  for (double v : w) mx = std::max(mx, v), sum += v;
  I.wmax = 1.1 * mx;
  const double mc_mean = sum / kPrescan;
  norm_.sigma_best = I.sigma_best;
  norm_.branching = I.branching;
  norm_.max_weight = I.wmax;
  if (options.process == GenProcess::TTbar || options.process == GenProcess::Stop) {
    I.mean_w = lo_cross_section_quadrature(&norm_.gg_share);
    norm_.sigma_lo = I.mean_w;
  } else {
    I.mean_w = mc_mean;
    const EwParameters ew = ew_parameters(I.alpha_s);
    const double br_e = ew.g2 * SmParameters::m_w / (48 * M_PI) / SmParameters::w_width;
    // tW: the streams are split evenly between t W- and its CP mirror tbar W+, whose LO cross
    // sections are equal (b and bbar densities are equal): the sum is twice the sampled one.
    norm_.sigma_lo = mc_mean / std::pow(br_e, options.process == GenProcess::WW ? 2 : 1) *
                     (options.process == GenProcess::TW ? 2.0 : 1.0);
  }
  norm_.k_factor = I.sigma_best / norm_.sigma_lo;
  I.k_factor = 1.0 / I.mean_w;  // weighted mode: weight = w / mean(w) x best sigma x BR
  norm_.unweighting_efficiency = I.mean_w / I.wmax;
}

Generator::~Generator() { delete impl_; }

double Generator::lo_cross_section_quadrature(double* gg_share, double* mean_mass) const {
  const Impl& I = *impl_;
  if (options_.process != GenProcess::TTbar && options_.process != GenProcess::Stop)
    throw Error("the quadrature cross section exists for t tbar and stop pairs only");
  const bool top = options_.process == GenProcess::TTbar;
  const double m = I.mheavy, smin = 4 * m * m, S = I.s_had;
  // shat = smin (1 - v)^-2, v in [0, vmax]; y in [-Y, Y]; composite Gauss-Legendre.
  const double n = 2.0, vmax = 1 - std::pow(smin / S, n);
  std::vector<double> gx, gw;
  gauss_legendre(48, gx, gw);
  const int panels = 8;
  double sgg = 0, sqq = 0, smass = 0;
  std::array<double, 13> f1, f2;
  for (int pv = 0; pv < panels; ++pv)
    for (size_t iv = 0; iv < gx.size(); ++iv) {
      const double v = vmax * (pv + 0.5 * (gx[iv] + 1)) / panels, wv = vmax * 0.5 * gw[iv] / panels;
      const double shat = smin * std::pow(1 - v, -1 / n), jac = shat / (n * (1 - v));
      const double tau = shat / S, Y = -0.5 * std::log(tau);
      const double sg = top ? sigma_gg_ttbar(shat, m, I.alpha_s) : sigma_gg_stops(shat, m, I.alpha_s);
      const double sq = top ? sigma_qq_ttbar(shat, m, I.alpha_s) : sigma_qq_stops(shat, m, I.alpha_s);
      for (size_t iy = 0; iy < gx.size(); ++iy) {
        const double y = Y * gx[iy], wy = Y * gw[iy];
        const double x1 = std::sqrt(tau) * std::exp(y), x2 = std::sqrt(tau) * std::exp(-y);
        I.pdf.xf_all(x1, f1);
        I.pdf.xf_all(x2, f2);
        double lqq = 0;
        for (int q = 1; q <= 5; ++q) lqq += f1[pdf_slot(q)] * f2[pdf_slot(-q)] + f1[pdf_slot(-q)] * f2[pdf_slot(q)];
        const double c = wv * wy * jac / shat * kGeV2toPb;
        const double a = c * f1[pdf_slot(0)] * f2[pdf_slot(0)] * sg, b = c * lqq * sq;
        sgg += a, sqq += b;
        smass += (a + b) * std::sqrt(shat);
      }
    }
  if (gg_share) *gg_share = sgg / (sgg + sqq);
  if (mean_mass) *mean_mass = smass / (sgg + sqq);
  return sgg + sqq;
}

bool Generator::generate(std::int64_t index, GeneratedEvent& out) const { return impl_->generate(index, out, true); }

void Generator::generate_range(std::int64_t begin, std::int64_t count,
                               const std::function<void(const GeneratedEvent&)>& sink) const {
  constexpr std::int64_t kBlock = 4096;
  std::vector<GeneratedEvent> slots(static_cast<size_t>(std::min(count, kBlock)));
  std::vector<char> ok(slots.size());
  for (std::int64_t b = 0; b < count; b += kBlock) {
    const std::int64_t n = std::min(kBlock, count - b);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::int64_t i = 0; i < n; ++i)
      ok[static_cast<size_t>(i)] = impl_->generate(begin + b + i, slots[static_cast<size_t>(i)], true) ? 1 : 0;
    for (std::int64_t i = 0; i < n; ++i)
      if (ok[static_cast<size_t>(i)]) sink(slots[static_cast<size_t>(i)]);
  }
}

std::vector<char> Generator::Impl::stream_flags(const Generator& g, std::int64_t events, bool quiet) const {
  const GeneratorOptions& options = g.options();
  const bool every = !options.cuts && options.bias_scale <= 0 && !options.weighted;
  if (every) return std::vector<char>(static_cast<size_t>(events), 1);
  Progress progress("streams", events, quiet);
  // Blocks sized by the acceptance seen so far (the flags are per stream, so the block size
  // changes only the work wasted past the last needed stream, not which streams are kept).
  constexpr std::int64_t kMaxBlock = 16384, kMinBlock = 1024;
  std::vector<char> flags;
  std::int64_t found = 0, start = 0;
  for (;;) {
    std::int64_t kBlock = kMaxBlock;
    if (start == 0)
      kBlock = std::clamp<std::int64_t>(2 * events, kMinBlock, kMaxBlock);
    else if (found > 0)
      kBlock = std::clamp<std::int64_t>((events - found) * start / found * 5 / 4 + 256, kMinBlock, kMaxBlock);
    flags.resize(static_cast<size_t>(start + kBlock));
#pragma omp parallel
    {
      GeneratedEvent tmp;
#pragma omp for schedule(dynamic, 128)
      for (std::int64_t i = 0; i < kBlock; ++i)
        flags[static_cast<size_t>(start + i)] = generate(start + i, tmp, false) ? 1 : 0;
    }
    for (std::int64_t i = 0; i < kBlock; ++i) {
      if (flags[static_cast<size_t>(start + i)] && ++found == events) {
        flags.resize(static_cast<size_t>(start + i + 1));
        progress.finish();
        return flags;
      }
    }
    start += kBlock;
    progress.update(found);
    check_cancelled();  // Ctrl-C in the Python module (cancel.hpp), between blocks
    if (start > 1000 * (events + 1000))
      throw Error(fmt::format("the generator cuts keep too few events ({} of {} streams)", found, start));
  }
}

std::int64_t Generator::stream_count(std::int64_t events, bool quiet) const {
  return static_cast<std::int64_t>(impl_->stream_flags(*this, events, quiet).size());
}

std::int64_t Generator::run(std::int64_t events, const std::function<void(const GeneratedEvent&)>& sink,
                            bool quiet) const {
  const std::vector<char> flags = impl_->stream_flags(*this, events, quiet);
  const std::int64_t streams = static_cast<std::int64_t>(flags.size());
  const double inv = 1.0 / static_cast<double>(streams);
  Progress progress("generate", streams, quiet);
  ProgressCounter counter(options().progress, streams);
  constexpr std::int64_t kBlock = 4096;
  std::vector<GeneratedEvent> slots(static_cast<size_t>(kBlock));
  std::vector<char> ok(static_cast<size_t>(kBlock));
  std::int64_t done = 0;
  for (std::int64_t b = 0; b < streams; b += kBlock) {
    const std::int64_t n = std::min(kBlock, streams - b);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i);
      ok[k] = flags[static_cast<size_t>(b + i)] && impl_->generate(b + i, slots[k], true) ? 1 : 0;
    }
    for (std::int64_t i = 0; i < n; ++i) {
      if (!ok[static_cast<size_t>(i)]) continue;
      GeneratedEvent& m = slots[static_cast<size_t>(i)];
      m.weight *= inv;
      m.event.weight = m.weight;
      sink(m);
      ++done;
    }
    progress.update(b + n);
    counter.add(n);
    check_cancelled();
  }
  counter.finish();
  progress.finish(fmt::format("{} events", done));
  return streams;
}

const std::vector<std::string>& gen_truth_columns() {
  static const std::vector<std::string> names{"truth_mt2ll", "truth_mbl1", "truth_mbl2", "w_cos_star1", "w_cos_star2",
                                              "hel_cos1",    "hel_cos2",   "pt_system",  "m_system",    "process"};
  return names;
}

std::vector<double> gen_truth_values(const GenTruth& t) {
  return {t.mt2ll,    t.mbl1,     t.mbl2,      t.w_cos_star1, t.w_cos_star2,
          t.hel_cos1, t.hel_cos2, t.pt_system, t.m_system,    static_cast<double>(t.process)};
}

FeatureResult Generator::run_features(std::int64_t events, const FeatureOptions& features, bool truth,
                                      bool quiet) const {
  // One pass: blocks of streams (their size depends on `events` only, never on the threads) are
  // generated in parallel rounds, each into its own builder; the block holding the events-th
  // event is redone up to that stream, later ones are dropped, and the weights are divided by
  // the number of streams at the end.
  struct Block {
    std::unique_ptr<FeatureBuilder> fb;
    std::vector<double> tv;
    std::vector<std::int64_t> yielded;
  };
  auto run_block = [&](std::int64_t begin, std::int64_t end, Block& blk) {
    blk.fb = std::make_unique<FeatureBuilder>(features);
    blk.tv.clear();
    blk.yielded.clear();
    GeneratedEvent ev;
    for (std::int64_t i = begin; i < end; ++i) {
      if (!impl_->generate(i, ev, true)) continue;
      blk.yielded.push_back(i);
      const bool pass = blk.fb->add(ev.event, i);
      if (truth && (pass || features.keep_all)) {
        const auto v = gen_truth_values(ev.truth);
        blk.tv.insert(blk.tv.end(), v.begin(), v.end());
      }
    }
  };
  const std::int64_t block = std::clamp<std::int64_t>(events / 8, 64, 2048);
  const int round = std::max(2, 4 * thread_count());
  std::vector<Block> done;
  std::int64_t found = 0, start = 0, streams = -1, counter_done = 0;
  Progress progress("generate", events, quiet);
  ProgressCounter counter(options().progress, events);
  while (streams < 0) {
    std::vector<Block> blocks(static_cast<size_t>(round));
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < round; ++k)
      run_block(start + k * block, start + (k + 1) * block, blocks[static_cast<size_t>(k)]);
    for (int k = 0; k < round && streams < 0; ++k) {
      Block& blk = blocks[static_cast<size_t>(k)];
      const auto n = static_cast<std::int64_t>(blk.yielded.size());
      if (found + n >= events) {
        const std::int64_t last = blk.yielded[static_cast<size_t>(events - found - 1)];
        streams = last + 1;
        run_block(start + k * block, streams, blk);
        found = events;
      } else {
        found += n;
      }
      done.push_back(std::move(blk));
    }
    start += round * block;
    progress.update(found);
    counter.add(found - counter_done);
    counter_done = found;
    check_cancelled();
    if (streams < 0 && start > 1000 * (events + 1000))
      throw Error(fmt::format("the generator cuts keep too few events ({} of {} streams)", found, start));
  }
  const double inv = 1.0 / static_cast<double>(streams);
  std::vector<std::unique_ptr<FeatureBuilder>> builders;
  std::vector<std::vector<double>> truths;
  for (auto& blk : done) {
    builders.push_back(std::move(blk.fb));
    truths.push_back(std::move(blk.tv));
  }
  FeatureBuilder all(features);
  for (auto& b : builders) all.append(std::move(*b));
  FeatureResult r = all.finish("generator", "generator");
  progress.finish();
  counter.finish();
  if (!features.weight) {  // the stream weights become expected events per fb^-1
    for (double& w : r.data.get("weight").values()) w *= inv;
    r.cutflow.total_weight *= inv;
    for (double& w : r.cutflow.weights) w *= inv;
  }
  if (truth) {
    const auto& names = gen_truth_columns();
    const size_t k = names.size();
    std::vector<std::vector<double>> cols(k);
    for (const auto& tv : truths)
      for (size_t i = 0; i < tv.size(); i += k)
        for (size_t c = 0; c < k; ++c) cols[c].push_back(tv[i + c]);
    const Index n = r.data.events();
    for (size_t c = 0; c < k; ++c) {
      if (static_cast<Index>(cols[c].size()) != n) throw Error("internal: truth rows do not match the feature rows");
      r.data.add(names[c], Tensor({n}, std::move(cols[c])));
    }
  }
  return r;
}

}  // namespace unbox::physics
