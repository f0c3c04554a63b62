// unbox convert (alias: export): a model from one format to the other. To ONNX (.onnx):
// standard operators, float64, opset 13, so that ONNX Runtime or TMVA SOFIE can run it, with
// its standardization. To the native format (any other extension): the same graph, so an
// ONNX model keeps its L-names (and its metadata, so its inputs bind to data the same way).
#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct ConvertArgs {
  std::string model, out;
} a;

int run_convert() {
  Network net = load_model(a.model);
  if (extension_of(a.out) == "onnx") {
    export_onnx(net, a.out);
    std::cout << fmt::format("wrote {}: {} nodes, {} trainable parameters, ONNX opset 13, float64\n", a.out,
                             net.nodes().size(), net.parameter_count());
  } else {
    save_network(net, a.out);  // atomic
    std::cout << fmt::format("wrote {}: {} nodes, {} trainable parameters, native unbox model\n", a.out,
                             net.nodes().size(), net.parameter_count());
  }
  return 0;
}
}  // namespace

void register_export(CLI::App& app) {
  auto* c = add_command(app, "convert",
                        "Convert a model between formats: native .unbox <-> ONNX (the output's extension decides; "
                        "'export' is an alias)",
                        "unbox convert --model m.unbox --out m.onnx\n  unbox convert --model m.onnx --out m.unbox",
                        run_convert);
  c->alias("export");
  c->add_option("--model,-m", a.model, "Model file to read: native .unbox or ONNX (chosen by content)")->required();
  c->add_option("--out,-o", a.out, "Model file to write: .onnx for ONNX, any other extension for the native format")
      ->required();
}

}  // namespace unbox::cli
