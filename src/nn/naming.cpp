// Shared names: input elements, the neurons `output` stands for, layer ops.
#include "unbox/naming.hpp"

#include <fmt/format.h>

namespace unbox {

std::vector<std::string> input_element_names(const Network& net, const std::vector<std::string>& columns) {
  std::vector<std::string> out;
  const auto& ids = net.input_nodes();
  for (size_t k = 0; k < ids.size(); ++k) {
    const Node& n = net.node(ids[k]);
    const auto& names = net.feature_names(static_cast<int>(k));
    const Index size = shape_size(n.shape);
    if (n.shape.size() == 1 && static_cast<Index>(names.size()) == size) {
      out.insert(out.end(), names.begin(), names.end());
      continue;
    }
    std::vector<Index> parts(n.shape.size());
    for (Index j = 0; j < size; ++j) {
      Index rem = j;
      for (size_t d = n.shape.size(); d-- > 0;) parts[d] = rem % n.shape[d], rem /= n.shape[d];
      std::string idx;
      for (size_t d = 0; d < parts.size(); ++d) {
        if (d) idx += ',';
        idx += std::to_string(parts[d]);
      }
      out.push_back(fmt::format("{}[{}]", n.name, idx));
    }
  }
  if (!columns.empty() && ids.size() == 1 && columns.size() == out.size()) return columns;
  return out;
}

namespace {
// Values `output` stands for when it is more than one neuron; 0 when it is one.
Index multi_output_width(const Network& net) {
  const Node& n = net.node(net.output_node());
  const Index width = shape_size(n.shape);
  if (width == 1) return 0;
  if (width == 2 && n.op && n.op->type() == "Softmax") return 0;
  return width;
}
}  // namespace

std::vector<std::string> expand_output_neurons(const Network& net, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  const Index width = multi_output_width(net);
  for (const auto& n : names) {
    if (width > 0 && (n == "output" || n == "output:pre")) {
      const std::string suffix = n == "output" ? "" : ":pre";
      for (Index j = 0; j < width; ++j) out.push_back(fmt::format("output[{}]{}", j, suffix));
    } else {
      out.push_back(n);
    }
  }
  return out;
}

std::string output_aliases(const Network& net) {
  auto names = [&](const std::string& alias) {
    std::vector<std::string> refs = expand_output_neurons(net, {alias});
    std::string first = net.neuron_name(net.resolve(refs.front()));
    if (refs.size() == 1) return first;
    return fmt::format("{} .. {}", first, net.neuron_name(net.resolve(refs.back())));
  };
  const Index width = multi_output_width(net);
  std::string out = fmt::format("'output' = {}", names("output"));
  if (width > 0) out += fmt::format(" (output[j] = the j-th of {} values, one per class)", width);
  return out + fmt::format(", 'output:pre' = {}", names("output:pre"));
}

int layer_op_node(const Network& net, const LayerInfo& layer) {
  int id = layer.pre_node;
  while (id > 0 && net.node(id).op && net.node(id).op->type() == "BatchNorm") id = net.node(id).inputs[0];
  return id;
}

}  // namespace unbox
