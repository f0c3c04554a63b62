// Describing a model, for `unbox info` and the Python module's Model.info() / summary():
// the JSON (inputs, layers, nodes, metadata) and the text (inputs, standardization, layer
// table, training). One place, so both front ends show the same.
#include <fmt/format.h>

#include <algorithm>

#include "unbox/naming.hpp"
#include "unbox/onnx.hpp"
#include "unbox/ops.hpp"

namespace unbox {

std::string layer_table(const Network& net) {
  std::string out;
  auto layers = net.layers();
  if (!layers.empty()) {
    // The op column fits the widest description ("Dense 128 -> 64 + BN").
    size_t opw = 14;
    for (const LayerInfo& l : layers)
      if (l.number > 0)
        opw = std::max(opw, net.node(layer_op_node(net, l)).op->describe({}).size() +
                                (layer_op_node(net, l) != l.pre_node ? 5 : 0));
    out += fmt::format("{:<6} {:<{}} {:>6} {:<16} {:>9}  {}\n", "layer", "op", opw, "width", "activation", "params",
                       "neurons");
    Index total = 0;
    for (const LayerInfo& l : layers) {
      std::string op = l.number == 0 ? "input" : net.node(layer_op_node(net, l)).op->describe({});
      if (l.number > 0 && layer_op_node(net, l) != l.pre_node) op += " + BN";  // folded BatchNorm
      std::string neurons = l.width == 1 ? fmt::format("L{}N0", l.number)
                                         : fmt::format("L{}N0 .. L{}N{}", l.number, l.number, l.width - 1);
      out += fmt::format("{:<6} {:<{}} {:>6} {:<16} {:>9}  {}\n", fmt::format("L{}", l.number), op, opw, l.width,
                         l.activation.empty() ? "-" : l.activation, l.parameters, neurons);
      total += l.parameters;
    }
    out += fmt::format("{} trainable parameters; {}\n", total, output_aliases(net));
    return out;
  }
  out += fmt::format("{:<4} {:<16} {:<22} {:<16} {}\n", "id", "node", "op", "shape", "inputs");
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    const Node& n = net.nodes()[i];
    std::string ins;
    for (int j : n.inputs) ins += (ins.empty() ? "" : ", ") + net.node(j).name;
    out += fmt::format("{:<4} {:<16} {:<22} {:<16} {}\n", i, n.name, n.is_input() ? "input" : n.op->describe({}),
                       shape_string(n.shape), ins);
  }
  out += fmt::format("{} trainable parameters; neurons are named NODE[j]\n", net.parameter_count());
  return out;
}

nlohmann::json model_info(const Network& net, const std::string& model) {
  nlohmann::json j;
  j["model"] = model;
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
  return j;
}

std::string model_summary(const Network& net, const std::string& model) {
  std::string out = fmt::format("model {}  ({})\n", model, net.metadata.value("architecture", std::string("custom")));
  // An ONNX model names no data columns (unless unbox exported it): say what it reads.
  if (is_onnx_network(net) && !net.metadata.value("onnx_feature_names", false)) {
    out += onnx_input_summary(net);
  } else {
    for (size_t k = 0; k < net.input_nodes().size(); ++k) {
      const Node& n = net.node(net.input_nodes()[k]);
      const auto& f = net.feature_names(static_cast<int>(k));
      std::string names;
      for (size_t i = 0; i < f.size(); ++i) names += (i ? ", " : "") + f[i];
      out += fmt::format("input '{}' {}: {}\n", n.name, shape_string(n.shape), names);
    }
  }
  // The standardization, in physical units.
  for (const auto& n : net.nodes())
    if (n.op && n.op->type() == "Standardize" && net.node(n.inputs[0]).is_input() && net.input_nodes().size() == 1) {
      const auto& s = static_cast<const Standardize&>(*n.op);
      const auto& f = net.feature_names(0);
      out += "standardization (mean, std):";
      for (size_t i = 0; i < f.size() && i < 40; ++i)
        out += fmt::format("{} {}={:.4g}/{:.4g}", i ? "," : "", f[i], s.mean()[static_cast<Index>(i)],
                           s.stddev()[static_cast<Index>(i)]);
      out += f.size() > 40 ? ", ...\n" : "\n";
    }
  out += layer_table(net);
  if (net.metadata.contains("training")) {
    const auto& t = net.metadata["training"];
    out += fmt::format("trained on {} ({} events), loss {}, best epoch {} of {}, validation AUC {:.4f}\n",
                       t.value("data", std::string("?")), t.value("train_events", Index{0}),
                       t.value("loss", std::string("?")), t.value("best_epoch", Index{0}),
                       t.value("epochs_run", Index{0}), t.value("best_val_auc", 0.0));
  }
  return out;
}

}  // namespace unbox
