// LRP canonizers: rewrite a network into an equivalent one that the rules explain better
// (as Zennit's canonizers). Today one: BatchNorm folded into the Dense or Conv layer that
// feeds it (and only it): w'_c = w_c a_c, b'_c = (b_c - mean_c) a_c + beta_c with
// a_c = scale_c / sqrt(var_c + eps). Same function, fewer ops.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "unbox/explain/lrp.hpp"
#include "unbox/ops.hpp"

namespace unbox {

Network canonize(const Network& net) {
  const auto& nodes = net.nodes();
  const int n = static_cast<int>(nodes.size());
  std::vector<int> consumers(static_cast<size_t>(n), 0);
  for (const Node& nd : nodes)
    for (int i : nd.inputs) ++consumers[static_cast<size_t>(i)];
  if (net.output_node() >= 0) ++consumers[static_cast<size_t>(net.output_node())];
  // fold[bn] = the linear node it folds into.
  std::vector<int> fold_into(static_cast<size_t>(n), -1);
  std::vector<bool> folded_layer(static_cast<size_t>(n), false);
  for (int i = 0; i < n; ++i) {
    const Node& nd = nodes[static_cast<size_t>(i)];
    if (!nd.op || nd.op->type() != "BatchNorm" || nd.inputs.size() != 1) continue;
    const int src = nd.inputs[0];
    const Node& s = nodes[static_cast<size_t>(src)];
    if (!s.op || (s.op->type() != "Dense" && s.op->type() != "Conv")) continue;
    if (consumers[static_cast<size_t>(src)] != 1 || folded_layer[static_cast<size_t>(src)]) continue;
    // BatchNorm normalizes per-event axis 0: the Dense output feature or the Conv channel.
    fold_into[static_cast<size_t>(i)] = src;
    folded_layer[static_cast<size_t>(src)] = true;
  }
  Network out;
  std::vector<int> map(static_cast<size_t>(n), -1);
  std::vector<std::unique_ptr<Op>> pending(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Node& nd = nodes[static_cast<size_t>(i)];
    if (nd.is_input()) {
      const auto& ids = net.input_nodes();
      const auto k = std::find(ids.begin(), ids.end(), i) - ids.begin();
      map[static_cast<size_t>(i)] = out.add_input(nd.name, nd.shape, net.feature_names(static_cast<int>(k)));
      continue;
    }
    std::vector<int> ins;
    for (int j : nd.inputs) ins.push_back(map[static_cast<size_t>(j)]);
    if (folded_layer[static_cast<size_t>(i)]) continue;  // added when its BatchNorm comes
    const int src = fold_into[static_cast<size_t>(i)];
    if (src >= 0) {
      const Node& s = nodes[static_cast<size_t>(src)];
      const auto& bn = static_cast<const BatchNorm&>(*nd.op);
      std::unique_ptr<Op> op = s.op->clone();
      auto& linear = dynamic_cast<LinearOp&>(*op);
      Tensor& w = linear.weight();
      Tensor& b = linear.bias();
      const Index channels = bn.scale().size();
      if (linear.out_channels() != channels || b.size() != channels)
        throw Error("canonize: BatchNorm channels do not match the layer's outputs");
      const Index per = linear.weights_per_channel();
      for (Index c = 0; c < channels; ++c) {
        const double a = bn.scale()[c] / std::sqrt(bn.var()[c] + bn.epsilon());
        for (Index k = 0; k < per; ++k) w[c * per + k] *= a;
        b[c] = (b[c] - bn.mean()[c]) * a + bn.bias()[c];
      }
      std::vector<int> src_ins;
      for (int j : s.inputs) src_ins.push_back(map[static_cast<size_t>(j)]);
      map[static_cast<size_t>(i)] = out.add_node(s.name, std::move(op), src_ins);
      continue;
    }
    map[static_cast<size_t>(i)] = out.add_node(nd.name, nd.op->clone(), ins);
  }
  out.set_output(map[static_cast<size_t>(net.output_node())]);
  out.metadata = net.metadata;
  return out;
}

}  // namespace unbox
