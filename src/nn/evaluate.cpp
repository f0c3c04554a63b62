// Binding data to a network's inputs (through Events), and batched, parallel evaluation over many events.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <exception>

#include "nn/dense_kernel.hpp"
#include "nn/event_tiles.hpp"
#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"
#include "unbox/ops.hpp"

namespace unbox {

std::vector<Tensor> gather_inputs(const Network& net, const Dataset& data, const std::vector<std::string>& columns) {
  // The one binding rule lives in Events (events.cpp).
  return Events(net, data, Binding{columns}).inputs();
}

namespace {
// Events that go through the whole graph together. Small enough that every layer's
// values stay in the core's L2 cache (256 x 128 doubles = 256 KiB), large enough for
// efficient GEMMs (see bench/bench_nn.cpp).
constexpr Index kTile = 256;

// Runs `body(begin, count, workspace, tile_inputs)` over all events: batches of `batch`
// events are spread over the threads, and each batch goes through in tiles of kTile.
// Each tile writes only its own rows, so results do not depend on the thread count.
template <class Body>
void for_each_batch(const std::vector<Tensor>& inputs, Index batch, Body body) {
  if (inputs.empty()) throw Error("no inputs given");
  detail::for_each_event_tile(
      inputs, batch, kTile,
      []() -> Workspace& {
        thread_local Workspace ws;  // kept per thread between calls: after the first call no tile allocates
        return ws;
      },
      [&](Workspace& ws, Index, Index begin, Index count, std::vector<const Tensor*>& ptrs) {
        body(begin, count, ws, ptrs);
      });
}
}  // namespace

namespace {
// The forward pass evaluate() runs on every tile, planned once per call: the nodes the asked-for
// neurons need (the union of their ancestors), in order. A Dense whose value is not asked for
// and whose only consumer is a ReLU, a LeakyReLU (0 <= alpha <= 1) or an Identity is fused with
// it: the kernel applies the activation as it stores, writing the activation's value directly,
// which saves the Dense's buffer and a pass over it while the tile is in cache. The values are
// the same bits as Network::forward's (the kernel computes the activation as the op does).
struct ForwardPlan {
  struct Step {
    int node = -1;                 // the node whose value this step computes
    const Dense* dense = nullptr;  // fused: this Dense, fed by `from`, computes `node`'s value
    int from = -1;
    detail::StoreActivation activation = detail::StoreActivation::None;
    double alpha = 0.0;
  };
  std::vector<Step> steps;
  std::vector<Shape> shapes;  // per node: [batch, per-event shape...]; the batch is set per tile
  int dense_layers = 0;       // Dense nodes computed (fused or not)
};

ForwardPlan plan_forward(const Network& net, const std::vector<NeuronRef>& neurons) {
  const auto& nodes = net.nodes();
  const size_t N = nodes.size();
  ForwardPlan plan;
  std::vector<bool> need(N, false), asked(N, false);
  for (const NeuronRef& r : neurons) {
    if (r.node < 0 || static_cast<size_t>(r.node) >= N) throw Error("evaluate: unknown neuron");
    asked[static_cast<size_t>(r.node)] = true;
    const auto a = net.ancestors(r.node);
    for (size_t i = 0; i < N; ++i) need[i] = need[i] || a[i];
  }
  std::vector<int> consumers(N, 0);
  for (size_t i = 0; i < N; ++i)
    if (need[i])
      for (int j : nodes[i].inputs) ++consumers[static_cast<size_t>(j)];
  plan.shapes.resize(N);
  for (size_t i = 0; i < N; ++i) {
    plan.shapes[i] = {0};
    plan.shapes[i].insert(plan.shapes[i].end(), nodes[i].shape.begin(), nodes[i].shape.end());
  }
  std::vector<bool> fused(N, false);  // a Dense computed by its activation's step
  for (size_t i = 0; i < N; ++i) {
    const Node& nd = nodes[i];
    if (!need[i] || nd.is_input() || fused[i]) continue;
    ForwardPlan::Step st;
    st.node = static_cast<int>(i);
    const auto* act = nd.op->is_activation() ? dynamic_cast<const Activation*>(nd.op.get()) : nullptr;
    if (act && !detail::use_reference_dense) {
      const size_t d = static_cast<size_t>(nd.inputs[0]);
      const auto* dense = nodes[d].op ? dynamic_cast<const Dense*>(nodes[d].op.get()) : nullptr;
      const ActivationKind k = act->kind();
      const bool fusable = k == ActivationKind::Identity || k == ActivationKind::ReLU ||
                           (k == ActivationKind::LeakyReLU && act->alpha() >= 0 && act->alpha() <= 1);
      if (dense && fusable && consumers[d] == 1 && !asked[d]) {
        st.dense = dense;
        st.from = nodes[d].inputs[0];
        st.activation = k == ActivationKind::ReLU        ? detail::StoreActivation::ReLU
                        : k == ActivationKind::LeakyReLU ? detail::StoreActivation::LeakyReLU
                                                         : detail::StoreActivation::None;
        st.alpha = act->alpha();
        // The Dense's own step (already planned, it comes first) is dropped.
        std::erase_if(plan.steps, [&](const ForwardPlan::Step& s) { return s.node == static_cast<int>(d); });
        fused[d] = true;
      }
    }
    plan.steps.push_back(st);
  }
  for (size_t i = 0; i < N; ++i)
    if (need[i] && nodes[i].op && nodes[i].op->type() == "Dense") ++plan.dense_layers;
  return plan;
}

// Per thread and call: pointers to every node's value for the tile at hand.
struct ForwardState {
  Workspace& ws;
  std::vector<const Tensor*> value;
  std::vector<const Tensor*> in;
  std::vector<Shape> shapes;
  // Per step, the fused Dense's packed weights, looked up on the thread's first tile (the lookup
  // compares the weights with the packed copy's source: per tile that is ~5 % of the pass). Kept
  // only for networks of at most 32 Dense layers, whose packs cannot evict one another within
  // a call (the cache holds 64 and replaces the least recently used: before, it replaced them in turn, so
  // a pack found from an earlier call could be replaced within the call while its pointer was kept).
  std::vector<const double*> packed;
};

void run_forward(const Network& net, const ForwardPlan& plan, const std::vector<const Tensor*>& inputs,
                 ForwardState& st) {
  const auto& nodes = net.nodes();
  const Index count = inputs[0]->events();
  st.ws.values.resize(nodes.size());
  st.value.assign(nodes.size(), nullptr);
  for (size_t k = 0; k < inputs.size(); ++k) st.value[static_cast<size_t>(net.input_nodes()[k])] = inputs[k];
  st.packed.resize(plan.steps.size(), nullptr);
  for (size_t si = 0; si < plan.steps.size(); ++si) {
    const ForwardPlan::Step& s = plan.steps[si];
    const auto i = static_cast<size_t>(s.node);
    Tensor& out = st.ws.values[i];
    Shape& shape = st.shapes[i];
    shape[0] = count;
    out.resize(shape);
    st.value[i] = &out;
    if (s.dense) {
      const Dense& d = *s.dense;
      const double* p = st.packed[si];
      if (!p) p = detail::packed_weights(&d, d.weight(), d.out(), d.in(), true);
      if (plan.dense_layers <= 32) st.packed[si] = p;
      detail::dense_product(count, d.in(), d.out(), st.value[static_cast<size_t>(s.from)]->data(), d.in(), p,
                            d.bias().data(), out.data(), d.out(), false, s.activation, s.alpha);
      continue;
    }
    st.in.clear();
    for (int j : nodes[i].inputs) st.in.push_back(st.value[static_cast<size_t>(j)]);
    nodes[i].op->forward(st.in, out);
  }
}
}  // namespace

Tensor evaluate(const Network& net, const std::vector<Tensor>& inputs, const std::vector<NeuronRef>& neurons,
                const EvalOptions& options) {
  if (inputs.empty()) throw Error("no inputs given");
  if (inputs.size() != net.input_nodes().size())
    throw Error(fmt::format("the network takes {} inputs, {} given", net.input_nodes().size(), inputs.size()));
  const Index events = inputs[0].events();
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Node& n = net.node(net.input_nodes()[k]);
    if (inputs[k].events() != events || inputs[k].per_event() != shape_size(n.shape))
      throw Error(fmt::format("input '{}' expects per-event shape {}, given {}", n.name, shape_string(n.shape),
                              shape_string(inputs[k].shape())));
  }
  const Index k = static_cast<Index>(neurons.size());
  Tensor out({events, k});
  const ForwardPlan plan = plan_forward(net, neurons);
  detail::for_each_event_tile(
      inputs, options.batch, kTile,
      [&]() {
        thread_local Workspace ws;  // kept per thread between calls: after the first call no tile allocates
        return ForwardState{ws, {}, {}, plan.shapes, {}};
      },
      [&](ForwardState& st, Index, Index begin, Index count, std::vector<const Tensor*>& ptrs) {
        run_forward(net, plan, ptrs, st);
        for (Index j = 0; j < k; ++j) {
          const NeuronRef& r = neurons[static_cast<size_t>(j)];
          const Tensor& v = *st.value[static_cast<size_t>(r.node)];
          const Index pe = v.per_event();
          for (Index e = 0; e < count; ++e) out[(begin + e) * k + j] = v[e * pe + r.index];
        }
      });
  return out;
}

std::vector<Tensor> input_gradient(const Network& net, const std::vector<Tensor>& inputs, const NeuronRef& neuron,
                                   const EvalOptions& options) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) out.emplace_back(t.shape(), 0.0);
  const auto& ids = net.input_nodes();
  for_each_batch(inputs, options.batch, [&](Index begin, Index count, Workspace& ws, auto& ptrs) {
    net.forward(ptrs, ws, neuron.node);
    thread_local Tensor seed;
    Shape s = ws.values[static_cast<size_t>(neuron.node)].shape();
    seed.resize(s);
    seed.fill(0.0);
    const Index pe = seed.per_event();
    for (Index e = 0; e < count; ++e) seed[e * pe + neuron.index] = 1.0;
    net.backward(ws, neuron.node, seed);
    for (size_t k = 0; k < ids.size(); ++k) {
      const Tensor& g = ws.grads[static_cast<size_t>(ids[k])];
      const Index pk = out[k].per_event();
      if (g.size() == 0) continue;  // the neuron does not depend on this input
      std::copy_n(g.data(), count * pk, out[k].data() + begin * pk);
    }
  });
  return out;
}

}  // namespace unbox
