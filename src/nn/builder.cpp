#include <fmt/format.h>

#include <charconv>

#include "unbox/ops.hpp"
#include "unbox/train.hpp"

namespace unbox {

SequentialBuilder::SequentialBuilder(std::vector<std::string> features, const std::string& input_name) {
  Index n = static_cast<Index>(features.size());
  last_ = net_.add_input(input_name, {n}, std::move(features));
}

SequentialBuilder& SequentialBuilder::standardize() {
  last_ = net_.add_node("standardize", std::make_unique<Standardize>(net_.node(last_).shape), {last_});
  return *this;
}

SequentialBuilder& SequentialBuilder::clip_minmax(double k) {
  last_ = net_.add_node("clip_minmax", std::make_unique<ClipMinMax>(net_.node(last_).shape, k), {last_});
  return *this;
}

SequentialBuilder& SequentialBuilder::dense(Index width) {
  Index in = shape_size(net_.node(last_).shape);
  last_ = net_.add_node(fmt::format("dense{}", ++counter_), std::make_unique<Dense>(in, width), {last_});
  return *this;
}

SequentialBuilder& SequentialBuilder::activation(const Activation& act) {
  last_ = net_.add_node(fmt::format("act{}", counter_), std::make_unique<Activation>(act), {last_});
  return *this;
}

SequentialBuilder& SequentialBuilder::softmax() {
  last_ = net_.add_node(fmt::format("softmax{}", counter_), std::make_unique<Softmax>(), {last_});
  return *this;
}

Network SequentialBuilder::build() {
  net_.set_output(last_);
  return std::move(net_);
}

Architecture parse_architecture(const std::string& arch, const std::string& activation, const std::string& output) {
  Architecture a;
  a.name = arch;
  if (arch == "paper") {
    a.hidden = {128, 64, 32, 16, 16, 8, 8, 4, 4, 2, 2};
    a.activation = Activation(ActivationKind::LeakyReLU, 0.1);
    a.output = OutputKind::Tanh;
    a.l1 = 1e-5;
    return a;
  }
  auto widths = [&](std::string_view s, std::vector<Index>& out) {
    while (!s.empty()) {
      auto comma = s.find(',');
      std::string_view item = s.substr(0, comma);
      Index w = 0;
      auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), w);
      if (ec != std::errc() || p != item.data() + item.size() || w <= 0)
        throw Error(
            fmt::format("bad architecture '{}': expected 'paper', positive layer widths like 64,64, or "
                        "pfn:PHI:F like pfn:64,64,32:64,32",
                        arch));
      out.push_back(w);
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
  };
  if (arch.starts_with("pfn:")) {  // Particle Flow Network: per-particle widths, then widths after the sum
    const auto colon = arch.find(':', 4);
    if (colon == std::string::npos)
      throw Error(fmt::format("bad architecture '{}': expected pfn:PHI:F like pfn:64,64,32:64,32", arch));
    widths(std::string_view(arch).substr(4, colon - 4), a.pfn_phi);
    if (a.pfn_phi.empty())
      throw Error(fmt::format("bad architecture '{}': the per-particle network needs a layer", arch));
    widths(std::string_view(arch).substr(colon + 1), a.hidden);
  } else {
    widths(arch, a.hidden);
  }
  if (a.hidden.empty() && a.pfn_phi.empty())
    throw Error("the architecture needs at least one hidden layer, e.g. 64,64");
  a.activation = parse_activation(activation);
  if (output == "sigmoid") {
    a.output = OutputKind::Sigmoid;
  } else if (output == "tanh") {
    a.output = OutputKind::Tanh;
  } else {
    throw Error(fmt::format("bad output activation '{}': expected sigmoid (binary cross-entropy) or tanh (MSE on +-1)",
                            output));
  }
  return a;
}

Network build_network(const std::vector<std::string>& features, const Architecture& arch) {
  if (!arch.pfn_phi.empty()) {
    if (arch.preprocess != "standardize")
      throw Error(
          fmt::format("the preprocessing {} applies to dense stacks; a particle flow network standardizes each "
                      "particle feature itself (over the real particles)",
                      arch.preprocess));
    Network net = build_particle_flow_network(features, arch.pfn_phi, arch.hidden, arch.activation,
                                              arch.output == OutputKind::Tanh);
    net.metadata["architecture"] = arch.name;
    return net;
  }
  SequentialBuilder b(features);
  if (arch.preprocess == "clip3-minmax")
    b.clip_minmax(3.0);
  else if (arch.preprocess == "standardize")
    b.standardize();
  else
    throw Error(fmt::format("bad preprocessing '{}': expected standardize or clip3-minmax", arch.preprocess));
  for (Index w : arch.hidden) b.dense(w).activation(arch.activation);
  b.dense(1).activation(Activation(arch.output == OutputKind::Tanh ? ActivationKind::Tanh : ActivationKind::Sigmoid));
  Network net = b.build();
  net.metadata["architecture"] = arch.name;
  return net;
}

}  // namespace unbox
