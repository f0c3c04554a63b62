// Isolation-cone observables (see isolation.hpp).
#include "unbox/physics/isolation.hpp"

#include <fmt/format.h>

#include <cmath>

#include "unbox/data.hpp"
#include "unbox/physics/kinematics.hpp"

namespace unbox {

std::string isolation_column_name(double r0) { return "iso_" + format_double(r0); }

Tensor isolation(const Tensor& ref_pt, const Tensor& ref_eta, const Tensor& ref_phi, const Tensor& pt,
                 const Tensor& eta, const Tensor& phi, const IsolationOptions& opt) {
  if (opt.r0.empty()) throw Error("isolation needs at least one cone radius R0");
  for (double r : opt.r0)
    if (!(r > 0) || !std::isfinite(r)) throw Error(fmt::format("isolation cone radius R0 = {}: must be > 0", r));
  if (!(opt.veto >= 0) || !std::isfinite(opt.veto))
    throw Error(fmt::format("isolation veto radius {}: must be >= 0", opt.veto));
  if (pt.rank() != 2 || eta.shape() != pt.shape() || phi.shape() != pt.shape())
    throw Error(
        fmt::format("isolation: particle arrays must be [events, particles] of one shape; got pt {}, eta {}, phi {}",
                    shape_string(pt.shape()), shape_string(eta.shape()), shape_string(phi.shape())));
  const Index n = pt.dim(0), p = pt.dim(1);
  for (const Tensor* r : {&ref_pt, &ref_eta, &ref_phi})
    if (r->rank() != 1 || r->events() != n)
      throw Error(fmt::format("isolation: reference columns must have one value per event ({} events); got {}", n,
                              shape_string(r->shape())));
  const Index nr = static_cast<Index>(opt.r0.size());
  Tensor out({n, nr}, 0.0);
  for (Index e = 0; e < n; ++e) {
    const double rp = ref_pt[e], re = ref_eta[e], rf = ref_phi[e];
    if (!(rp > 0) || !std::isfinite(rp))
      throw Error(fmt::format("event {}: reference pT = {} (expected a finite value > 0)", e + 1, rp));
    if (!std::isfinite(re) || !std::isfinite(rf))
      throw Error(fmt::format("event {}: reference eta = {}, phi = {} (expected finite values)", e + 1, re, rf));
    for (Index j = 0; j < p; ++j) {
      const double v = pt.at(e, j);
      if (v == 0) continue;  // padding
      if (!(v > 0) || !std::isfinite(v))
        throw Error(
            fmt::format("event {}, particle {}: pT = {} (expected a finite value >= 0; 0 marks padding)", e + 1, j, v));
      const double de = eta.at(e, j) - re, dp = physics::delta_phi(phi.at(e, j), rf);
      if (!std::isfinite(de) || !std::isfinite(dp))
        throw Error(fmt::format("event {}, particle {}: eta = {}, phi = {} (expected finite values)", e + 1, j,
                                eta.at(e, j), phi.at(e, j)));
      const double dr = std::sqrt(de * de + dp * dp);
      if (dr < opt.veto) continue;
      for (Index r = 0; r < nr; ++r)
        if (dr < opt.r0[static_cast<size_t>(r)]) out.at(e, r) += v;
    }
    for (Index r = 0; r < nr; ++r) out.at(e, r) /= rp;
  }
  return out;
}

}  // namespace unbox
