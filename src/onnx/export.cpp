// ONNX export: any unbox network as an ONNX graph of standard operators (opset 13,
// float64), so that ONNX Runtime or TMVA SOFIE can run it. The computations are written
// so that import gives back the same operations in the same order, hence bit-identical
// outputs: Standardize becomes Sub then Mul by 1/std (the engine multiplies by the
// inverse too), Dense becomes Gemm with transB = 1.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "unbox/events.hpp"
#include "unbox/onnx.hpp"
#include "unbox/ops.hpp"

namespace unbox {

namespace {

constexpr int kOpset = 13;

class Exporter {
 public:
  explicit Exporter(const Network& net) : net_(net) {}

  onnx::ModelProto run();

 private:
  const Network& net_;
  onnx::GraphProto* graph_ = nullptr;
  int counter_ = 0;

  std::string tensor_name(int id) const { return net_.node(id).name; }
  std::string fresh(const std::string& base) { return fmt::format("{}/{}", base, counter_++); }

  // An initializer holding `values` (float64) with the given shape; returns its name.
  std::string initializer(const std::string& name, const Shape& shape, const double* values) {
    auto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::DOUBLE);
    for (Index d : shape) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values), static_cast<size_t>(shape_size(shape)) * 8));
    return name;
  }
  std::string int_initializer(const std::string& name, const std::vector<Index>& values) {
    auto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<Index>(values.size()));
    for (Index v : values) t->add_int64_data(v);
    return name;
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in, const std::string& out) {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void set_int(onnx::NodeProto* n, const char* name, Index v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void set_float(onnx::NodeProto* n, const char* name, double v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(v));
  }
  static void set_ints(onnx::NodeProto* n, const char* name, const std::vector<Index>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (Index x : v) a->add_ints(x);
  }
  static void set_value_info(onnx::ValueInfoProto* v, const std::string& name, const Shape& event_shape) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::DOUBLE);
    auto* s = tt->mutable_shape();
    s->add_dim()->set_dim_param("events");
    for (Index d : event_shape) s->add_dim()->set_dim_value(d);
  }
  void window(onnx::NodeProto* n, const Window& w) {
    set_ints(n, "kernel_shape", w.kernel);
    set_ints(n, "strides", w.strides);
    set_ints(n, "pads", w.pads);
  }
  void export_node(int id);
};

onnx::ModelProto Exporter::run() {
  onnx::ModelProto model;
  model.set_ir_version(7);  // ONNX 1.8+, any runtime of the last years reads it
  model.set_producer_name("unbox");
  model.set_producer_version("0.1.0");
  auto* os = model.add_opset_import();
  os->set_domain("");
  os->set_version(kOpset);
  graph_ = model.mutable_graph();
  graph_->set_name(net_.metadata.value("architecture", std::string("unbox")));
  for (size_t k = 0; k < net_.input_nodes().size(); ++k) {
    const Node& n = net_.node(net_.input_nodes()[k]);
    set_value_info(graph_->add_input(), n.name, n.shape);
    // The data columns a flat input reads travel with the model (unbox reads them back);
    // a model without column names (imported from ONNX) stays without them.
    if (n.shape.size() == 1 && model_names_columns(net_)) {
      std::string cols;
      for (const auto& c : net_.feature_names(static_cast<int>(k))) cols += (cols.empty() ? "" : ",") + c;
      auto* p = model.add_metadata_props();
      p->set_key("unbox:features:" + n.name);
      p->set_value(cols);
    }
  }
  const std::vector<bool> need = net_.ancestors(net_.output_node());
  for (size_t i = 0; i < net_.nodes().size(); ++i)
    if (need[i] && !net_.nodes()[i].is_input()) export_node(static_cast<int>(i));
  const Node& out = net_.node(net_.output_node());
  set_value_info(graph_->add_output(), out.name, out.shape);
  return model;
}

void Exporter::export_node(int id) {
  const Node& nd = net_.node(id);
  const Op& op = *nd.op;
  const std::string out = nd.name;
  std::vector<std::string> in;
  for (int j : nd.inputs) in.push_back(tensor_name(j));
  const std::string type = op.type();
  auto unsupported = [&](const std::string& why) -> Error {
    return Error(fmt::format("cannot export node '{}' ({}) to ONNX: {}", out, type, why));
  };
  if (type == "Standardize") {
    const auto& s = static_cast<const Standardize&>(op);
    Shape shape = s.mean().shape();
    std::vector<double> inv(static_cast<size_t>(s.stddev().size()));
    for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0 / s.stddev()[static_cast<Index>(i)];
    const std::string centered = fresh(out + "/centered");
    node("Sub", {in[0], initializer(out + "/mean", shape, s.mean().data())}, centered);
    node("Mul", {centered, initializer(out + "/inv_std", shape, inv.data())}, out);
    return;
  }
  if (type == "Dense") {
    const auto& d = static_cast<const Dense&>(op);
    auto* n = node("Gemm",
                   {in[0], initializer(out + "/weight", d.weight().shape(), d.weight().data()),
                    initializer(out + "/bias", d.bias().shape(), d.bias().data())},
                   out);
    set_int(n, "transB", 1);
    return;
  }
  if (op.is_activation() && dynamic_cast<const Activation*>(&op)) {
    const auto& a = static_cast<const Activation&>(op);
    switch (a.kind()) {
      case ActivationKind::Identity:
        node("Identity", in, out);
        return;
      case ActivationKind::ReLU:
        node("Relu", in, out);
        return;
      case ActivationKind::LeakyReLU:
        set_float(node("LeakyRelu", in, out), "alpha", a.alpha());
        return;
      case ActivationKind::Tanh:
        node("Tanh", in, out);
        return;
      case ActivationKind::Sigmoid:
        node("Sigmoid", in, out);
        return;
      case ActivationKind::ELU:
        set_float(node("Elu", in, out), "alpha", a.alpha());
        return;
      case ActivationKind::SELU:
        node("Selu", in, out);
        return;
      case ActivationKind::Softplus:
        node("Softplus", in, out);
        return;
    }
  }
  if (type == "Softmax" || type == "LogSoftmax") {
    const auto& s = static_cast<const Softmax&>(op);
    if (s.flatten()) throw unsupported("softmax over several axes at once");
    const Index axis = s.axis() == Softmax::kLastAxis ? -1 : s.axis() + 1;
    return set_int(node(s.log() ? "LogSoftmax" : "Softmax", in, out), "axis", axis);
  }
  if (type == "Concat") return set_int(node("Concat", in, out), "axis", static_cast<const Concat&>(op).axis() + 1);
  if (type == "Binary") {
    const auto& b = static_cast<const Binary&>(op);
    static const char* names[] = {"Add", "Sub", "Mul", "Div"};
    const char* name = names[static_cast<int>(b.kind())];
    if (b.side() == Binary::ConstSide::None && in.size() != 2) {  // a sum of 1 or 3+ inputs: a chain of Adds
      std::string acc = in[0];
      for (size_t k = 1; k < in.size(); ++k) {
        const std::string step = k + 1 == in.size() ? out : fresh(out + "/sum");
        node("Add", {acc, in[k]}, step);
        acc = step;
      }
      if (in.size() == 1) node("Identity", in, out);
      return;
    }
    if (b.side() == Binary::ConstSide::None) return void(node(name, in, out));
    std::string c = initializer(out + "/constant", b.constant().shape(), b.constant().data());
    if (b.side() == Binary::ConstSide::Left) return void(node(name, {c, in[0]}, out));
    return void(node(name, {in[0], c}, out));
  }
  if (type == "PRelu") {
    const auto& p = static_cast<const PRelu&>(op);
    node("PRelu", {in[0], initializer(out + "/slope", p.slope().shape(), p.slope().data())}, out);
    return;
  }
  if (type == "Conv") {
    const auto& c = static_cast<const Conv&>(op);
    auto* n = node("Conv",
                   {in[0], initializer(out + "/weight", c.weight().shape(), c.weight().data()),
                    initializer(out + "/bias", c.bias().shape(), c.bias().data())},
                   out);
    window(n, c.window());
    set_ints(n, "dilations", c.window().dilations);
    set_int(n, "group", c.groups());
    return;
  }
  if (type == "MaxPool" || type == "AveragePool") {
    const auto& p = static_cast<const Pool&>(op);
    auto* n = node(type, in, out);
    window(n, p.window());
    set_int(n, "ceil_mode", p.window().ceil_mode ? 1 : 0);
    if (p.kind() == PoolKind::Max) {
      set_ints(n, "dilations", p.window().dilations);
    } else {
      // AveragePool has dilations only from opset 19.
      for (Index d : p.window().dilations)
        if (d != 1) throw unsupported("average pooling with dilations needs opset 19");
      set_int(n, "count_include_pad", p.count_include_pad() ? 1 : 0);
    }
    return;
  }
  if (type == "BatchNorm") {
    const auto& b = static_cast<const BatchNorm&>(op);
    auto* n = node("BatchNormalization",
                   {in[0], initializer(out + "/scale", b.scale().shape(), b.scale().data()),
                    initializer(out + "/bias", b.bias().shape(), b.bias().data()),
                    initializer(out + "/mean", b.mean().shape(), b.mean().data()),
                    initializer(out + "/var", b.var().shape(), b.var().data())},
                   out);
    set_float(n, "epsilon", b.epsilon());
    return;
  }
  if (type == "Reshape") {
    std::vector<Index> target{0};  // 0: keep the event axis
    for (Index d : nd.shape) target.push_back(d);
    node("Reshape", {in[0], int_initializer(out + "/shape", target)}, out);
    return;
  }
  if (type == "Pad") {
    const auto& pads = static_cast<const Pad&>(op).pads();
    const size_t r = pads.size() / 2;
    std::vector<Index> all{0};  // the event axis is never padded
    all.insert(all.end(), pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(r));
    all.push_back(0);
    all.insert(all.end(), pads.begin() + static_cast<std::ptrdiff_t>(r), pads.end());
    node("Pad", {in[0], int_initializer(out + "/pads", all)}, out);
    return;
  }
  if (type == "Transpose") {
    std::vector<Index> perm{0};
    for (Index p : static_cast<const Transpose&>(op).perm()) perm.push_back(p + 1);
    set_ints(node("Transpose", in, out), "perm", perm);
    return;
  }
  throw unsupported("no standard ONNX operator for it");
}

}  // namespace

void export_onnx(const Network& net, const std::string& path) {
  onnx::ModelProto model = Exporter(net).run();
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error(fmt::format("could not serialize the ONNX model for '{}'", path));
  write_text_atomically(path, bytes);
}

}  // namespace unbox
