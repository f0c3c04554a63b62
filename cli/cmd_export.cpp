// unbox export: write a model as ONNX (standard operators, float64, opset 13), so that
// ONNX Runtime or TMVA SOFIE can run it; the standardization goes with it.
#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct ExportArgs {
  std::string model, out;
} a;

int run_export() {
  if (extension_of(a.out) != "onnx") throw Error(fmt::format("--out '{}' must end in .onnx", a.out));
  Network net = load_model(a.model);
  export_onnx(net, a.out);
  std::cout << fmt::format("wrote {}: {} nodes, {} trainable parameters, opset 13, float64\n", a.out,
                           net.nodes().size(), net.parameter_count());
  return 0;
}
}  // namespace

void register_export(CLI::App& app) {
  auto* c = add_command(app, "export", "Write a model as ONNX (standard operators, float64, with its standardization)",
                        "unbox export --model m.unbox --out m.onnx", run_export);
  c->add_option("--model", a.model, "Model file (.unbox or .onnx)")->required();
  c->add_option("--out", a.out, "ONNX file to write (.onnx)")->required();
}

}  // namespace unbox::cli
