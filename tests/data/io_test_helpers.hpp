// Helpers shared by the data I/O tests: a scratch directory, raw file writing,
// bit-exact comparison, and "this call throws exactly this message".
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "unbox/data.hpp"

namespace unbox::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "unbox-io-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Names of everything in the directory (to check that failed writes leave nothing).
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The message of the unbox::Error `f` throws ("" and a test failure if it does not).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected unbox::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an unbox::Error, nothing was thrown";
  return "";
}

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline ::testing::AssertionResult bit_identical(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shapes " << shape_string(a.shape()) << " vs " << shape_string(b.shape());
  for (Index i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i]))
      return ::testing::AssertionFailure()
             << "element " << i << ": " << format_double(a[i]) << " vs " << format_double(b[i]);
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult bit_identical(const Dataset& a, const Dataset& b) {
  if (a.names() != b.names()) {
    std::string an, bn;
    for (const auto& n : a.names()) an += n + " ";
    for (const auto& n : b.names()) bn += n + " ";
    return ::testing::AssertionFailure() << "names [" << an << "] vs [" << bn << "]";
  }
  for (const auto& n : a.names()) {
    auto r = bit_identical(a.get(n), b.get(n));
    if (!r) return ::testing::AssertionFailure() << "column '" << n << "': " << r.message();
  }
  return ::testing::AssertionSuccess();
}

// Doubles that trip naive formatting: non-terminating binary fractions, subnormals,
// signed zero, the largest finite double, integers beyond 2^53.
inline std::vector<double> awkward_doubles() {
  return {0.1,
          1.0 / 3.0,
          -2.0 / 3.0,
          1e-310,  // subnormal
          std::numeric_limits<double>::denorm_min(),
          -0.0,
          0.0,
          1.7976931348623157e308,
          -1.7976931348623157e308,
          2.2250738585072014e-308,
          9007199254740993.0,  // rounds to 2^53; still must read back the same
          123456789012345678.0,
          1e22,
          1e23,
          5e-324,
          0.30000000000000004,
          -1.5,
          42.0};
}

// A dataset of awkward doubles in two columns (the second reversed).
inline Dataset awkward_dataset() {
  std::vector<double> v = awkward_doubles();
  std::vector<double> r(v.rbegin(), v.rend());
  Dataset d;
  Index n = static_cast<Index>(v.size());
  d.add("x", Tensor({n}, v));
  d.add("y_reversed", Tensor({n}, r));
  return d;
}

}  // namespace unbox::testing
