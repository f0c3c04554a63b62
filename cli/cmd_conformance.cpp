// unbox conformance DIR: runs the ONNX backend test data (Debian's libonnx-testdata:
// node/, pytorch-converted/, pytorch-operator/, simple/) through ONNX import and the
// engine. A case passes when every output of every data set agrees with the reference
// within |got - ref| <= 1e-6 + 1e-5 |ref| (the references are float32). Cases that use
// something unbox does not support are skipped with the reason. The last line is
// "N passed, M failed, K skipped"; the exit code is 1 when any failed.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
namespace fs = std::filesystem;

struct ConformanceArgs {
  std::string dir;
  std::string only;
  bool verbose = false;
} a;

enum class Outcome { Pass, Fail, Skip };

std::vector<fs::path> sorted_dirs(const fs::path& dir, const std::string& prefix = "") {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (int k = 0;; ++k) {
    fs::path p = dir / fmt::format("{}_{}.pb", prefix, k);
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

Outcome run_case(const fs::path& dir, std::string& reason) {
  OnnxModel m;
  try {
    m = read_onnx((dir / "model.onnx").string());
  } catch (const OnnxUnsupported& e) {
    reason = e.what();
    return Outcome::Skip;
  }
  const auto sets = sorted_dirs(dir, "test_data_set_");
  if (sets.empty()) {
    reason = "no test_data_set_* directory";
    return Outcome::Skip;
  }
  for (const auto& set : sets) {
    auto in_files = numbered_files(set, "input"), out_files = numbered_files(set, "output");
    if (in_files.size() != m.net.input_nodes().size()) {
      reason = fmt::format("{} input files for {} graph inputs (optional inputs given?)", in_files.size(),
                           m.net.input_nodes().size());
      return Outcome::Skip;
    }
    if (out_files.size() != m.outputs.size()) {
      reason = fmt::format("{} output files for {} graph outputs", out_files.size(), m.outputs.size());
      return Outcome::Fail;
    }
    std::vector<Tensor> inputs;
    std::vector<const Tensor*> ptrs;
    Index events = -1;
    for (size_t k = 0; k < in_files.size(); ++k) {
      Shape full;
      inputs.push_back(read_onnx_tensor(in_files[k].string(), full));
      if (full.empty()) {
        reason = "a scalar input (unbox needs an event axis)";
        return Outcome::Skip;
      }
      if (events >= 0 && full[0] != events) {
        reason = "inputs differ in their first (event) axis";
        return Outcome::Skip;
      }
      events = full[0];
      const Node& n = m.net.node(m.net.input_nodes()[k]);
      if (Shape(full.begin() + 1, full.end()) != n.shape) {
        reason = fmt::format("input {} has shape {}; the model declares [events, {}]", k, shape_string(full),
                             shape_string(n.shape));
        return Outcome::Fail;
      }
    }
    for (auto& t : inputs) ptrs.push_back(&t);
    Workspace ws;
    m.net.forward(ptrs, ws);
    for (size_t k = 0; k < out_files.size(); ++k) {
      Shape ref_shape;
      Tensor ref = read_onnx_tensor(out_files[k].string(), ref_shape);
      const Tensor& got = ws.values[static_cast<size_t>(m.output_nodes[k])];
      Shape got_shape = got.shape();
      if (ref_shape != got_shape) {
        reason = fmt::format("output '{}' has shape {}, the reference {}", m.outputs[k], shape_string(got_shape),
                             shape_string(ref_shape));
        return Outcome::Fail;
      }
      for (Index i = 0; i < ref.size(); ++i) {
        const double r = ref[i], g = got[i];
        if (std::isnan(r) && std::isnan(g)) continue;
        if (r == g) continue;  // equal infinities
        if (!(std::abs(g - r) <= 1e-6 + 1e-5 * std::abs(r))) {
          reason = fmt::format("output '{}' element {}: got {} expected {}", m.outputs[k], i, g, r);
          return Outcome::Fail;
        }
      }
    }
  }
  return Outcome::Pass;
}

int run_conformance() {
  fs::path root(a.dir);
  if (!fs::is_directory(root)) throw Error(fmt::format("'{}' is not a directory", a.dir));
  std::vector<fs::path> cases;
  if (fs::exists(root / "model.onnx")) {
    cases.push_back(root);
  } else {
    bool suite = false;
    for (const char* sub : {"node", "pytorch-converted", "pytorch-operator", "simple"})
      if (fs::is_directory(root / sub)) {
        suite = true;
        for (auto& c : sorted_dirs(root / sub)) cases.push_back(c);
      }
    if (!suite)
      for (auto& c : sorted_dirs(root))
        if (fs::exists(c / "model.onnx")) cases.push_back(c);
  }
  if (cases.empty()) throw Error(fmt::format("no ONNX test cases (directories with model.onnx) under '{}'", a.dir));
  Index passed = 0, failed = 0, skipped = 0;
  for (const auto& c : cases) {
    const std::string name = c.parent_path().filename().string() + "/" + c.filename().string();
    if (!a.only.empty() && name.find(a.only) == std::string::npos) continue;
    std::string reason;
    Outcome o;
    try {
      o = run_case(c, reason);
    } catch (const OnnxUnsupported& e) {
      reason = e.what();
      o = Outcome::Skip;
    } catch (const std::exception& e) {
      reason = e.what();
      o = Outcome::Fail;
    }
    switch (o) {
      case Outcome::Pass:
        ++passed;
        if (a.verbose) std::cout << "pass " << name << "\n";
        break;
      case Outcome::Fail:
        ++failed;
        std::cout << "FAIL " << name << ": " << reason << "\n";
        break;
      case Outcome::Skip:
        ++skipped;
        // One short line per skip: drop the model path and the list of supported operators.
        if (auto p = reason.find("model.onnx': "); p != std::string::npos) reason = reason.substr(p + 13);
        if (auto p = reason.find("; unbox supports "); p != std::string::npos) reason.resize(p);
        std::cout << "skip " << name << ": " << reason << "\n";
        break;
    }
  }
  std::cout << fmt::format("{} passed, {} failed, {} skipped\n", passed, failed, skipped);
  return failed > 0 ? 1 : 0;
}
}  // namespace

void register_conformance(CLI::App& app) {
  auto* c = add_command(app, "conformance",
                        "Run the ONNX backend test data (node, pytorch-converted, pytorch-operator, simple) through "
                        "ONNX import and the engine",
                        "unbox conformance /usr/share/libonnx-testdata/data", run_conformance);
  c->add_option("dir", a.dir, "Test data directory (the suite root, one suite, or one case)")->required();
  c->add_option("--only", a.only, "Run only cases whose 'suite/name' contains this text");
  c->add_flag("--verbose", a.verbose, "Also list the cases that pass");
}

}  // namespace unbox::cli
