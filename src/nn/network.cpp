// The graph: building, structure queries, neuron names, batched forward and reverse passes.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "unbox/network.hpp"
#include "unbox/ops.hpp"

namespace unbox {

Network::Network(const Network& o)
    : metadata(o.metadata), inputs_(o.inputs_), feature_names_(o.feature_names_), output_(o.output_) {
  nodes_.reserve(o.nodes_.size());
  for (const Node& n : o.nodes_) nodes_.push_back(Node{n.name, n.op ? n.op->clone() : nullptr, n.inputs, n.shape});
}

Network& Network::operator=(const Network& o) {
  if (this != &o) *this = Network(o);
  return *this;
}

int Network::add_input(const std::string& name, const Shape& shape, std::vector<std::string> feature_names) {
  if (find_node(name) >= 0) throw Error(fmt::format("node name '{}' used twice", name));
  if (!feature_names.empty() && static_cast<Index>(feature_names.size()) != shape_size(shape))
    throw Error(
        fmt::format("input '{}' of shape {} given {} feature names", name, shape_string(shape), feature_names.size()));
  if (feature_names.empty() && shape.size() == 1)
    for (Index j = 0; j < shape[0]; ++j) feature_names.push_back(fmt::format("{}{}", name, j));
  nodes_.push_back(Node{name, nullptr, {}, shape});
  inputs_.push_back(static_cast<int>(nodes_.size()) - 1);
  feature_names_.push_back(std::move(feature_names));
  return inputs_.back();
}

int Network::add_node(const std::string& name, std::unique_ptr<Op> op, const std::vector<int>& inputs) {
  if (find_node(name) >= 0) throw Error(fmt::format("node name '{}' used twice", name));
  std::vector<Shape> shapes;
  for (int i : inputs) {
    if (i < 0 || i >= static_cast<int>(nodes_.size()))
      throw Error(fmt::format("node '{}' fed by a node that does not exist", name));
    shapes.push_back(nodes_[static_cast<size_t>(i)].shape);
  }
  Shape shape;
  try {
    shape = op->infer_shape(shapes);
  } catch (const Error& e) {
    throw Error(fmt::format("node '{}': {}", name, e.what()));
  }
  nodes_.push_back(Node{name, std::move(op), inputs, shape});
  output_ = static_cast<int>(nodes_.size()) - 1;
  return output_;
}

void Network::set_output(int node) {
  if (node < 0 || node >= static_cast<int>(nodes_.size())) throw Error("output node does not exist");
  output_ = node;
}

int Network::find_node(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

Index Network::parameter_count() const {
  Index n = 0;
  for (const Node& node : nodes_)
    if (node.op)
      for (auto& p : node.op->parameters())
        if (p.trainable) n += p.value->size();
  return n;
}

bool Network::is_plain_stack() const {
  if (inputs_.size() != 1 || nodes_.empty()) return false;
  // Nodes are stored in topological order; a chain has node i fed exactly by node i-1,
  // and ends at the output.
  for (size_t i = 1; i < nodes_.size(); ++i)
    if (nodes_[i].inputs.size() != 1 || nodes_[i].inputs[0] != static_cast<int>(i) - 1) return false;
  return inputs_[0] == 0 && output_ == static_cast<int>(nodes_.size()) - 1;
}

std::vector<LayerInfo> Network::layers() const {
  std::vector<LayerInfo> out;
  if (!is_plain_stack()) return out;
  LayerInfo l0;
  l0.number = 0;
  l0.pre_node = l0.post_node = 0;
  l0.width = shape_size(nodes_[0].shape);
  out.push_back(l0);
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const Op& op = *nodes_[i].op;
    if (!op.is_layer()) continue;
    LayerInfo l;
    l.number = static_cast<int>(out.size());
    l.pre_node = l.post_node = static_cast<int>(i);
    l.width = shape_size(nodes_[i].shape);
    for (auto& p : const_cast<Op&>(op).parameters())
      if (p.trainable) l.parameters += p.value->size();
    // A BatchNorm right after the linear op folds into it (as canonization does): the
    // layer's pre-activation is BN(Wx + b) and its activation follows the BatchNorm.
    // (Dropout is an identity at inference and never becomes a node.)
    size_t next = i + 1;
    while (next < nodes_.size() && nodes_[next].op->type() == "BatchNorm") {
      l.pre_node = l.post_node = static_cast<int>(next);
      for (auto& p : const_cast<Op&>(*nodes_[next].op).parameters())
        if (p.trainable) l.parameters += p.value->size();
      ++next;
    }
    if (next < nodes_.size() && nodes_[next].op->is_activation()) {
      l.post_node = static_cast<int>(next);
      l.activation = nodes_[next].op->describe({nodes_[static_cast<size_t>(l.pre_node)].shape});
    }
    out.push_back(l);
  }
  return out;
}

NeuronRef Network::output_neuron() const {
  const Node& n = node(output_);
  Index width = shape_size(n.shape);
  if (width == 1) return {output_, 0};
  if (width == 2 && n.op && n.op->type() == "Softmax") return {output_, 1};
  throw Error(fmt::format("the output '{}' has {} values (one per class); name one as output[j] (j = 0..{}){}", n.name,
                          width, width - 1, layers().empty() ? "" : fmt::format(" or L{}Nj", layers().back().number)));
}

namespace {
bool parse_index(std::string_view s, Index& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v >= 0;
}
}  // namespace

NeuronRef Network::resolve(const std::string& full) const {
  std::string name = full;
  bool pre = false;
  if (name.size() > 4 && name.ends_with(":pre")) {
    pre = true;
    name.resize(name.size() - 4);
  }
  auto layers_ = layers();
  // The value before the final activation: the node feeding it.
  auto before_activation = [&](NeuronRef r) -> NeuronRef {
    const Node& n = node(r.node);
    if (pre && n.op && n.op->is_activation()) return {n.inputs[0], r.index};
    return r;
  };
  if (name == "output") return before_activation(output_neuron());
  // output[j]: value j of the network's output (class j of a softmax), unless a node
  // other than the output is itself named "output".
  if (name.starts_with("output[") && name.back() == ']' &&
      (find_node("output") < 0 || find_node("output") == output_)) {
    Index j;
    if (!parse_index(std::string_view(name).substr(7, name.size() - 8), j))
      throw Error(fmt::format("bad neuron '{}': expected output[index]", full));
    const Index width = shape_size(node(output_).shape);
    if (j >= width)
      throw Error(fmt::format("'{}': the output has {} values, output[0] .. output[{}]", full, width, width - 1));
    return before_activation({output_, j});
  }
  // NODE[j]
  if (auto b = name.find('['); b != std::string::npos && name.back() == ']') {
    int id = find_node(name.substr(0, b));
    Index j;
    if (id < 0) throw Error(fmt::format("no node named '{}' in the network", name.substr(0, b)));
    if (!parse_index(std::string_view(name).substr(b + 1, name.size() - b - 2), j))
      throw Error(fmt::format("bad neuron '{}': expected NODE[index]", full));
    if (pre) throw Error(fmt::format("'{}': ':pre' applies to L-names and output only; name the node instead", full));
    if (j >= shape_size(node(id).shape))
      throw Error(fmt::format("node '{}' has {} values; index {} is out of range", node(id).name,
                              shape_size(node(id).shape), j));
    return {id, j};
  }
  // LkNj
  if (name.size() >= 4 && name[0] == 'L') {
    auto npos = name.find('N');
    Index k, j;
    if (npos != std::string::npos && parse_index(std::string_view(name).substr(1, npos - 1), k) &&
        parse_index(std::string_view(name).substr(npos + 1), j)) {
      if (layers_.empty())
        throw Error(fmt::format("'{}': this network is not a plain stack, so it has no L-names; use NODE[j]", full));
      if (k >= static_cast<Index>(layers_.size()))
        throw Error(fmt::format("'{}': the network has layers L0..L{}", full, layers_.size() - 1));
      const LayerInfo& l = layers_[static_cast<size_t>(k)];
      if (j >= l.width) throw Error(fmt::format("'{}': layer L{} has neurons N0..N{}", full, k, l.width - 1));
      return {pre ? l.pre_node : l.post_node, j};
    }
  }
  throw Error(
      fmt::format("unknown neuron '{}': expected LkNj (e.g. L2N12), LkNj:pre, output, output:pre, output[j] or "
                  "NODE[j]",
                  full));
}

std::string Network::neuron_name(const NeuronRef& ref) const {
  for (const LayerInfo& l : layers()) {
    if (ref.node == l.post_node) return fmt::format("L{}N{}", l.number, ref.index);
    if (ref.node == l.pre_node) return fmt::format("L{}N{}:pre", l.number, ref.index);
  }
  return fmt::format("{}[{}]", node(ref.node).name, ref.index);
}

std::vector<bool> Network::ancestors(int target) const {
  std::vector<bool> need(nodes_.size(), false);
  need[static_cast<size_t>(target)] = true;
  for (int i = target; i >= 0; --i)
    if (need[static_cast<size_t>(i)])
      for (int j : nodes_[static_cast<size_t>(i)].inputs) need[static_cast<size_t>(j)] = true;
  return need;
}

void Network::forward(const std::vector<const Tensor*>& inputs, Workspace& ws, int upto) const {
  if (inputs.size() != inputs_.size())
    throw Error(fmt::format("the network takes {} inputs, {} given", inputs_.size(), inputs.size()));
  const Index batch = inputs[0]->events();
  ws.values.resize(nodes_.size());
  std::vector<bool> need = ancestors(upto >= 0 ? upto : output_);
  if (upto < 0) need.assign(nodes_.size(), true);
  for (size_t k = 0; k < inputs_.size(); ++k) {
    const Tensor& t = *inputs[k];
    const Node& n = nodes_[static_cast<size_t>(inputs_[k])];
    if (t.events() != batch || t.per_event() != shape_size(n.shape))
      throw Error(fmt::format("input '{}' expects per-event shape {}, given {}", n.name, shape_string(n.shape),
                              shape_string(t.shape())));
    Tensor& v = ws.values[static_cast<size_t>(inputs_[k])];
    Shape s{batch};
    s.insert(s.end(), n.shape.begin(), n.shape.end());
    v.resize(s);
    std::copy_n(t.data(), t.size(), v.data());
  }
  std::vector<const Tensor*> in;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.is_input() || !need[i]) continue;
    in.clear();
    for (int j : n.inputs) in.push_back(&ws.values[static_cast<size_t>(j)]);
    Shape s{batch};
    s.insert(s.end(), n.shape.begin(), n.shape.end());
    ws.values[i].resize(s);
    n.op->forward(in, ws.values[i]);
  }
}

void Network::backward(Workspace& ws, int target, const Tensor& seed, std::vector<std::vector<Tensor>>* pgrad) const {
  std::vector<bool> need = ancestors(target);
  ws.grads.resize(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (need[i]) {
      ws.grads[i].resize(ws.values[i].shape());
      ws.grads[i].fill(0.0);
    }
  Tensor& g0 = ws.grads[static_cast<size_t>(target)];
  std::copy_n(seed.data(), g0.size(), g0.data());
  std::vector<const Tensor*> in;
  std::vector<Tensor*> gin;
  for (int i = target; i >= 0; --i) {
    const Node& n = nodes_[static_cast<size_t>(i)];
    if (!need[static_cast<size_t>(i)] || n.is_input()) continue;
    in.clear();
    gin.clear();
    for (int j : n.inputs) {
      in.push_back(&ws.values[static_cast<size_t>(j)]);
      gin.push_back(&ws.grads[static_cast<size_t>(j)]);
    }
    n.op->backward(in, ws.values[static_cast<size_t>(i)], ws.grads[static_cast<size_t>(i)], gin,
                   pgrad ? &(*pgrad)[static_cast<size_t>(i)] : nullptr);
  }
}

std::vector<std::vector<Tensor>> Network::make_parameter_buffers() const {
  std::vector<std::vector<Tensor>> out(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op)
      for (const Tensor* p : nodes_[i].op->parameter_values()) out[i].emplace_back(p->shape(), 0.0);
  return out;
}

}  // namespace unbox
