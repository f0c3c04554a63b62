// The native model file (.unbox): one file holding the architecture, every tensor,
// the input names and the training metadata.
//
// Layout: the 8-byte magic "UNBOXNN1", a little-endian uint64 header length, the JSON
// header, then the tensors as raw little-endian float64 in header order, then a uint32
// CRC-32 of everything before it. Raw doubles make the round trip bit-exact; the CRC
// turns a truncated or corrupt file into a clear error instead of wrong numbers.
#include <fmt/format.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "unbox/network.hpp"
#include "unbox/ops.hpp"

static_assert(std::endian::native == std::endian::little, "the model file is written little-endian");

namespace unbox {

namespace {
constexpr char kMagic[8] = {'U', 'N', 'B', 'O', 'X', 'N', 'N', '1'};

void append(std::string& buf, const void* p, size_t n) { buf.append(static_cast<const char*>(p), n); }

// Attributes that hold sizes (of layers, particles, windows): never negative.
bool is_size_attribute(const std::string& key) {
  static const char* const keys[] = {"in", "out", "channels", "particles", "features", "count", "kernel", "groups"};
  for (const char* k : keys)
    if (key == k) return true;
  return false;
}

// Walks a node's attributes before the op is built (and allocates its parameters): size
// attributes must not be negative, and the product of all integer attributes bounds the
// parameter count of every op (Dense: in*out; Conv: in*out*kernel/groups; ...), so a
// product beyond the memory budget is refused before anything is allocated.
void check_attributes(const nlohmann::json& a, const std::string& key, std::uint64_t& product,
                      const std::function<Error(const std::string&)>& bad) {
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) check_attributes(it.value(), it.key(), product, bad);
  } else if (a.is_array()) {
    for (const auto& v : a) check_attributes(v, key, product, bad);
  } else if (a.is_number_integer()) {
    const auto v = a.get<std::int64_t>();
    if (v < 0 && is_size_attribute(key))
      throw bad(fmt::format("attribute '{}' = {} (a size cannot be negative)", key, v));
    const std::uint64_t magnitude = v < 0 ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v);
    if (magnitude > 1) product = saturating_product(product, magnitude);
  } else if (a.is_number_float() && is_size_attribute(key)) {
    throw bad(fmt::format("attribute '{}' = {} (a size must be an integer)", key, a.dump()));
  }
}

void check_metadata(const nlohmann::json& m, const std::function<Error(const std::string&)>& bad) {
  if (!m.is_object()) throw bad(fmt::format("'metadata' is {}, expected an object", m.type_name()));
  for (const char* key : {"architecture", "format", "unbox_version"})
    if (m.contains(key) && !m[key].is_string())
      throw bad(fmt::format("metadata field '{}' is {}, expected a string", key, m[key].type_name()));
  if (m.contains("onnx_feature_names") && !m["onnx_feature_names"].is_boolean())
    throw bad(fmt::format("metadata field 'onnx_feature_names' is {}, expected true or false",
                          m["onnx_feature_names"].type_name()));
  if (m.contains("training")) {
    const auto& t = m["training"];
    if (!t.is_object()) throw bad(fmt::format("metadata field 'training' is {}, expected an object", t.type_name()));
    for (const char* key : {"data", "label", "weight", "loss"})
      if (t.contains(key) && !t[key].is_string())
        throw bad(fmt::format("metadata field 'training.{}' is {}, expected a string", key, t[key].type_name()));
    for (const char* key :
         {"train_events", "validation_events", "best_epoch", "epochs_run", "batch", "seed", "threads"})
      if (t.contains(key) && !t[key].is_number_integer())
        throw bad(fmt::format("metadata field 'training.{}' is {}, expected an integer", key, t[key].type_name()));
    for (const char* key : {"best_val_auc", "best_val_loss", "l1", "l2", "validation_fraction"})
      if (t.contains(key) && !t[key].is_number())
        throw bad(fmt::format("metadata field 'training.{}' is {}, expected a number", key, t[key].type_name()));
  }
}
}  // namespace

void save_network(const Network& net, const std::string& path) {
  nlohmann::json header;
  header["format"] = "unbox-model";
  header["version"] = 1;
  std::string blob;
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    const Node& n = net.nodes()[i];
    nlohmann::json j;
    j["name"] = n.name;
    nlohmann::json ins = nlohmann::json::array();
    for (int k : n.inputs) ins.push_back(net.node(k).name);
    j["inputs"] = ins;
    if (n.is_input()) {
      j["type"] = "Input";
      j["shape"] = n.shape;
      for (size_t k = 0; k < net.input_nodes().size(); ++k)
        if (net.input_nodes()[k] == static_cast<int>(i)) j["features"] = net.feature_names(static_cast<int>(k));
    } else {
      j["type"] = n.op->type();
      j["attributes"] = n.op->attributes();
      nlohmann::json tensors = nlohmann::json::array();
      for (auto& p : n.op->parameters()) {
        tensors.push_back({{"name", p.name}, {"shape", p.value->shape()}});
        append(blob, p.value->data(), static_cast<size_t>(p.value->size()) * sizeof(double));
      }
      j["tensors"] = tensors;
    }
    nodes.push_back(j);
  }
  header["nodes"] = nodes;
  header["output"] = net.node(net.output_node()).name;
  header["metadata"] = net.metadata;
  std::string text = header.dump();
  std::string file;
  append(file, kMagic, 8);
  std::uint64_t len = text.size();
  append(file, &len, 8);
  file += text;
  file += blob;
  std::uint32_t crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(file.data()), static_cast<uInt>(file.size())));
  append(file, &crc, 4);
  write_text_atomically(path, file);
}

Network load_network(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open model '{}': {}", path, std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const auto file_bytes = static_cast<std::streamoff>(in.tellg());
  in.seekg(0, std::ios::beg);
  if (file_bytes > 0) check_memory(fmt::format("reading model '{}'", path), static_cast<std::uint64_t>(file_bytes));
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& what) -> Error {
    return Error(fmt::format("'{}' is not a valid unbox model: {}", path, what));
  };
  if (file.size() < 20 || std::memcmp(file.data(), kMagic, 8) != 0) {
    if (extension_of(path) == "onnx") throw bad("it is an ONNX file; ONNX import is a separate step");
    throw bad("it does not start with the unbox model signature");
  }
  std::uint32_t crc_stored;
  std::memcpy(&crc_stored, file.data() + file.size() - 4, 4);
  auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(file.data()), static_cast<uInt>(file.size() - 4)));
  if (crc != crc_stored) throw bad("checksum mismatch (truncated or corrupted file)");
  std::uint64_t len;
  std::memcpy(&len, file.data() + 8, 8);
  if (len > file.size() - 20) throw bad("header length beyond the end of the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.begin() + 16, file.begin() + 16 + static_cast<std::ptrdiff_t>(len));
  } catch (const std::exception& e) {
    throw bad(std::string("header is not JSON: ") + e.what());
  }
  size_t offset = 16 + len;
  const size_t end = file.size() - 4;
  Network net;
  try {
    if (header.value("version", 0) != 1) throw bad(fmt::format("unsupported version {}", header.value("version", 0)));
    for (const auto& j : header.at("nodes")) {
      std::vector<int> ins;
      for (const auto& name : j.at("inputs")) {
        int id = net.find_node(name.get<std::string>());
        if (id < 0)
          throw bad(fmt::format("node '{}' refers to unknown node '{}'", j.at("name").get<std::string>(),
                                name.get<std::string>()));
        ins.push_back(id);
      }
      const std::string type = j.at("type").get<std::string>();
      if (type == "Input") {
        net.add_input(j.at("name"), j.at("shape").get<Shape>(), j.value("features", std::vector<std::string>{}));
        continue;
      }
      const std::string node_name = j.at("name").get<std::string>();
      auto node_bad = [&](const std::string& what) {
        return bad(fmt::format("node '{}' ({}): {}", node_name, type, what));
      };
      // Sizes first, against the file and the budget, so that a lying header allocates nothing.
      const auto& tensors = j.at("tensors");
      if (!tensors.is_array()) throw node_bad("'tensors' is not a list");
      std::uint64_t declared = 0;
      for (const auto& t : tensors) {
        std::uint64_t values = 1;
        for (const auto& d : t.at("shape")) {
          if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
            throw node_bad(fmt::format("tensor shape {} holds something other than sizes", t.at("shape").dump()));
          values = saturating_product(values, d.get<std::uint64_t>());
        }
        declared = saturating_product(values, 8) > std::numeric_limits<std::uint64_t>::max() - declared
                       ? std::numeric_limits<std::uint64_t>::max()
                       : declared + saturating_product(values, 8);
      }
      if (declared > end - std::min(offset, end))
        throw node_bad(fmt::format("its tensors claim {} bytes but only {} bytes of tensor data remain in the file",
                                   declared, end - std::min(offset, end)));
      std::uint64_t attribute_product = 1;
      check_attributes(j.at("attributes"), "", attribute_product, node_bad);
      check_memory(fmt::format("model '{}': node '{}' ({}) with attributes {}", path, node_name, type,
                               j.at("attributes").dump()),
                   saturating_product(attribute_product, 8));
      std::unique_ptr<Op> op;
      try {
        op = make_op(type, j.at("attributes"));
      } catch (const std::length_error& e) {
        throw node_bad(fmt::format("impossible sizes in attributes {}", j.at("attributes").dump()));
      } catch (const std::bad_alloc&) {
        throw node_bad(fmt::format("attributes {} describe more memory than is available", j.at("attributes").dump()));
      }
      auto params = op->parameters();
      if (tensors.size() != params.size())
        throw bad(fmt::format("node '{}' has the wrong tensors", j.at("name").get<std::string>()));
      for (size_t p = 0; p < params.size(); ++p) {
        Shape s = tensors[p].at("shape").get<Shape>();
        if (s != params[p].value->shape())
          throw bad(fmt::format("tensor {} of node '{}' has shape {}, expected {}", params[p].name,
                                j.at("name").get<std::string>(), shape_string(s),
                                shape_string(params[p].value->shape())));
        size_t bytes = static_cast<size_t>(params[p].value->size()) * sizeof(double);
        if (offset + bytes > end) throw bad("tensor data beyond the end of the file");
        std::memcpy(params[p].value->data(), file.data() + offset, bytes);
        offset += bytes;
        // A model with NaN or infinite weights gives NaN for every event: refuse it here.
        const Tensor& v = *params[p].value;
        for (Index i = 0; i < v.size(); ++i)
          if (!std::isfinite(v[i]))
            throw bad(fmt::format("tensor {} of node '{}' holds {} at index {}; a model needs finite weights",
                                  params[p].name, j.at("name").get<std::string>(), v[i], i));
      }
      net.add_node(j.at("name"), std::move(op), ins);
    }
    int out = net.find_node(header.at("output").get<std::string>());
    if (out < 0) throw bad("unknown output node");
    net.set_output(out);
    net.metadata = header.value("metadata", nlohmann::json::object());
    check_metadata(net.metadata, bad);
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("malformed header: ") + e.what());
  }
  if (offset != end) throw bad("extra data after the tensors");
  return net;
}

}  // namespace unbox
