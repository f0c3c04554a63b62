#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/onnx.hpp"
#include "unbox/ops.hpp"

namespace unbox::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false;
} a;

int run_info() {
  Network net = load_model(a.model);
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["parameters"] = net.parameter_count();
    j["plain_stack"] = net.is_plain_stack();
    nlohmann::json inputs = nlohmann::json::array();
    for (size_t k = 0; k < net.input_nodes().size(); ++k) {
      const Node& n = net.node(net.input_nodes()[k]);
      inputs.push_back({{"name", n.name}, {"shape", n.shape}, {"features", net.feature_names(static_cast<int>(k))}});
    }
    j["inputs"] = inputs;
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : net.layers())
      layers.push_back({{"layer", fmt::format("L{}", l.number)},
                        {"width", l.width},
                        {"activation", l.activation},
                        {"parameters", l.parameters}});
    j["layers"] = layers;
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& n : net.nodes())
      nodes.push_back({{"name", n.name}, {"op", n.is_input() ? "Input" : n.op->type()}, {"shape", n.shape}});
    j["nodes"] = nodes;
    j["metadata"] = net.metadata;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("model {}  ({})\n", a.model, net.metadata.value("architecture", std::string("custom")));
  // An ONNX model names no data columns (unless unbox exported it): say what it reads.
  if (is_onnx_network(net) && !net.metadata.value("onnx_feature_names", false))
    std::cout << onnx_input_summary(net);
  else
    for (size_t k = 0; k < net.input_nodes().size(); ++k) {
      const Node& n = net.node(net.input_nodes()[k]);
      const auto& f = net.feature_names(static_cast<int>(k));
      std::string names;
      for (size_t i = 0; i < f.size(); ++i) names += (i ? ", " : "") + f[i];
      std::cout << fmt::format("input '{}' {}: {}\n", n.name, shape_string(n.shape), names);
    }
  // The standardization, in physical units.
  for (const auto& n : net.nodes())
    if (n.op && n.op->type() == "Standardize" && net.node(n.inputs[0]).is_input() && net.input_nodes().size() == 1) {
      const auto& s = static_cast<const Standardize&>(*n.op);
      const auto& f = net.feature_names(0);
      std::cout << "standardization (mean, std):";
      for (size_t i = 0; i < f.size() && i < 40; ++i)
        std::cout << fmt::format("{} {}={:.4g}/{:.4g}", i ? "," : "", f[i], s.mean()[static_cast<Index>(i)],
                                 s.stddev()[static_cast<Index>(i)]);
      std::cout << (f.size() > 40 ? ", ...\n" : "\n");
    }
  std::cout << layer_table(net);
  if (net.metadata.contains("training")) {
    const auto& t = net.metadata["training"];
    std::cout << fmt::format("trained on {} ({} events), loss {}, best epoch {} of {}, validation AUC {:.4f}\n",
                             t.value("data", std::string("?")), t.value("train_events", Index{0}),
                             t.value("loss", std::string("?")), t.value("best_epoch", Index{0}),
                             t.value("epochs_run", Index{0}), t.value("best_val_auc", 0.0));
  }
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
