#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
} a;

int run_info() {
  Network net = load_model(a.model);
  if (a.json)
    std::cout << model_info(net, a.model).dump(2) << "\n";
  else
    std::cout << model_summary(net, a.model);
  return 0;
}
}  // namespace

void register_info(CLI::App& app) {
  auto* c = add_command(app, "info", "Show a model's inputs, standardization and layer table with neuron names",
                        "unbox info --model m.unbox", run_info);
  c->add_option("--model", a.model, "Model file (.unbox)")->required();
  c->add_flag("--json", a.json, "Print as JSON");
}

}  // namespace unbox::cli
