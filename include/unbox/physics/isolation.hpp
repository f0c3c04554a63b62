// Isolation-cone observables (the muon study of Faucett, Thaler, Whiteson): for the
// particles around a reference direction (e.g. a muon),
//
//   I(R0) = sum over particles with veto <= DeltaR < R0 of pT / pT(ref),
//
// DeltaR^2 = (eta - eta_ref)^2 + (phi - phi_ref)^2 with Delta-phi wrapped into (-pi, pi].
// The outer boundary is strict (a particle exactly at DeltaR = R0 is outside). The
// reference itself is excluded when it is in the list: particles closer than `veto`
// (default 1e-5, i.e. only coincident ones) do not count; veto = 0 counts everything.
// Particles with pT == 0 are padding and contribute nothing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unbox/tensor.hpp"

namespace unbox {

struct IsolationOptions {
  std::vector<double> r0{0.1, 0.2, 0.3, 0.4};  // cone radii, each > 0
  double veto = 1e-5;                          // inner veto radius (>= 0)
};

// ref_pt, ref_eta, ref_phi: [N]; pt, eta, phi: [N, P]. Returns [N, R] (column r = r0[r]).
// ref_pt must be > 0 and every used value finite (Error naming the event otherwise).
Tensor isolation(const Tensor& ref_pt, const Tensor& ref_eta, const Tensor& ref_phi, const Tensor& pt,
                 const Tensor& eta, const Tensor& phi, const IsolationOptions& opt);

// Stable column name for a radius: "iso_" + the shortest decimal form of R0, e.g. iso_0.1, iso_0.25.
std::string isolation_column_name(double r0);

}  // namespace unbox
