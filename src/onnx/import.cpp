// ONNX import: ModelProto -> Network. Each graph node maps to an unbox operation; the
// values that do not depend on the graph's inputs (initializers, Constant nodes and
// shapes) are kept as constants and folded into the operations that use them. The first
// axis of every graph input is the event axis; operations that would mix events (an axis
// 0 softmax, a reshape of the batch axis) are reported as unsupported.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include "unbox/data.hpp"
#include "unbox/onnx.hpp"
#include "unbox/ops.hpp"

namespace unbox {

const std::vector<std::string>& onnx_supported_ops() {
  static const std::vector<std::string> ops = {"Add",           "AveragePool", "BatchNormalization",
                                               "Concat",        "Constant",    "Conv",
                                               "Div",           "Dropout",     "Elu",
                                               "Flatten",       "Gemm",        "GlobalAveragePool",
                                               "GlobalMaxPool", "Identity",    "LeakyRelu",
                                               "LogSoftmax",    "MatMul",      "MaxPool",
                                               "Mul",           "Pad",         "PRelu",
                                               "ReduceMean",    "ReduceSum",   "Relu",
                                               "Reshape",       "Selu",        "Sigmoid",
                                               "Softmax",       "Softplus",    "Squeeze",
                                               "Sub",           "Sum",         "Tanh",
                                               "Transpose",     "Unsqueeze"};
  return ops;
}

namespace {

std::string supported_list() {
  std::string s;
  for (const auto& op : onnx_supported_ops()) s += (s.empty() ? "" : ", ") + op;
  return s;
}

// A value known at import time: initializer, Constant output, or shape.
struct Constant {
  Shape shape;                 // full ONNX shape
  std::vector<double> values;  // row-major
  bool integer = false;
};

// A value computed by the network: node id and full ONNX shape ([events, ...]).
struct Value {
  int node;
  Shape shape;
};

// Float attributes are stored as float32; the value meant is nearly always the shortest
// decimal that rounds to it (0.1f stands for 0.1). Reading it back that way lets a model
// exported from double-precision PyTorch (LeakyReLU(0.1)) reproduce PyTorch exactly.
double float_attribute(float f) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, f);
  if (ec != std::errc()) return f;
  *p = 0;
  return std::strtod(buf, nullptr);
}

const char* type_name(int t) {
  switch (t) {
    case onnx::TensorProto::FLOAT:
      return "float32";
    case onnx::TensorProto::DOUBLE:
      return "float64";
    case onnx::TensorProto::INT64:
      return "int64";
    case onnx::TensorProto::INT32:
      return "int32";
    case onnx::TensorProto::FLOAT16:
      return "float16";
    case onnx::TensorProto::BOOL:
      return "bool";
    case onnx::TensorProto::STRING:
      return "string";
    case onnx::TensorProto::UINT8:
      return "uint8";
    case onnx::TensorProto::INT8:
      return "int8";
    default:
      return "non-float";
  }
}

// Values of a TensorProto in double; Error on inconsistent sizes.
Constant tensor_values(const onnx::TensorProto& t, const std::string& where) {
  Constant c;
  for (auto d : t.dims()) {
    if (d < 0) throw Error(fmt::format("{}: tensor '{}' has a negative dimension", where, t.name()));
    c.shape.push_back(d);
  }
  // The element count, guarded against overflow; checked against the data the file holds
  // (below) before anything is allocated.
  std::uint64_t count = 1;
  for (Index d : c.shape) count = saturating_product(count, static_cast<std::uint64_t>(d));
  if (count > static_cast<std::uint64_t>(std::numeric_limits<Index>::max() / 8))
    throw Error(fmt::format("{}: tensor '{}' of shape {} claims {} values, more than any file holds", where, t.name(),
                            shape_string(c.shape), count));
  const Index n = static_cast<Index>(count);
  if (t.has_data_location() && t.data_location() == onnx::TensorProto::EXTERNAL)
    throw OnnxUnsupported(fmt::format("{}: tensor '{}' keeps its data in an external file", where, t.name()));
  const int type = t.data_type();
  const bool raw = t.has_raw_data();
  size_t width = 0;
  switch (type) {
    case onnx::TensorProto::FLOAT:
      width = 4;
      break;
    case onnx::TensorProto::DOUBLE:
      width = 8;
      break;
    case onnx::TensorProto::INT64:
      width = 8, c.integer = true;
      break;
    case onnx::TensorProto::INT32:
      width = 4, c.integer = true;
      break;
    default:
      throw OnnxUnsupported(
          fmt::format("{}: tensor '{}' has type {} (non-float type; unbox reads float32, float64 "
                      "and int64 shapes)",
                      where, t.name(), type_name(type)));
  }
  auto mismatch = [&](size_t have) {
    return Error(fmt::format("{}: tensor '{}' of shape {} holds {} values (corrupt file?)", where, t.name(),
                             shape_string(c.shape), have));
  };
  {
    size_t have = 0;
    if (raw)
      have = t.raw_data().size() / width;
    else if (type == onnx::TensorProto::FLOAT)
      have = static_cast<size_t>(t.float_data_size());
    else if (type == onnx::TensorProto::DOUBLE)
      have = static_cast<size_t>(t.double_data_size());
    else if (type == onnx::TensorProto::INT64)
      have = static_cast<size_t>(t.int64_data_size());
    else
      have = static_cast<size_t>(t.int32_data_size());
    if (have != static_cast<size_t>(n) || (raw && t.raw_data().size() % width != 0)) throw mismatch(have);
  }
  c.values.resize(static_cast<size_t>(n));
  if (raw) {
    const std::string& r = t.raw_data();
    if (r.size() != static_cast<size_t>(n) * width) throw mismatch(r.size() / width);
    for (Index i = 0; i < n; ++i) {
      const char* p = r.data() + static_cast<size_t>(i) * width;
      switch (type) {
        case onnx::TensorProto::FLOAT: {
          float v;
          std::memcpy(&v, p, 4);
          c.values[static_cast<size_t>(i)] = v;
          break;
        }
        case onnx::TensorProto::DOUBLE: {
          double v;
          std::memcpy(&v, p, 8);
          c.values[static_cast<size_t>(i)] = v;
          break;
        }
        case onnx::TensorProto::INT64: {
          std::int64_t v;
          std::memcpy(&v, p, 8);
          c.values[static_cast<size_t>(i)] = static_cast<double>(v);
          break;
        }
        default: {
          std::int32_t v;
          std::memcpy(&v, p, 4);
          c.values[static_cast<size_t>(i)] = v;
          break;
        }
      }
    }
    return c;
  }
  auto copy = [&](const auto& field) {
    if (static_cast<Index>(field.size()) != n) throw mismatch(static_cast<size_t>(field.size()));
    for (Index i = 0; i < n; ++i)
      c.values[static_cast<size_t>(i)] = static_cast<double>(field.Get(static_cast<int>(i)));
  };
  switch (type) {
    case onnx::TensorProto::FLOAT:
      copy(t.float_data());
      break;
    case onnx::TensorProto::DOUBLE:
      copy(t.double_data());
      break;
    case onnx::TensorProto::INT64:
      copy(t.int64_data());
      break;
    default:
      copy(t.int32_data());
      break;
  }
  return c;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open {} '{}': {}", what, path, std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const auto bytes = static_cast<std::streamoff>(in.tellg());
  in.seekg(0, std::ios::beg);
  // The file, and protobuf's parsed copy of it.
  if (bytes > 0)
    check_memory(fmt::format("reading {} '{}'", what, path), saturating_product(static_cast<std::uint64_t>(bytes), 2));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Shape event_shape(const Shape& full) { return Shape(full.begin() + 1, full.end()); }

Shape with_batch(const Shape& event, Index batch) {
  Shape s{batch};
  s.insert(s.end(), event.begin(), event.end());
  return s;
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, const std::string& path) : model_(model), path_(path) {}

  OnnxModel run();

 private:
  const onnx::ModelProto& model_;
  std::string path_;
  OnnxModel out_;
  Index opset_ = 0;
  Index batch_ = -1;  // the graph's declared event count when fixed (for Reshape targets)
  std::map<std::string, Constant> consts_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::set<int> matmul_nodes_;  // Dense nodes made from a MatMul, whose bias an Add may fill
  const onnx::NodeProto* node_ = nullptr;
  bool has_feature_names_ = false;  // column names came with the model (unbox export)

  // --- messages ---
  std::string where() const {
    return fmt::format("ONNX model '{}': node '{}' ({}, opset {})", path_, node_name(), node_->op_type(), opset_);
  }
  std::string node_name() const { return node_->name().empty() ? node_->output(0) : node_->name(); }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw OnnxUnsupported(fmt::format("{}: {}", where(), what));
  }
  [[noreturn]] void bad(const std::string& what) const { throw Error(fmt::format("{}: {}", where(), what)); }

  // --- attributes ---
  const onnx::AttributeProto* attr(const char* name) const {
    for (const auto& a : node_->attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  Index int_attr(const char* name, Index def) const {
    auto* a = attr(name);
    return a ? a->i() : def;
  }
  double float_attr(const char* name, double def) const {
    auto* a = attr(name);
    return a ? float_attribute(a->f()) : def;
  }
  std::string string_attr(const char* name, const std::string& def) const {
    auto* a = attr(name);
    return a ? a->s() : def;
  }
  std::vector<Index> ints_attr(const char* name) const {
    std::vector<Index> v;
    if (auto* a = attr(name))
      for (auto x : a->ints()) v.push_back(x);
    return v;
  }
  // Attributes that must hold a given value (else unsupported).
  void require_int(const char* name, Index want, const std::string& why) const {
    if (auto* a = attr(name); a && a->i() != want) unsupported(fmt::format("attribute {}={} ({})", name, a->i(), why));
  }

  // --- inputs ---
  size_t input_count() const { return static_cast<size_t>(node_->input_size()); }
  bool has_input(size_t k) const { return k < input_count() && !node_->input(static_cast<int>(k)).empty(); }
  const std::string& in_name(size_t k) const { return node_->input(static_cast<int>(k)); }
  bool is_const(size_t k) const { return consts_.count(in_name(k)) > 0; }
  const Constant& constant(size_t k) const {
    auto it = consts_.find(in_name(k));
    if (it == consts_.end())
      unsupported(
          fmt::format("input {} ('{}') must be a constant (an initializer or Constant); it is computed from "
                      "the graph's inputs",
                      k, in_name(k)));
    return it->second;
  }
  const Value& value(size_t k) const {
    auto it = values_.find(in_name(k));
    if (it != values_.end()) return it->second;
    if (consts_.count(in_name(k)))
      unsupported(
          fmt::format("input {} ('{}') is a constant; unbox computes only on values that depend on the "
                      "graph's inputs",
                      k, in_name(k)));
    bad(fmt::format("input '{}' is not defined before this node", in_name(k)));
  }
  std::vector<Index> const_ints(size_t k) const {
    const Constant& c = constant(k);
    std::vector<Index> v;
    for (double x : c.values) v.push_back(static_cast<Index>(x));
    return v;
  }
  // A per-event axis from an ONNX axis of a tensor of full rank `rank`; axis 0 is the event axis.
  Index event_axis(Index axis, Index rank, const char* what) const {
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) bad(fmt::format("{} {} outside a tensor of rank {}", what, axis, rank));
    if (axis == 0) unsupported(fmt::format("{} 0 is the event (batch) axis; unbox treats events independently", what));
    return axis - 1;
  }

  // --- outputs ---
  void only_first_output(const std::string& why) const {
    for (int k = 1; k < node_->output_size(); ++k)
      if (!node_->output(k).empty() && uses_.count(node_->output(k)))
        unsupported(fmt::format("output {} ('{}') is used; {}", k, node_->output(k), why));
  }
  int add(std::unique_ptr<Op> op, const std::vector<int>& inputs) {
    const std::string& name = node_->output(0);
    int id;
    try {
      id = out_.net.add_node(name, std::move(op), inputs);
    } catch (const OnnxUnsupported&) {
      throw;
    } catch (const Error& e) {
      bad(e.what());
    }
    Shape s = with_batch(out_.net.node(id).shape, batch_of(inputs));
    values_[name] = Value{id, s};
    return id;
  }
  Index batch_of(const std::vector<int>&) const { return batch_; }
  void alias(const Value& v) { values_[node_->output(0)] = v; }

  // A constant as a per-event operand of an elementwise op with a value of full rank r.
  Tensor event_constant(const Constant& c, Index r) const {
    Shape s = c.shape;
    if (static_cast<Index>(s.size()) > r)
      unsupported(
          fmt::format("constant of shape {} has a higher rank than the tensor it combines with", shape_string(s)));
    if (static_cast<Index>(s.size()) == r) {
      if (s[0] != 1) unsupported(fmt::format("constant of shape {} varies along the event axis", shape_string(s)));
      s.erase(s.begin());
    }
    return Tensor(with_batch(s, 1), c.values);
  }

  void import_node();
  void activation(ActivationKind kind, double alpha = 0);
  void gemm();
  void matmul();
  void binary(BinaryKind kind);
  void conv();
  void pool(PoolKind kind, bool global);
  void batchnorm();
  void softmax(bool log);
  void reshape_to(const Shape& full_target);
  Window window_from_attributes(const Shape& in_full, const std::vector<Index>& kernel);
};

OnnxModel Importer::run() {
  const auto& g = model_.graph();
  for (const auto& op : model_.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  if (opset_ == 0) opset_ = 1;
  out_.opset = opset_;
  if (opset_ > 17)
    throw OnnxUnsupported(fmt::format("ONNX model '{}' uses opset {}; unbox reads opsets 1 to 17", path_, opset_));
  for (const auto& t : g.initializer()) consts_[t.name()] = tensor_values(t, fmt::format("ONNX model '{}'", path_));
  for (const auto& n : g.node())
    for (const auto& i : n.input()) ++uses_[i];
  for (const auto& o : g.output()) ++uses_[o.name()];
  // Graph inputs that are not initializers become the network's inputs.
  for (const auto& in : g.input()) {
    if (consts_.count(in.name())) continue;
    const std::string where = fmt::format("ONNX model '{}': input '{}'", path_, in.name());
    if (!in.type().has_tensor_type()) throw OnnxUnsupported(where + " is not a tensor");
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::FLOAT && tt.elem_type() != onnx::TensorProto::DOUBLE)
      throw OnnxUnsupported(fmt::format("{} has type {} (non-float type)", where, type_name(tt.elem_type())));
    if (!tt.has_shape() || tt.shape().dim_size() == 0)
      throw OnnxUnsupported(where + " has no shape or is a scalar; unbox needs [events, ...]");
    Shape full;
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      if (d == 0) {
        full.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
        continue;
      }
      if (!dim.has_dim_value() || dim.dim_value() <= 0)
        throw OnnxUnsupported(fmt::format("{} has a dynamic axis {}; only the first (event) axis may vary", where, d));
      full.push_back(dim.dim_value());
    }
    {
      // One event of this input as doubles must fit the memory budget (a dimension of 10^12
      // would otherwise grow memory without limit once events flow).
      std::uint64_t per_event = 8;
      for (size_t d = 1; d < full.size(); ++d)
        per_event = saturating_product(per_event, static_cast<std::uint64_t>(full[d]));
      check_memory(fmt::format("{} (shape {}, per event)", where, shape_string(Shape(full.begin() + 1, full.end()))),
                   per_event);
    }
    if (batch_ < 0 && full[0] > 0) batch_ = full[0];
    // Column names written by unbox's own export travel in the model's metadata.
    std::vector<std::string> features;
    for (const auto& p : model_.metadata_props())
      if (p.key() == "unbox:features:" + in.name() && full.size() == 2) {
        std::string v = p.value();
        for (size_t start = 0; start <= v.size();) {
          size_t comma = v.find(',', start);
          features.push_back(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
        if (static_cast<Index>(features.size()) != full[1]) features.clear();
      }
    if (!features.empty()) has_feature_names_ = true;
    int id = out_.net.add_input(in.name(), event_shape(full), features);
    values_[in.name()] = Value{id, full};
  }
  if (out_.net.input_nodes().empty())
    throw OnnxUnsupported(fmt::format("ONNX model '{}' has no non-constant input", path_));
  // Which node produces each tensor, to tell a graph out of dependency order from one that
  // names a tensor nobody produces (both are invalid ONNX, not unsupported features).
  std::map<std::string, int> producer;
  for (int k = 0; k < g.node_size(); ++k)
    for (const auto& o : g.node(k).output())
      if (!o.empty()) producer.emplace(o, k);
  for (int k = 0; k < g.node_size(); ++k) {
    const auto& n = g.node(k);
    if (n.output_size() == 0)
      throw Error(fmt::format("ONNX model '{}': node {} ('{}', {}) has no outputs", path_, k, n.name(), n.op_type()));
    node_ = &n;
    for (const auto& i : n.input()) {
      if (i.empty() || values_.count(i) || consts_.count(i)) continue;
      auto it = producer.find(i);
      if (it == producer.end())
        bad(fmt::format("input '{}' is not a graph input, an initializer or the output of any node (missing tensor)",
                        i));
      if (it->second >= k)
        bad(
            fmt::format("input '{}' is produced by node {} ('{}', {}), which comes later: the nodes are not in "
                        "dependency (topological) order, as ONNX requires",
                        i, it->second, g.node(it->second).name(), g.node(it->second).op_type()));
    }
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      unsupported(fmt::format("operator domain '{}'; unbox supports the standard ONNX domain: {}", n.domain(),
                              supported_list()));
    import_node();
  }
  for (const auto& o : g.output()) {
    auto it = values_.find(o.name());
    if (it == values_.end())
      throw OnnxUnsupported(fmt::format("ONNX model '{}': output '{}' does not depend on the inputs", path_, o.name()));
    if (out_.net.node(it->second.node).is_input())
      throw OnnxUnsupported(fmt::format("ONNX model '{}': output '{}' is an input itself", path_, o.name()));
    out_.outputs.push_back(o.name());
    out_.output_nodes.push_back(it->second.node);
  }
  if (out_.output_nodes.empty()) throw Error(fmt::format("ONNX model '{}' has no outputs", path_));
  out_.net.set_output(out_.output_nodes[0]);
  out_.net.metadata["format"] = "onnx";
  out_.net.metadata["architecture"] =
      fmt::format("ONNX opset {} from {} {}", opset_, model_.producer_name().empty() ? "?" : model_.producer_name(),
                  model_.producer_version());
  out_.net.metadata["onnx_feature_names"] = has_feature_names_;
  out_.net.metadata["onnx"] = {{"file", path_},
                               {"opset", opset_},
                               {"producer", model_.producer_name() + " " + model_.producer_version()},
                               {"outputs", out_.outputs}};
  return std::move(out_);
}

void Importer::import_node() {
  const std::string& op = node_->op_type();
  if (op == "Constant") {
    const onnx::AttributeProto* a = attr("value");
    if (a) {
      consts_[node_->output(0)] = tensor_values(a->t(), where());
    } else if ((a = attr("value_float"))) {
      consts_[node_->output(0)] = Constant{{}, {a->f()}, false};
    } else if ((a = attr("value_floats"))) {
      Constant c{{static_cast<Index>(a->floats_size())}, {}, false};
      for (float f : a->floats()) c.values.push_back(f);
      consts_[node_->output(0)] = c;
    } else if ((a = attr("value_int"))) {
      consts_[node_->output(0)] = Constant{{}, {static_cast<double>(a->i())}, true};
    } else if ((a = attr("value_ints"))) {
      Constant c{{static_cast<Index>(a->ints_size())}, {}, true};
      for (auto i : a->ints()) c.values.push_back(static_cast<double>(i));
      consts_[node_->output(0)] = c;
    } else {
      unsupported("a Constant without a tensor, float or int value");
    }
    return;
  }
  // Everything else computes on graph values; a node fed only by constants is folded
  // when it is a plain pass-through, and otherwise unsupported.
  bool any_value = false;
  for (size_t k = 0; k < input_count(); ++k) any_value |= has_input(k) && values_.count(in_name(k));
  if (!any_value) {
    if ((op == "Identity" || op == "Dropout") && has_input(0) && is_const(0)) {
      consts_[node_->output(0)] = constant(0);
      return;
    }
    // PyTorch before opset 7 exports Linear without bias as MatMul(x, Transpose(W)).
    if (op == "Transpose" && has_input(0) && is_const(0)) {
      const Constant& c = constant(0);
      const size_t r = c.shape.size();
      std::vector<Index> perm = ints_attr("perm");
      if (perm.empty())
        for (size_t d = r; d-- > 0;) perm.push_back(static_cast<Index>(d));
      if (perm.size() != r) bad("perm does not match the rank");
      Constant t;
      t.integer = c.integer;
      for (Index p : perm) t.shape.push_back(c.shape.at(static_cast<size_t>(p)));
      Tensor src(with_batch(c.shape, 1), c.values);
      Transpose tr(perm);
      Tensor dst(with_batch(t.shape, 1));
      tr.forward({&src}, dst);
      t.values = dst.values();
      consts_[node_->output(0)] = t;
      return;
    }
    unsupported("every input is a constant; unbox folds only Identity and Transpose of constants");
  }
  if (op == "Identity") return alias(value(0));
  if (op == "Dropout") {
    only_first_output("the mask output belongs to training");
    if (opset_ < 7) require_int("is_test", 1, "training mode");
    if (has_input(2) && (!is_const(2) || constant(2).values.at(0) != 0)) unsupported("training_mode is on");
    return alias(value(0));
  }
  if (op == "Relu") return activation(ActivationKind::ReLU);
  if (op == "LeakyRelu") return activation(ActivationKind::LeakyReLU, float_attr("alpha", 0.01));
  if (op == "Tanh") return activation(ActivationKind::Tanh);
  if (op == "Sigmoid") return activation(ActivationKind::Sigmoid);
  if (op == "Elu") return activation(ActivationKind::ELU, float_attr("alpha", 1.0));
  if (op == "Softplus") return activation(ActivationKind::Softplus);
  if (op == "Selu") {
    // ONNX's defaults are the SELU constants rounded to float32; unbox's SELU uses them exactly.
    const double alpha = attr("alpha") ? attr("alpha")->f() : 1.67326319217681884765625;
    const double gamma = attr("gamma") ? attr("gamma")->f() : 1.05070102214813232421875;
    if (std::abs(alpha - 1.6732632423543772) > 1e-6 || std::abs(gamma - 1.0507009873554805) > 1e-6)
      unsupported(fmt::format("Selu with alpha={} gamma={}; unbox's SELU has the standard constants", alpha, gamma));
    return activation(ActivationKind::SELU);
  }
  if (op == "Softmax") return softmax(false);
  if (op == "LogSoftmax") return softmax(true);
  if (op == "Gemm") return gemm();
  if (op == "MatMul") return matmul();
  if (op == "Add") return binary(BinaryKind::Add);
  if (op == "Sum") {
    // n-ary sum of computed tensors of one rank: a chain of broadcasting Adds.
    std::vector<Value> vs;
    for (size_t k = 0; k < input_count(); ++k) vs.push_back(value(k));
    if (vs.size() == 1) return alias(vs[0]);
    Value acc = vs[0];
    for (size_t k = 1; k < vs.size(); ++k) {
      if (vs[k].shape.size() != acc.shape.size()) unsupported("Sum of tensors of different ranks");
      const std::string name = k + 1 == vs.size() ? node_->output(0) : fmt::format("{}/sum{}", node_->output(0), k);
      int id = out_.net.add_node(name, std::make_unique<Binary>(BinaryKind::Add), {acc.node, vs[k].node});
      acc = Value{id, with_batch(out_.net.node(id).shape, batch_)};
    }
    return alias(acc);
  }
  if (op == "ReduceSum" || op == "ReduceMean") {
    // Axes: an attribute, or for ReduceSum from opset 13 an optional constant input.
    const Value& x = value(0);
    const auto r = static_cast<Index>(x.shape.size());
    std::vector<Index> axes =
        op == "ReduceSum" && opset_ >= 13 ? (has_input(1) ? const_ints(1) : std::vector<Index>{}) : ints_attr("axes");
    if (axes.empty() && op == "ReduceSum" && opset_ >= 13 && int_attr("noop_with_empty_axes", 0) != 0) return alias(x);
    if (axes.empty()) unsupported("a reduction over all axes would include the event axis");
    for (Index& ax : axes) ax = event_axis(ax, r, "reduction axis");
    add(std::make_unique<Reduce>(op == "ReduceSum" ? ReduceKind::Sum : ReduceKind::Mean, axes,
                                 int_attr("keepdims", 1) != 0),
        {x.node});
    return;
  }
  if (op == "Sub") return binary(BinaryKind::Sub);
  if (op == "Mul") return binary(BinaryKind::Mul);
  if (op == "Div") return binary(BinaryKind::Div);
  if (op == "PRelu") {
    const Value& x = value(0);
    Tensor slope = event_constant(constant(1), static_cast<Index>(x.shape.size()));
    // Before opset 7 a [C] slope is per channel (PyTorch's PReLU(C) for [N, C, L]); from
    // opset 7 on it broadcasts the NumPy way, from the right.
    if (opset_ < 7 && slope.rank() == 2 && x.shape.size() > 2 && slope.dim(1) == x.shape[1] && slope.dim(1) > 1) {
      Shape s{1, slope.dim(1)};
      for (size_t d = 2; d < x.shape.size(); ++d) s.push_back(1);
      slope.reshape(s);
    }
    add(std::make_unique<PRelu>(std::move(slope)), {x.node});
    return;
  }
  if (op == "BatchNormalization") return batchnorm();
  if (op == "Conv") return conv();
  if (op == "MaxPool") return pool(PoolKind::Max, false);
  if (op == "AveragePool") return pool(PoolKind::Average, false);
  if (op == "GlobalMaxPool") return pool(PoolKind::Max, true);
  if (op == "GlobalAveragePool") return pool(PoolKind::Average, true);
  if (op == "Flatten") {
    const Value& x = value(0);
    const Index r = static_cast<Index>(x.shape.size());
    Index axis = int_attr("axis", 1);
    if (axis < 0) axis += r;
    Index lead = 1;
    for (Index d = 1; d < axis; ++d) lead *= x.shape[static_cast<size_t>(d)];
    if (axis == 0 || lead != 1)
      unsupported(fmt::format("Flatten at axis {} would merge the event axis with others", int_attr("axis", 1)));
    Index rest = 1;
    for (Index d = std::max<Index>(axis, 1); d < r; ++d) rest *= x.shape[static_cast<size_t>(d)];
    add(std::make_unique<Reshape>(Shape{rest}), {x.node});
    return;
  }
  if (op == "Reshape") {
    const Value& x = value(0);
    std::vector<Index> target = opset_ < 5 ? ints_attr("shape") : const_ints(1);
    if (int_attr("allowzero", 0) != 0 && std::find(target.begin(), target.end(), 0) != target.end())
      unsupported("allowzero with a zero in the shape");
    Shape full;
    Index known = 1, infer = -1;
    for (size_t d = 0; d < target.size(); ++d) {
      Index v = target[d];
      if (v == 0) {
        if (d >= x.shape.size()) bad("shape copies an axis the input lacks");
        v = x.shape[d];
      }
      if (v == -1) {
        if (infer >= 0) bad("shape has two -1 entries");
        infer = static_cast<Index>(d);
        full.push_back(-1);
        continue;
      }
      full.push_back(v);
    }
    if (full.empty()) unsupported("reshape to a scalar");
    // The event axis must stay: either copied (0), or equal to the declared event count
    // with the per-event size matching.
    const Index per_event = shape_size(event_shape(x.shape));
    if (infer == 0) {
      for (size_t d = 1; d < full.size(); ++d) known *= full[d];
      if (known != per_event) unsupported("reshape infers the event axis and changes it");
      full[0] = x.shape[0];
    } else {
      if (full[0] != x.shape[0] && !(target[0] == 0))
        unsupported(fmt::format("reshape changes the event axis ({} -> {})", x.shape[0], full[0]));
      if (infer > 0) {
        for (size_t d = 1; d < full.size(); ++d)
          if (full[d] != -1) known *= full[d];
        if (known == 0 || per_event % known != 0) bad("shape does not fit the input");
        full[static_cast<size_t>(infer)] = per_event / known;
      }
    }
    return reshape_to(full);
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    const Value& x = value(0);
    std::vector<Index> axes = opset_ < 13 ? ints_attr("axes") : (has_input(1) ? const_ints(1) : std::vector<Index>{});
    Shape full = x.shape;
    if (op == "Squeeze") {
      const Index r = static_cast<Index>(full.size());
      std::vector<bool> drop(static_cast<size_t>(r), false);
      if (axes.empty()) {
        if (x.shape[0] == 1) unsupported("Squeeze without axes when the event axis has length 1");
        for (Index d = 1; d < r; ++d) drop[static_cast<size_t>(d)] = full[static_cast<size_t>(d)] == 1;
      }
      for (Index a : axes) {
        Index d = event_axis(a, r, "Squeeze axis") + 1;
        if (full[static_cast<size_t>(d)] != 1)
          bad(fmt::format("Squeeze axis {} has length {}", a, full[static_cast<size_t>(d)]));
        drop[static_cast<size_t>(d)] = true;
      }
      Shape s;
      for (Index d = 0; d < r; ++d)
        if (!drop[static_cast<size_t>(d)]) s.push_back(full[static_cast<size_t>(d)]);
      return reshape_to(s);
    }
    const Index r = static_cast<Index>(full.size() + axes.size());
    std::vector<bool> insert(static_cast<size_t>(r), false);
    for (Index a : axes) insert[static_cast<size_t>(event_axis(a, r, "Unsqueeze axis") + 1)] = true;
    Shape s;
    size_t k = 0;
    for (Index d = 0; d < r; ++d) s.push_back(insert[static_cast<size_t>(d)] ? 1 : full[k++]);
    return reshape_to(s);
  }
  if (op == "Pad") {
    const Value& x = value(0);
    const Index r = static_cast<Index>(x.shape.size());
    if (string_attr("mode", "constant") != "constant")
      unsupported(fmt::format("Pad mode '{}' (unbox pads with zeros)", string_attr("mode", "")));
    std::vector<Index> pads = opset_ < 11 ? (attr("pads") ? ints_attr("pads") : ints_attr("paddings")) : const_ints(1);
    double fill = opset_ < 11 ? float_attr("value", 0.0) : (has_input(2) ? constant(2).values.at(0) : 0.0);
    if (fill != 0.0) unsupported(fmt::format("Pad with the value {} (unbox pads with zeros)", fill));
    if (has_input(3)) unsupported("Pad with axes");
    if (static_cast<Index>(pads.size()) != 2 * r) bad("pads do not match the rank");
    if (pads[0] != 0 || pads[static_cast<size_t>(r)] != 0) unsupported("Pad of the event axis");
    std::vector<Index> p;
    for (Index d = 1; d < r; ++d) p.push_back(pads[static_cast<size_t>(d)]);
    for (Index d = 1; d < r; ++d) p.push_back(pads[static_cast<size_t>(r + d)]);
    for (Index v : p)
      if (v < 0) unsupported("negative pads (cropping)");
    add(std::make_unique<Pad>(p), {x.node});
    return;
  }
  if (op == "Transpose") {
    const Value& x = value(0);
    const Index r = static_cast<Index>(x.shape.size());
    std::vector<Index> perm = ints_attr("perm");
    if (perm.empty())
      for (Index d = r - 1; d >= 0; --d) perm.push_back(d);
    if (static_cast<Index>(perm.size()) != r) bad("perm does not match the rank");
    if (perm[0] != 0) unsupported("Transpose moves the event axis");
    std::vector<Index> p;
    for (size_t d = 1; d < perm.size(); ++d) p.push_back(perm[d] - 1);
    add(std::make_unique<Transpose>(p), {x.node});
    return;
  }
  if (op == "Concat") {
    std::vector<int> ids;
    Index rank = -1;
    for (size_t k = 0; k < input_count(); ++k) {
      const Value& v = value(k);
      ids.push_back(v.node);
      rank = static_cast<Index>(v.shape.size());
    }
    Index axis = event_axis(int_attr("axis", opset_ < 4 ? 1 : 0), rank, "Concat axis");
    add(std::make_unique<Concat>(axis), ids);
    return;
  }
  unsupported(fmt::format("operator {} is not supported; unbox supports {}", op, supported_list()));
}

void Importer::reshape_to(const Shape& full) {
  const Value& x = value(0);
  if (full == x.shape) return alias(x);
  add(std::make_unique<Reshape>(event_shape(full)), {x.node});
}

void Importer::activation(ActivationKind kind, double alpha) {
  only_first_output("unexpected extra output");
  add(std::make_unique<Activation>(kind, alpha), {value(0).node});
}

void Importer::softmax(bool log) {
  const Value& x = value(0);
  const Index r = static_cast<Index>(x.shape.size());
  const bool old = opset_ < 13;  // before 13: coerce to 2-D at axis (default 1)
  Index axis = event_axis(int_attr("axis", old ? 1 : -1), r, "softmax axis");
  const bool last = axis == r - 2;
  if (!log && last) return void(add(std::make_unique<Softmax>(), {x.node}));
  add(std::make_unique<Softmax>(axis, old && !last, log), {x.node});
}

void Importer::gemm() {
  const Value& a = value(0);
  if (a.shape.size() != 2)
    unsupported(fmt::format("Gemm input of rank {}; unbox needs [events, features]", a.shape.size()));
  require_int("transA", 0, "the events must be the rows of A");
  const Constant& b = constant(1);
  if (b.shape.size() != 2) bad("B must be a matrix");
  const bool tb = int_attr("transB", 0) != 0;
  const Index K = a.shape[1], N = tb ? b.shape[0] : b.shape[1];
  if ((tb ? b.shape[1] : b.shape[0]) != K)
    bad(fmt::format("B of shape {} does not fit A of shape {}", shape_string(b.shape), shape_string(a.shape)));
  const double alpha = float_attr("alpha", 1.0), beta = float_attr("beta", 1.0);
  auto dense = std::make_unique<Dense>(K, N);
  for (Index n = 0; n < N; ++n)
    for (Index k = 0; k < K; ++k) {
      const double w = tb ? b.values[static_cast<size_t>(n * K + k)] : b.values[static_cast<size_t>(k * N + n)];
      dense->weight()[n * K + k] = alpha == 1.0 ? w : alpha * w;
    }
  if (has_input(2)) {
    const Constant& c = constant(2);
    if (opset_ < 7 && int_attr("broadcast", 0) == 0 && c.shape.size() == 2 && c.shape[0] != 1)
      unsupported("Gemm-6 without broadcast and a bias with one row per event");
    // C broadcasts to [events, N]: scalar, [N], [1, N] (and [1] / [1, 1]).
    const Index cn = c.shape.empty() ? 1 : c.shape.back();
    if ((cn != N && cn != 1) || shape_size(c.shape) != cn)
      unsupported(fmt::format("Gemm bias of shape {} (unbox takes a scalar, [N] or [1, N])", shape_string(c.shape)));
    for (Index n = 0; n < N; ++n) {
      const double v = c.values[static_cast<size_t>(cn == 1 ? 0 : n)];
      dense->bias()[n] = beta == 1.0 ? v : beta * v;
    }
  }
  add(std::move(dense), {a.node});
}

void Importer::matmul() {
  if (!has_input(1) || !is_const(1)) unsupported("MatMul of two computed tensors; unbox needs constant weights B");
  const Value& a = value(0);
  const Constant& b = constant(1);
  if (a.shape.size() >= 3 && b.shape.size() == 2) {  // [events, ..., K] x [K, N]: per-particle dense
    const Index K = a.shape.back(), N = b.shape[1];
    if (b.shape[0] != K) bad("shapes do not fit");
    auto pd = std::make_unique<ParticleDense>(K, N);  // zero bias; a following Add stays a broadcast Add
    for (Index n = 0; n < N; ++n)
      for (Index k = 0; k < K; ++k) pd->weight()[n * K + k] = b.values[static_cast<size_t>(k * N + n)];
    add(std::move(pd), {a.node});
    return;
  }
  if (a.shape.size() != 2 || b.shape.size() != 2)
    unsupported(fmt::format("MatMul of shapes {} and {}; unbox maps [events, K] x [K, N]", shape_string(a.shape),
                            shape_string(b.shape)));
  const Index K = a.shape[1], N = b.shape[1];
  if (b.shape[0] != K) bad("shapes do not fit");
  auto dense = std::make_unique<Dense>(K, N);
  for (Index n = 0; n < N; ++n)
    for (Index k = 0; k < K; ++k) dense->weight()[n * K + k] = b.values[static_cast<size_t>(k * N + n)];
  matmul_nodes_.insert(add(std::move(dense), {a.node}));
}

void Importer::binary(BinaryKind kind) {
  const bool c0 = is_const(0), c1 = has_input(1) && is_const(1);
  if (!has_input(1)) bad("needs two inputs");
  Constant legacy;
  const Constant* cptr = nullptr;
  if (c0 || c1) {
    cptr = &constant(c0 ? 0 : 1);
    const Value& x = value(c0 ? 1 : 0);
    // Before opset 7: B broadcasts only with broadcast=1, aligned at `axis` when given.
    if (opset_ < 7 && c1) {
      if (int_attr("broadcast", 0) == 0 && cptr->shape != x.shape && shape_size(cptr->shape) != 1)
        unsupported("legacy Add/Sub/Mul/Div without broadcast=1 on shapes that differ");
      if (auto* ax = attr("axis")) {
        Index axis = ax->i() < 0 ? ax->i() + static_cast<Index>(x.shape.size()) : ax->i();
        legacy = *cptr;
        while (static_cast<Index>(legacy.shape.size()) + axis < static_cast<Index>(x.shape.size()))
          legacy.shape.push_back(1);
        cptr = &legacy;
      }
    }
    // MatMul followed by Add of a bias: fold it into the Dense layer (older exporters).
    if (kind == BinaryKind::Add && matmul_nodes_.count(x.node) && uses_[in_name(c0 ? 1 : 0)] == 1 &&
        shape_size(cptr->shape) == x.shape[1] && (cptr->shape.size() <= 1 || cptr->shape[0] == 1)) {
      auto& d = static_cast<Dense&>(out_.net.op(x.node));
      for (Index n = 0; n < x.shape[1]; ++n) d.bias()[n] = cptr->values[static_cast<size_t>(n)];
      matmul_nodes_.erase(x.node);
      return alias(x);
    }
    Tensor c = event_constant(*cptr, static_cast<Index>(x.shape.size()));
    add(std::make_unique<Binary>(kind, std::move(c), c0 ? Binary::ConstSide::Left : Binary::ConstSide::Right),
        {x.node});
    return;
  }
  const Value &a = value(0), &b = value(1);
  if (a.shape.size() != b.shape.size())
    unsupported(fmt::format("{} of computed tensors of different ranks ({} and {})", node_->op_type(),
                            shape_string(a.shape), shape_string(b.shape)));
  add(std::make_unique<Binary>(kind), {a.node, b.node});
}

Window Importer::window_from_attributes(const Shape& in_full, const std::vector<Index>& kernel) {
  const Index n = static_cast<Index>(kernel.size());
  if (n < 1 || n > 2) unsupported(fmt::format("{}-D {} (unbox supports 1-D and 2-D)", n, node_->op_type()));
  if (static_cast<Index>(in_full.size()) != n + 2)
    bad(fmt::format("input of shape {} for a {}-D window", shape_string(in_full), n));
  Window w;
  w.kernel = kernel;
  w.strides = ints_attr("strides");
  w.dilations = ints_attr("dilations");
  w.pads = ints_attr("pads");
  if (w.strides.empty()) w.strides.assign(static_cast<size_t>(n), 1);
  if (w.dilations.empty()) w.dilations.assign(static_cast<size_t>(n), 1);
  if (w.pads.empty()) w.pads.assign(static_cast<size_t>(2 * n), 0);
  w.ceil_mode = int_attr("ceil_mode", 0) != 0;
  std::string auto_pad = string_attr("auto_pad", "NOTSET");
  if (auto_pad == "VALID") {
    w.pads.assign(static_cast<size_t>(2 * n), 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Output length ceil(in / stride); the odd pad goes at the end (UPPER) or the beginning (LOWER).
    for (Index d = 0; d < n; ++d) {
      const Index in = in_full[static_cast<size_t>(d + 2)], s = w.strides[static_cast<size_t>(d)];
      const Index out = (in + s - 1) / s;
      const Index span = w.dilations[static_cast<size_t>(d)] * (kernel[static_cast<size_t>(d)] - 1) + 1;
      const Index total = std::max<Index>(0, (out - 1) * s + span - in);
      const Index small = total / 2, large = total - small;
      w.pads[static_cast<size_t>(d)] = auto_pad == "SAME_UPPER" ? small : large;
      w.pads[static_cast<size_t>(d + n)] = auto_pad == "SAME_UPPER" ? large : small;
    }
  } else if (auto_pad != "NOTSET" && !auto_pad.empty()) {
    bad(fmt::format("unknown auto_pad '{}'", auto_pad));
  }
  try {
    w.check(node_->op_type());
  } catch (const Error& e) {
    unsupported(e.what());
  }
  return w;
}

void Importer::conv() {
  const Value& x = value(0);
  const Constant& wt = constant(1);
  if (wt.shape.size() < 3) bad("weights need rank 3 or more");
  std::vector<Index> kernel(wt.shape.begin() + 2, wt.shape.end());
  if (auto k = ints_attr("kernel_shape"); !k.empty() && k != kernel) bad("kernel_shape disagrees with the weights");
  Window w = window_from_attributes(x.shape, kernel);
  const Index groups = int_attr("group", 1), cin = x.shape[1], cout = wt.shape[0];
  if (wt.shape[1] * groups != cin)
    bad(fmt::format("weights {} for {} input channels in {} groups", shape_string(wt.shape), cin, groups));
  auto c = std::make_unique<Conv>(cin, cout, w, groups);
  std::copy(wt.values.begin(), wt.values.end(), c->weight().data());
  if (has_input(2)) {
    const Constant& b = constant(2);
    if (shape_size(b.shape) != cout) bad("bias size differs from the output channels");
    std::copy(b.values.begin(), b.values.end(), c->bias().data());
  }
  add(std::move(c), {x.node});
}

void Importer::pool(PoolKind kind, bool global) {
  const Value& x = value(0);
  only_first_output("unbox does not produce pooling indices");
  Window w;
  if (global) {
    if (x.shape.size() < 3 || x.shape.size() > 4)
      unsupported(fmt::format("global pooling of a rank-{} tensor (unbox supports 1-D and 2-D)", x.shape.size()));
    w = window_from_attributes(x.shape, Shape(x.shape.begin() + 2, x.shape.end()));
  } else {
    require_int("storage_order", 0, "column-major indices");
    w = window_from_attributes(x.shape, ints_attr("kernel_shape"));
  }
  bool include = false;
  if (kind == PoolKind::Average && opset_ >= 7) include = int_attr("count_include_pad", 0) != 0;
  add(std::make_unique<Pool>(kind, w, include), {x.node});
}

void Importer::batchnorm() {
  const Value& x = value(0);
  only_first_output("training-mode outputs (running statistics) are not computed");
  if (opset_ < 7) require_int("is_test", 1, "training mode");
  if (opset_ < 9) require_int("spatial", 1, "per-element statistics");
  require_int("training_mode", 0, "training mode");
  if (x.shape.size() < 2) bad("input needs a channel axis");
  const Index C = x.shape[1];
  auto bn = std::make_unique<BatchNorm>(C, float_attr("epsilon", 1e-5));
  Tensor* dst[] = {&bn->scale(), &bn->bias(), &bn->mean(), &bn->var()};
  for (size_t k = 0; k < 4; ++k) {
    const Constant& c = constant(k + 1);
    if (shape_size(c.shape) != C)
      bad(fmt::format("input {} has {} values for {} channels", k + 1, shape_size(c.shape), C));
    std::copy(c.values.begin(), c.values.end(), dst[k]->data());
  }
  add(std::move(bn), {x.node});
}

}  // namespace

OnnxModel read_onnx(const std::string& path) { return read_onnx_bytes(read_file(path, "ONNX model"), path); }

OnnxModel read_onnx_bytes(const std::string& bytes, const std::string& path) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    throw Error(
        fmt::format("'{}' is not a valid ONNX model: the protobuf does not parse (truncated or corrupt file?)", path));
  if (!model.has_graph() || model.graph().node_size() == 0)
    throw Error(fmt::format("'{}' is not a valid ONNX model: it holds no graph (truncated or corrupt file?)", path));
  return Importer(model, path).run();
}

Network import_onnx(const std::string& path) { return read_onnx(path).net; }

Network load_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open model '{}': {}", path, std::strerror(errno)));
  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() == 8 && std::memcmp(magic, "UNBOXNN1", 8) == 0) return load_network(path);
  if (extension_of(path) == "onnx") return import_onnx(path);
  return load_network(path);  // its message says what a native model looks like
}

bool is_onnx_network(const Network& net) { return net.metadata.value("format", std::string()) == "onnx"; }

std::string onnx_input_summary(const Network& net) {
  std::string s;
  for (int id : net.input_nodes()) {
    const Node& n = net.node(id);
    if (n.shape.size() == 1)
      s += fmt::format(
          "input '{}' {}: {} data columns (by default the data's columns in order, leaving out the label "
          "and weight; or the data columns chosen for it), or an array '{}' of per-event shape {}\n",
          n.name, shape_string(n.shape), n.shape[0], n.name, shape_string(n.shape));
    else
      s +=
          fmt::format("input '{}' {}: an npz/HDF5 array named '{}' of shape [events, {}]\n", n.name,
                      shape_string(n.shape), n.name, shape_string(n.shape).substr(1, shape_string(n.shape).size() - 2));
  }
  return s;
}

Tensor read_onnx_tensor(const std::string& path, Shape& full_shape) {
  std::string bytes = read_file(path, "ONNX tensor");
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes))
    throw Error(fmt::format("'{}' is not a valid ONNX tensor (truncated or corrupt?)", path));
  Constant c = tensor_values(t, fmt::format("'{}'", path));
  if (c.integer) throw OnnxUnsupported(fmt::format("'{}' holds integers (non-float type)", path));
  full_shape = c.shape;
  if (c.shape.empty()) return Tensor({1}, c.values);
  return Tensor(c.shape, std::move(c.values));
}

}  // namespace unbox
