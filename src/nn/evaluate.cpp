// Binding data to a network's inputs (through Events), and batched, parallel evaluation over many events.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <exception>

#include "nn/event_tiles.hpp"
#include "unbox/data.hpp"
#include "unbox/events.hpp"
#include "unbox/network.hpp"

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

Tensor evaluate(const Network& net, const std::vector<Tensor>& inputs, const std::vector<NeuronRef>& neurons,
                const EvalOptions& options) {
  const Index events = inputs.empty() ? 0 : inputs[0].events();
  const Index k = static_cast<Index>(neurons.size());
  Tensor out({events, k});
  int upto = -1;
  for (const auto& r : neurons) upto = std::max(upto, r.node);
  for_each_batch(inputs, options.batch, [&](Index begin, Index count, Workspace& ws, auto& ptrs) {
    net.forward(ptrs, ws, upto);
    for (Index j = 0; j < k; ++j) {
      const Tensor& v = ws.values[static_cast<size_t>(neurons[static_cast<size_t>(j)].node)];
      const Index pe = v.per_event(), idx = neurons[static_cast<size_t>(j)].index;
      for (Index e = 0; e < count; ++e) out[(begin + e) * k + j] = v[e * pe + idx];
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
