// Isolation cones on hand-made particle lists: strict boundary, wrap-around in phi,
// padding, the reference in its own list, and the column names.
#include <gtest/gtest.h>

#include <numbers>

#include "unbox/data.hpp"
#include "unbox/physics/isolation.hpp"
#include "unbox/physics/particles.hpp"

using namespace unbox;

TEST(Isolation, HandMadeEvents) {
  const double pi = std::numbers::pi;
  // Event 0: reference (pT 20) at eta 0, phi pi - 0.05; it is also particle 0 of its list.
  //   particle 1: pT 2 at DeltaR 0.1 across the phi boundary (phi -pi + 0.05): exactly on the
  //   R0 = 0.1 boundary up to round-off, so use 0.15 instead (inside 0.2, outside 0.1);
  //   particle 2: pT 0 (padding) right next to the reference; particle 3: pT 4 at DeltaR 0.25
  //   in eta; particle 4: pT 1 at DeltaR 0.05.
  // Event 1: reference pT 10 at (1, 0); particle 0 at DeltaR exactly 0.25 in eta with
  //   binary-exact values (1.25 - 1), which is outside R0 = 0.25 (strict) and inside 0.3.
  Tensor ref_pt({2}, std::vector<double>{20, 10}), ref_eta({2}, std::vector<double>{0, 1}),
      ref_phi({2}, std::vector<double>{pi - 0.05, 0});
  Tensor pt({2, 5}, std::vector<double>{20, 2, 0, 4, 1, /**/ 5, 0, 0, 0, 0});
  Tensor eta({2, 5}, std::vector<double>{0, 0, 0.01, 0.25, 0.03, /**/ 1.25, 0, 0, 0, 0});
  Tensor phi({2, 5},
             std::vector<double>{pi - 0.05, -pi + 0.10, pi - 0.05, pi - 0.05, pi - 0.05 + 0.04, /**/ 0, 0, 0, 0, 0});
  IsolationOptions opt;
  opt.r0 = {0.1, 0.2, 0.25, 0.3};
  Tensor v = isolation(ref_pt, ref_eta, ref_phi, pt, eta, phi, opt);
  ASSERT_EQ(v.shape(), (Shape{2, 4}));
  // Event 0: 0.1 -> particle 4 (1); 0.2 -> + particle 1 (2, at 0.15); 0.25 -> particle 3 at
  // DeltaR 0.25 is not inside (strict); 0.3 -> + particle 3 (4). Divided by 20.
  EXPECT_DOUBLE_EQ(v.at(0, 0), 1.0 / 20);
  EXPECT_DOUBLE_EQ(v.at(0, 1), 3.0 / 20);
  EXPECT_DOUBLE_EQ(v.at(0, 3), 7.0 / 20);
  EXPECT_DOUBLE_EQ(v.at(1, 0), 0.0);
  EXPECT_DOUBLE_EQ(v.at(1, 2), 0.0);  // DeltaR = 0.25 exactly: outside R0 = 0.25
  EXPECT_DOUBLE_EQ(v.at(1, 3), 0.5);
  // Without the veto the reference counts itself (+1 in event 0).
  opt.veto = 0;
  Tensor w = isolation(ref_pt, ref_eta, ref_phi, pt, eta, phi, opt);
  EXPECT_DOUBLE_EQ(w.at(0, 0), 21.0 / 20);
  EXPECT_DOUBLE_EQ(w.at(1, 3), 0.5);
  // Errors name the event.
  Tensor bad_ref({2}, std::vector<double>{20, 0});
  try {
    isolation(bad_ref, ref_eta, ref_phi, pt, eta, phi, opt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("event 2"), std::string::npos) << e.what();
  }
  opt.r0 = {0};
  EXPECT_THROW(isolation(ref_pt, ref_eta, ref_phi, pt, eta, phi, opt), Error);
}

TEST(Isolation, ColumnNames) {
  EXPECT_EQ(isolation_column_name(0.1), "iso_0.1");
  EXPECT_EQ(isolation_column_name(0.25), "iso_0.25");
  EXPECT_EQ(isolation_column_name(1), "iso_1");
}

TEST(Isolation, ParticleColumnsFromDataset) {
  Dataset d;
  d.source = "jets.csv";
  for (int i = 0; i < 3; ++i)
    for (const char* v : {"pt", "eta", "phi"})
      d.add("p" + std::to_string(i) + "_" + v, Tensor({2}, std::vector<double>{10.0 * i + 1, 10.0 * i + 2}));
  ParticleArrays p = particle_arrays(d, {});
  EXPECT_EQ(p.particles, 3);
  EXPECT_EQ(p.pt.shape(), (Shape{2, 3}));
  EXPECT_EQ(p.eta.at(1, 2), 22.0);
  ParticleColumns two;
  two.max_particles = 2;
  EXPECT_EQ(particle_arrays(d, two).particles, 2);
  d.remove("p1_phi");
  try {
    particle_arrays(d, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'p1_phi'"), std::string::npos) << e.what();
  }
  ParticleColumns other;
  other.pattern = "track{i}{var}";
  try {
    particle_arrays(d, other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'track0pt'"), std::string::npos) << e.what();
  }
}
