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
#include <cstring>
#include <fstream>
#include <iterator>

#include "unbox/network.hpp"
#include "unbox/ops.hpp"

static_assert(std::endian::native == std::endian::little, "the model file is written little-endian");

namespace unbox {

namespace {
constexpr char kMagic[8] = {'U', 'N', 'B', 'O', 'X', 'N', 'N', '1'};

void append(std::string& buf, const void* p, size_t n) { buf.append(static_cast<const char*>(p), n); }
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
        if (id < 0) throw bad(fmt::format("node '{}' refers to unknown node '{}'", j.at("name").get<std::string>(),
                                          name.get<std::string>()));
        ins.push_back(id);
      }
      const std::string type = j.at("type").get<std::string>();
      if (type == "Input") {
        net.add_input(j.at("name"), j.at("shape").get<Shape>(), j.value("features", std::vector<std::string>{}));
        continue;
      }
      auto op = make_op(type, j.at("attributes"));
      auto params = op->parameters();
      const auto& tensors = j.at("tensors");
      if (tensors.size() != params.size()) throw bad(fmt::format("node '{}' has the wrong tensors", j.at("name").get<std::string>()));
      for (size_t p = 0; p < params.size(); ++p) {
        Shape s = tensors[p].at("shape").get<Shape>();
        if (s != params[p].value->shape())
          throw bad(fmt::format("tensor {} of node '{}' has shape {}, expected {}", params[p].name,
                                j.at("name").get<std::string>(), shape_string(s), shape_string(params[p].value->shape())));
        size_t bytes = static_cast<size_t>(params[p].value->size()) * sizeof(double);
        if (offset + bytes > end) throw bad("tensor data beyond the end of the file");
        std::memcpy(params[p].value->data(), file.data() + offset, bytes);
        offset += bytes;
      }
      net.add_node(j.at("name"), std::move(op), ins);
    }
    int out = net.find_node(header.at("output").get<std::string>());
    if (out < 0) throw bad("unknown output node");
    net.set_output(out);
    net.metadata = header.value("metadata", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("malformed header: ") + e.what());
  }
  if (offset != end) throw bad("extra data after the tensors");
  return net;
}

}  // namespace unbox
