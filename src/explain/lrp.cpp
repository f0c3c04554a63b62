// Layer-wise relevance propagation: the engine and the conservation report. The rules are
// data (lrp_rules.cpp), the canonizers their own file (lrp_canonize.cpp); see
// include/unbox/explain/lrp.hpp for the rules and the decisions.
//
// Every linear layer is propagated with clones of its op carrying the rule's modified
// weights and no bias: forward gives sum_i x'_i w'_ij, backward gives sum_j w'_ij s_j, so
// Dense, Conv (any groups, padding, stride) and ParticleDense share one batched code path
// of GEMMs, whatever the rule.
#include "unbox/explain/lrp.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>

#include "nn/dense_kernel.hpp"
#include "nn/event_tiles.hpp"
#include "unbox/naming.hpp"
#include "unbox/ops.hpp"

namespace unbox {

std::string default_target(const Network& net, std::string* note) {
  const NeuronRef out = net.output_neuron();
  const Node& n = net.node(out.node);
  if (n.op && n.op->is_activation()) {
    if (note)
      *note = fmt::format(
          "target: output:pre, the value before the final {} (the logit; sigmoid and tanh break "
          "LRP's sign assumptions); the neuron 'output' explains the post-activation value",
          n.op->type());
    return "output:pre";
  }
  if (note) *note = "target: output (the network has no final activation)";
  return "output";
}

// ---------------------------------------------------------------- propagation

namespace {

// The linear layers (LinearOp: Dense, Conv, ParticleDense) share the rule engine: clones
// with modified weights and no bias.
bool is_linear_layer(const Op& op) { return dynamic_cast<const LinearOp*>(&op) != nullptr; }

// A clone of a linear op with every weight replaced by f(weight) (unchanged when f is
// empty) and no bias.
std::unique_ptr<Op> with_weights(const Op& op, const std::function<double(double)>& f) {
  std::unique_ptr<Op> c = op.clone();
  auto& linear = dynamic_cast<LinearOp&>(*c);
  if (f)
    for (double& x : linear.weight().values()) x = f(x);
  linear.bias().fill(0.0);
  return c;
}

constexpr size_t kInputKinds = 6;  // LrpInput values

// One term of a layer's rule, ready to run: its op clone and its bias per output element.
struct TermPlan {
  LrpInput input;
  std::unique_ptr<Op> op;    // modified weights, no bias
  std::vector<double> bias;  // f(b) per output element (per event); empty: no bias
  int group;
  double sign;
  bool unmodified;  // the layer's own weights and bias (no modifier)
  size_t slot = 0;  // its index in Scratch::packed_terms
};

struct LayerPlan {
  LrpRule rule;
  std::string label;
  std::vector<TermPlan> terms;
  std::unique_ptr<Op> plain;                    // the layer without bias, for the output-sign gates
  std::vector<double> bias;                     // the layer's bias per output element
  std::vector<std::vector<double>> group_bias;  // per group: sum of sign f(b) of its terms
  // Per group: its one term is the layer itself (unchanged weights and bias, identity input,
  // sign +1: LRP-0 and epsilon), so its denominator is the layer's value from the forward pass.
  std::vector<bool> group_is_layer;
  bool gated = false;  // a group reads the sign of z
  Tensor lo, hi;       // zbox bounds [1, input shape]
};

// Scratch tensors of one thread, reused between batches.
struct Scratch {
  std::vector<Tensor> values;      // per node: its value on the tile (the inputs are not copied here)
  std::vector<const Tensor*> val;  // per node: where its value is (an input's tile slice, or values[i])
  std::vector<Shape> shapes;       // per node: [tile, per-event shape...]
  // Per node, for this call: the Dense's packed weights for the forward pass (looked up on the
  // thread's first tile; see forward()).
  std::vector<const double*> packed;
  std::vector<const double*> packed_terms;  // per TermPlan::slot: a Dense term's packed weights (J^T s)
  // Per event, eight partial sums each of the bias, epsilon and unhanded shares (one_group()),
  // added to bias, eps and other at the end of the tile.
  std::vector<double> lanes;
  std::vector<Tensor> rel;
  // Per node: rel holds no value yet (not zero-filled: the first contribution assigns, or the
  // buffer is taken over whole from an activation above it).
  std::vector<char> fresh;
  Tensor t[4];
  Tensor xin[kInputKinds];     // modified inputs of the layer at hand
  std::vector<Tensor> zg, sg;  // per group: denominators, R / denominator
  std::vector<double> bias, eps, other;
  std::vector<const Tensor*> ins;
};

void fwd(const Op& op, const Tensor& x, const Shape& out_event, Tensor& out) {
  Shape s{x.events()};
  s.insert(s.end(), out_event.begin(), out_event.end());
  out.resize(s);
  op.forward({&x}, out);
}
// gin = J^T g (fresh, not added).
void bwd(const Op& op, const Tensor& x, const Tensor& out, const Tensor& g, Tensor& gin) {
  gin.resize(x.shape());
  gin.fill(0.0);
  Tensor* p = &gin;
  op.backward({&x}, out, g, {p}, nullptr);
}

// s = num / den elementwise, 0 where den == 0.
inline double safe_div(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

class Propagator {
 public:
  Propagator(const Network& net, const LrpOptions& o, const std::vector<Tensor>& inputs, LrpRelevance& res)
      : net_(net) {
    target_ = net.resolve(o.neuron.empty() ? default_target(net) : o.neuron);
    need_ = net.ancestors(target_.node);
    const auto& nodes = net.nodes();
    plans_.resize(nodes.size());
    // Layer numbering: the Lk names of a plain stack, else Dense/Conv counted in order.
    std::vector<std::string> lname(nodes.size());
    auto layers = net.layers();
    int counter = 0;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].op && nodes[i].op->is_layer()) lname[i] = fmt::format("L{}", ++counter);
    for (const auto& l : layers)
      if (l.number > 0) lname[static_cast<size_t>(layer_op_node(net, l))] = fmt::format("L{}", l.number);
    // Input layers: linear layers with no linear layer among their ancestors.
    std::vector<bool> after_linear(nodes.size(), false);
    for (size_t i = 0; i < nodes.size(); ++i)
      for (int j : nodes[i].inputs)
        if (after_linear[static_cast<size_t>(j)] ||
            (nodes[static_cast<size_t>(j)].op && is_linear_layer(*nodes[static_cast<size_t>(j)].op)))
          after_linear[i] = true;
    std::vector<int> zbox_nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& nd = nodes[i];
      if (!need_[i] || !nd.op || !is_linear_layer(*nd.op)) continue;
      LayerPlan& p = plans_[i];
      const bool conv = nd.op->type() == "Conv";
      const LrpComposite& c = o.composite;
      p.rule = c.rule_for(!after_linear[i], conv, lname[i], nd.name);
      p.label = fmt::format("{} ({} '{}'): {}", lname[i], nd.op->type(), nd.name, p.rule.name());
      res.layer_rules.push_back(p.label);
      // The bias of every output element: the op on a zero event.
      const Shape& in_shape = nodes[static_cast<size_t>(nd.inputs[0])].shape;
      Shape s1{1};
      s1.insert(s1.end(), in_shape.begin(), in_shape.end());
      Tensor zero(s1, 0.0), b;
      fwd(*nd.op, zero, nd.shape, b);
      p.bias = b.values();
      p.plain = with_weights(*nd.op, {});
      for (const LrpTerm& t : p.rule.terms) {
        if (t.group < 0 || t.group >= static_cast<int>(p.rule.groups.size()))
          throw Error(
              fmt::format("LRP rule '{}': a term names group {} of {}", p.rule.name(), t.group, p.rule.groups.size()));
        TermPlan tp{t.input, with_weights(*nd.op, t.param), {}, t.group, t.sign, !t.param, term_slots_++};
        if (t.bias) {
          tp.bias = p.bias;
          if (t.param)
            for (double& x : tp.bias) x = t.param(x);
        }
        p.terms.push_back(std::move(tp));
      }
      // Per group, the sum of its terms' signed biases (empty: none).
      p.group_bias.assign(p.rule.groups.size(), {});
      for (const TermPlan& t : p.terms) {
        if (t.bias.empty()) continue;
        auto& gb = p.group_bias[static_cast<size_t>(t.group)];
        if (gb.empty()) gb.assign(t.bias.size(), 0.0);
        for (size_t j = 0; j < gb.size(); ++j) gb[j] += t.sign * t.bias[j];
      }
      p.group_is_layer.assign(p.rule.groups.size(), false);
      for (size_t gi = 0; gi < p.rule.groups.size(); ++gi) {
        int terms = 0;
        bool plain = false;
        for (const TermPlan& t : p.terms)
          if (t.group == static_cast<int>(gi)) {
            ++terms;
            plain = t.input == LrpInput::Identity && t.unmodified && !t.bias.empty() && t.sign == 1.0;
          }
        p.group_is_layer[gi] = terms == 1 && plain;
      }
      for (const LrpGroup& g : p.rule.groups) p.gated |= g.gate != LrpGate::All;
      if (p.rule.uses_bounds()) zbox_nodes.push_back(static_cast<int>(i));
    }
    if (!zbox_nodes.empty()) {
      if (o.bounds.empty())
        set_bounds(zbox_nodes, inputs);
      else
        take_bounds(zbox_nodes, o.bounds);
      for (int id : zbox_nodes)
        res.bounds.range[net.node(id).name] = {plans_[static_cast<size_t>(id)].lo.values(),
                                               plans_[static_cast<size_t>(id)].hi.values()};
    }
    // Check every op on the way can be propagated before any work is done.
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!need_[i] || !nodes[i].op) continue;
      check_op(static_cast<int>(i));
    }
    // The forward pass: the nodes the target needs, in order; the Dense ones on the kernel, which
    // also stores the activation when a ReLU or LeakyReLU (0 <= alpha <= 1) is the Dense's one
    // consumer (the kernel computes it bit for bit as the op does).
    dense_.assign(nodes.size(), nullptr);
    fused_.assign(nodes.size(), {-1, detail::StoreActivation::None, 0.0});
    shapes_.resize(nodes.size());
    std::vector<int> consumers(nodes.size(), 0), consumer(nodes.size(), -1);
    for (size_t i = 0; i < nodes.size(); ++i)
      if (need_[i])
        for (int j : nodes[i].inputs) ++consumers[static_cast<size_t>(j)], consumer[static_cast<size_t>(j)] = int(i);
    std::vector<bool> by_kernel(nodes.size(), false);
    int packs = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      shapes_[i] = {0};
      shapes_[i].insert(shapes_[i].end(), nodes[i].shape.begin(), nodes[i].shape.end());
      if (!need_[i] || nodes[i].is_input() || by_kernel[i]) continue;
      forward_nodes_.push_back(static_cast<int>(i));
      if (!detail::use_reference_dense) dense_[i] = dynamic_cast<const Dense*>(nodes[i].op.get());
      if (dense_[i]) ++packs;
      if (plans_[i].plain) packs += static_cast<int>(plans_[i].terms.size());
      if (dense_[i] && consumers[i] == 1) {
        const auto c = static_cast<size_t>(consumer[i]);
        const auto* act = nodes[c].op->is_activation() ? dynamic_cast<const Activation*>(nodes[c].op.get()) : nullptr;
        if (act && (act->kind() == ActivationKind::ReLU ||
                    (act->kind() == ActivationKind::LeakyReLU && act->alpha() >= 0 && act->alpha() <= 1))) {
          fused_[i] = {
              static_cast<int>(c),
              act->kind() == ActivationKind::ReLU ? detail::StoreActivation::ReLU : detail::StoreActivation::LeakyReLU,
              act->alpha()};
          by_kernel[c] = true;
        }
      }
    }
    cache_packs_ = packs <= 32;
  }

  const NeuronRef& target() const { return target_; }

  // Sets a thread's Scratch up for one call (lrp() runs this once per thread).
  void start(Scratch& s) const {
    const size_t N = net_.nodes().size();
    s.values.resize(N);
    s.val.assign(N, nullptr);
    s.shapes = shapes_;
    s.packed.assign(N, nullptr);
    s.packed_terms.assign(term_slots_, nullptr);
    s.rel.resize(N);
    s.fresh.assign(N, 1);
  }

  // Relevances of one batch: fills s.rel for the input nodes; per-event absorption.
  void run(const std::vector<const Tensor*>& in, Scratch& s) const {
    forward(in, s);
    const auto& nodes = net_.nodes();
    const Index B = in[0]->events();
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!need_[i]) {
        if (!s.rel[i].empty()) s.rel[i] = Tensor();  // an input the target does not read gets none
        continue;
      }
      s.rel[i].resize(s.val[i]->shape());
      s.fresh[i] = 1;
    }
    s.bias.assign(static_cast<size_t>(B), 0.0);
    s.eps.assign(static_cast<size_t>(B), 0.0);
    s.other.assign(static_cast<size_t>(B), 0.0);
    s.lanes.assign(static_cast<size_t>(B) * 24, 0.0);
    {
      Tensor& r = rel_zeroed(target_.node, s);
      const Tensor& v = *s.val[static_cast<size_t>(target_.node)];
      const Index pe = r.per_event();
      for (Index e = 0; e < B; ++e) r[e * pe + target_.index] = v[e * pe + target_.index];
    }
    for (int i = target_.node; i >= 0; --i) {
      if (!need_[static_cast<size_t>(i)]) continue;
      if (nodes[static_cast<size_t>(i)].is_input()) {
        rel_zeroed(i, s);  // an input no relevance reached (a mask, say) gets zeros
        continue;
      }
      rel_zeroed(i, s);  // a node nothing handed relevance to passes zeros on
      step(i, s);
    }
    for (Index e = 0; e < B; ++e) {
      const double* l = s.lanes.data() + e * 24;
      auto total = [](const double* p) { return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7])); };
      const auto ue = static_cast<size_t>(e);
      s.bias[ue] += total(l);
      s.eps[ue] += total(l + 8);
      s.other[ue] += total(l + 16);
    }
  }

 private:
  // The relevance buffer of node i, zero-filled if nothing has been written to it yet (for
  // propagations that add into it).
  static Tensor& rel_zeroed(int i, Scratch& s) {
    const auto u = static_cast<size_t>(i);
    if (s.fresh[u]) {
      s.rel[u].fill(0.0);
      s.fresh[u] = 0;
    }
    return s.rel[u];
  }

  // The forward pass up to the target, keeping every node's value: the inputs' tile slices used
  // in place (when shaped as the input node), each Dense through the kernel with its packed weights looked up once per
  // thread and call (when the call's packs cannot evict one another: at most 32 of them), every other op as
  // Network::forward runs it. The same values, bit for bit, as Network::forward.
  void forward(const std::vector<const Tensor*>& in, Scratch& s) const {
    const auto& nodes = net_.nodes();
    const Index B = in[0]->events();
    const auto& ids = net_.input_nodes();
    for (size_t k = 0; k < ids.size(); ++k) {
      // The tile slice in place when it has the node's shape; a tensor input given flat ([B, P*F]
      // for [P, F]) is copied into that shape (ops read the shape), as Network::forward does.
      const auto u = static_cast<size_t>(ids[k]);
      Shape& shape = s.shapes[u];
      shape[0] = B;
      if (in[k]->shape() == shape) {
        s.val[u] = in[k];
        continue;
      }
      s.values[u].resize(shape);
      std::copy_n(in[k]->data(), in[k]->size(), s.values[u].data());
      s.val[u] = &s.values[u];
    }
    std::vector<const Tensor*>& ins = s.ins;
    for (int i : forward_nodes_) {
      const auto u = static_cast<size_t>(i);
      const Node& nd = nodes[u];
      Shape& shape = s.shapes[u];
      shape[0] = B;
      Tensor& out = s.values[u];
      out.resize(shape);
      s.val[u] = &out;
      const auto* d = dense_[u];
      if (d) {
        const double* p = s.packed[u];
        if (!p) p = detail::packed_weights(d, d->weight(), d->out(), d->in(), true);
        if (cache_packs_) s.packed[u] = p;
        const double* x = s.val[static_cast<size_t>(nd.inputs[0])]->data();
        const Fused& f = fused_[u];
        if (f.node < 0) {
          detail::dense_product(B, d->in(), d->out(), x, d->in(), p, d->bias().data(), out.data(), d->out(), false);
          continue;
        }
        const auto a = static_cast<size_t>(f.node);
        s.shapes[a][0] = B;
        s.values[a].resize(s.shapes[a]);
        s.val[a] = &s.values[a];
        detail::dense_product_keep(B, d->in(), d->out(), x, d->in(), p, d->bias().data(), out.data(),
                                   s.values[a].data(), d->out(), f.kind, f.alpha);
        continue;
      }
      ins.clear();
      for (int j : nd.inputs) ins.push_back(s.val[static_cast<size_t>(j)]);
      nd.op->forward(ins, out);
    }
  }

  void set_bounds(const std::vector<int>& layer_nodes, const std::vector<Tensor>& inputs) {
    // Per-element min and max over the data of each zbox layer's input values.
    const Index N = inputs[0].events();
    const Index chunk = 4096;
    Workspace ws;
    for (int id : layer_nodes) {
      const int src = net_.node(id).inputs[0];
      const Shape& sh = net_.node(src).shape;
      Shape s1{1};
      s1.insert(s1.end(), sh.begin(), sh.end());
      plans_[static_cast<size_t>(id)].lo = Tensor(s1, INFINITY);
      plans_[static_cast<size_t>(id)].hi = Tensor(s1, -INFINITY);
    }
    for (Index b = 0; b < N; b += chunk) {
      const Index n = std::min(chunk, N - b);
      std::vector<Tensor> sl;
      std::vector<const Tensor*> ptrs;
      for (const Tensor& t : inputs) sl.push_back(t.slice_events(b, n));
      for (const Tensor& t : sl) ptrs.push_back(&t);
      net_.forward(ptrs, ws, target_.node);
      for (int id : layer_nodes) {
        const Tensor& v = ws.values[static_cast<size_t>(net_.node(id).inputs[0])];
        LayerPlan& p = plans_[static_cast<size_t>(id)];
        const Index pe = v.per_event();
        for (Index e = 0; e < n; ++e)
          for (Index j = 0; j < pe; ++j) {
            p.lo[j] = std::min(p.lo[j], v[e * pe + j]);
            p.hi[j] = std::max(p.hi[j], v[e * pe + j]);
          }
      }
    }
  }

  // Ranges given (a first pass over every chunk or rank), by the layer's node name.
  void take_bounds(const std::vector<int>& layer_nodes, const LrpBounds& given) {
    for (int id : layer_nodes) {
      const Node& nd = net_.node(id);
      const auto it = given.range.find(nd.name);
      const Shape& sh = net_.node(nd.inputs[0]).shape;
      Shape s1{1};
      s1.insert(s1.end(), sh.begin(), sh.end());
      const Tensor probe(s1, 0.0);
      if (it == given.range.end() || static_cast<Index>(it->second.first.size()) != probe.size() ||
          it->second.second.size() != it->second.first.size())
        throw Error(fmt::format("LRP: no zbox range of {} values for layer node '{}'", probe.size(), nd.name));
      plans_[static_cast<size_t>(id)].lo = Tensor(s1, it->second.first);
      plans_[static_cast<size_t>(id)].hi = Tensor(s1, it->second.second);
    }
  }

  [[noreturn]] void refuse(int id, const std::string& why) const {
    const Node& nd = net_.node(id);
    throw Error(fmt::format("LRP cannot pass operation '{}' (node '{}'): {}", nd.op->type(), nd.name, why));
  }

  void check_op(int id) const {
    const Node& nd = net_.node(id);
    const std::string t = nd.op->type();
    if (t == "Softmax" || t == "SoftmaxAxis" || t == "LogSoftmax") {
      if (id != target_.node)
        refuse(id, "a softmax between the inputs and the target has no relevance rule; explain a neuron before it");
      return;
    }
    if (is_linear_layer(*nd.op) || nd.op->is_activation() || t == "Standardize" || t == "ClipMinMax" || t == "Concat" ||
        t == "Slice" || t == "Add" || t == "Reshape" || t == "Transpose" || t == "Pad" || t == "MaxPool" ||
        t == "AveragePool" || t == "BatchNorm" || t == "ParticleStandardize" || t == "ParticlePool" ||
        t == "ReduceSum" || t == "ReduceMean")
      return;
    if (t == "Binary") {
      const auto& b = static_cast<const Binary&>(*nd.op);
      using K = BinaryKind;
      if (b.side() == Binary::ConstSide::None && (b.kind() == K::Mul || b.kind() == K::Div))
        refuse(id, "a product or quotient of two tensors has no relevance rule");
      if (b.side() == Binary::ConstSide::Left && b.kind() == K::Div)
        refuse(id, "constant / x is not linear in x; no relevance rule");
      return;
    }
    refuse(id,
           "no relevance rule for this operation (known: Dense, Conv, pooling, BatchNorm, activations, "
           "Standardize, Concat, Add, Binary, Reshape, Transpose, Pad, ParticleStandardize, ParticleDense, "
           "ParticlePool, ReduceSum, ReduceMean)");
  }

  // Proportional split (LRP-0 on a linear op): R_k = x_k (J_k^T (R / out)); constants in
  // `out` act as a bias and absorb their share. Only the first `split_inputs` inputs
  // receive relevance (ParticlePool: the values, not the raw input it reads the mask from).
  void proportional(int id, Scratch& s, size_t split_inputs = SIZE_MAX) const {
    const Node& nd = net_.node(id);
    const Tensor& out = (*s.val[static_cast<size_t>(id)]);
    const Tensor& R = s.rel[static_cast<size_t>(id)];
    const Index B = out.events(), pe = out.per_event();
    Tensor& sd = s.t[0];
    sd.resize(out.shape());
    std::vector<double> before(static_cast<size_t>(B), 0.0);
    for (Index e = 0; e < B; ++e)
      for (Index j = 0; j < pe; ++j) {
        const Index k = e * pe + j;
        sd[k] = safe_div(R[k], out[k]);
        if (out[k] == 0.0)
          s.other[static_cast<size_t>(e)] += R[k];
        else
          before[static_cast<size_t>(e)] += R[k];
      }
    std::vector<const Tensor*> ins;
    for (int j : nd.inputs) ins.push_back(s.val[static_cast<size_t>(j)]);
    for (size_t k = 0; k < std::min(split_inputs, nd.inputs.size()); ++k) {
      Tensor& g = s.t[1 + (k % 2)];
      g.resize(ins[k]->shape());
      g.fill(0.0);
      std::vector<Tensor*> gin(nd.inputs.size(), nullptr);
      gin[k] = &g;
      nd.op->backward(ins, out, sd, gin, nullptr);
      Tensor& Rin = rel_zeroed(nd.inputs[k], s);
      const Index pk = g.per_event();
      for (Index e = 0; e < B; ++e) {
        double sum = 0;
        for (Index j = 0; j < pk; ++j) {
          const double r = (*ins[k])[e * pk + j] * g[e * pk + j];
          Rin[e * pk + j] += r;
          sum += r;
        }
        before[static_cast<size_t>(e)] -= sum;
      }
    }
    for (Index e = 0; e < B; ++e) s.bias[static_cast<size_t>(e)] += before[static_cast<size_t>(e)];
  }

  // Relevance moves with the values (J is a 0/1 routing): R_in = J^T R.
  void route(int id, Scratch& s) const {
    const Node& nd = net_.node(id);
    std::vector<const Tensor*> ins;
    std::vector<Tensor*> gin;
    for (int j : nd.inputs) ins.push_back(s.val[static_cast<size_t>(j)]);
    // backward adds into gin: give it the relevance buffers directly (distinct inputs).
    for (size_t k = 0; k < nd.inputs.size(); ++k) {
      bool dup = false;
      for (size_t m = 0; m < k; ++m) dup |= nd.inputs[m] == nd.inputs[k];
      gin.push_back(dup ? nullptr : &rel_zeroed(nd.inputs[k], s));
    }
    nd.op->backward(ins, (*s.val[static_cast<size_t>(id)]), s.rel[static_cast<size_t>(id)], gin, nullptr);
    for (size_t k = 0; k < nd.inputs.size(); ++k) {
      if (gin[k]) continue;
      // The same node fed twice: route that slot separately.
      Tensor& g = s.t[3];
      g.resize(ins[k]->shape());
      g.fill(0.0);
      std::vector<Tensor*> one(nd.inputs.size(), nullptr);
      one[k] = &g;
      nd.op->backward(ins, (*s.val[static_cast<size_t>(id)]), s.rel[static_cast<size_t>(id)], one, nullptr);
      Tensor& Rin = rel_zeroed(nd.inputs[k], s);
      for (Index j = 0; j < g.size(); ++j) Rin[j] += g[j];
    }
  }

  // The relevance goes on unchanged. When the input has none yet, it takes the buffer over whole
  // (no copy; node id's relevance is not read again).
  void pass(int id, Scratch& s) const {
    const Node& nd = net_.node(id);
    const auto in = static_cast<size_t>(nd.inputs[0]);
    Tensor& R = s.rel[static_cast<size_t>(id)];
    if (s.fresh[in] && s.rel[in].shape() == R.shape()) {
      std::swap(s.rel[in], R);
      s.fresh[in] = 0;
      s.fresh[static_cast<size_t>(id)] = 1;
      return;
    }
    Tensor& Rin = rel_zeroed(nd.inputs[0], s);
    for (Index j = 0; j < R.size(); ++j) Rin[j] += R[j];
  }

  // One linear layer under its rule (see LrpRule): per group g, the denominator D_g (the
  // terms' forward passes, their biases, the stabilizer), s_g = c_g gate R / D_g, then
  // R_in += sign_t m_t(x) J_t^T s_g for every term. Bias, stabilizer, zero denominators
  // and the share the weights c_g do not hand on are booked per event.
  void linear(int id, Scratch& s) const {
    const Node& nd = net_.node(id);
    const LayerPlan& p = plans_[static_cast<size_t>(id)];
    const Tensor& x = (*s.val[static_cast<size_t>(nd.inputs[0])]);
    const Tensor& R = s.rel[static_cast<size_t>(id)];
    const auto in = static_cast<size_t>(nd.inputs[0]);
    Tensor& Rin = s.rel[in];
    const Index B = x.events(), pe = R.per_event(), pin = x.per_event();
    const LrpRule& rule = p.rule;
    const size_t G = rule.groups.size();
    Tensor &out = s.t[0], &g = s.t[1], &z = s.t[2];
    // The modified inputs the terms read, each computed once.
    bool have[kInputKinds] = {};
    auto input = [&](LrpInput kind) -> const Tensor& {
      const auto k = static_cast<size_t>(kind);
      if (kind == LrpInput::Identity) return x;
      Tensor& m = s.xin[k];
      if (have[k]) return m;
      have[k] = true;
      m.resize(x.shape());
      switch (kind) {
        case LrpInput::Positive:
          for (Index q = 0; q < x.size(); ++q) m[q] = x[q] > 0 ? x[q] : 0.0;
          break;
        case LrpInput::Negative:
          for (Index q = 0; q < x.size(); ++q) m[q] = x[q] < 0 ? x[q] : 0.0;
          break;
        case LrpInput::Ones:
          m.fill(1.0);
          break;
        case LrpInput::Low:
        case LrpInput::High: {
          const Tensor& bound = kind == LrpInput::Low ? p.lo : p.hi;
          for (Index e = 0; e < B; ++e)
            for (Index j = 0; j < pin; ++j) m[e * pin + j] = bound[j];
          break;
        }
        case LrpInput::Identity:
          break;
      }
      return m;
    };
    if (s.zg.size() < G) s.zg.resize(G), s.sg.resize(G);
    // Denominators: sum over the group's terms of sign x' w' (the biases join below).
    for (size_t gi = 0; gi < G; ++gi) {
      if (rule.groups[gi].weight == 0.0) continue;  // hands nothing on (beta = 0)
      if (p.group_is_layer[gi]) continue;           // the layer's own value (below)
      Tensor& zz = s.zg[gi];
      bool first = true;
      for (const TermPlan& t : p.terms) {
        if (t.group != static_cast<int>(gi)) continue;
        if (first && t.sign == 1.0) {
          fwd(*t.op, input(t.input), nd.shape, zz);
        } else {
          fwd(*t.op, input(t.input), nd.shape, out);
          if (first) zz.resize(out.shape()), zz.fill(0.0);
          for (Index k = 0; k < out.size(); ++k) zz[k] += t.sign * out[k];
        }
        first = false;
      }
      if (first) zz.resize(R.shape()), zz.fill(0.0);
    }
    // The layer's own z for the output-sign gates.
    if (p.gated) {
      fwd(*p.plain, x, nd.shape, z);
      for (Index e = 0; e < B; ++e)
        for (Index j = 0; j < pe; ++j) z[e * pe + j] += p.bias[static_cast<size_t>(j)];
    }
    const double eps = rule.epsilon;
    // Relevance each output element hands on, when several groups share it.
    Tensor& handed = s.t[3];
    if (G > 1) {
      handed.resize(R.shape());
      handed.fill(0.0);
    }
    for (size_t gi = 0; gi < G; ++gi) {
      const LrpGroup& grp = rule.groups[gi];
      if (grp.weight == 0.0) continue;
      // The denominator without and with the biases: the layer's own value z = x W + b when
      // the group is the layer itself, else the terms' sum plus their biases.
      const bool own = p.group_is_layer[gi];
      const Tensor& zz = own ? (*s.val[static_cast<size_t>(id)]) : s.zg[gi];
      Tensor& sd = s.sg[gi];
      sd.resize(zz.shape());
      const std::vector<double>& gb = p.group_bias[gi];
      if (G == 1 && grp.gate == LrpGate::All) {
        one_group(zz, own, gb, R, grp.weight, eps, B, pe, sd, s);
        continue;
      }
      for (Index e = 0; e < B; ++e) {
        double bias_part = 0, eps_part = 0, other = 0;
        for (Index j = 0; j < pe; ++j) {
          const Index k = e * pe + j;
          const double b = gb.empty() ? 0.0 : gb[static_cast<size_t>(j)];
          const double zb = own ? zz[k] : zz[k] + b;
          const bool open = grp.gate == LrpGate::All || (grp.gate == LrpGate::PositiveOutput ? z[k] > 0 : z[k] < 0);
          // sign(0) = +1: a zero denominator is pushed up by epsilon.
          const double st = zb >= 0 ? eps : -eps;
          const double den = zb + st;
          sd[k] = open ? safe_div(grp.weight * R[k], den) : 0.0;
          const double h = open && den != 0.0 ? grp.weight * R[k] : 0.0;
          if (G > 1)
            handed[k] += h;
          else
            other += R[k] - h;
          if (h == 0.0) continue;
          eps_part += sd[k] * st;
          bias_part += sd[k] * b;
        }
        const auto ue = static_cast<size_t>(e);
        s.bias[ue] += bias_part;
        s.eps[ue] += eps_part;
        s.other[ue] += other;
      }
    }
    // What no group handed on (zero denominators, closed gates, beta without a negative part).
    if (G > 1)
      for (Index e = 0; e < B; ++e)
        for (Index j = 0; j < pe; ++j) s.other[static_cast<size_t>(e)] += R[e * pe + j] - handed[e * pe + j];
    // R_in += sign m(x) * J^T s.
    for (const TermPlan& t : p.terms) {
      if (rule.groups[static_cast<size_t>(t.group)].weight == 0.0) continue;
      const Tensor& xi = input(t.input);
      const Tensor& sg = s.sg[static_cast<size_t>(t.group)];
      if (const auto* d = dynamic_cast<const Dense*>(t.op.get()); d && !detail::use_reference_dense) {
        // g = s W directly with the kernel (no zero fill and accumulate as in Dense::backward);
        // the packed weights looked up once per thread and call (as in forward()).
        const double* pw = s.packed_terms[t.slot];
        if (!pw) pw = detail::packed_weights(d, d->weight(), d->out(), d->in(), false);
        if (cache_packs_) s.packed_terms[t.slot] = pw;
        if (s.fresh[in] && t.sign == 1.0) {
          // The first contribution, R_in = x (J^T s): the kernel multiplies by x as it stores.
          detail::dense_product_scaled(B, d->out(), d->in(), sg.data(), d->out(), pw, xi.data(), Rin.data(), d->in());
          s.fresh[in] = 0;
          continue;
        }
        g.resize(xi.shape());
        detail::dense_product(B, d->out(), d->in(), sg.data(), d->out(), pw, nullptr, g.data(), d->in(), false);
      } else {
        bwd(*t.op, xi, out, sg, g);
      }
      if (s.fresh[in]) {  // the first contribution: assigned (no zero fill)
        for (Index k = 0; k < Rin.size(); ++k) Rin[k] = t.sign * xi[k] * g[k];
        s.fresh[in] = 0;
      } else {
        for (Index k = 0; k < Rin.size(); ++k) Rin[k] += t.sign * xi[k] * g[k];
      }
    }
  }

  // The per-element part of linear() for one ungated group (LRP-0, epsilon, gamma, ...): the
  // same values as the general loop there, in one pass per event, eight outputs at a time
  // (GCC vector extensions: AVX-512 where the build targets it, the same lane-wise operations on
  // any other target, so the same bits). The three per-event sums run in eight partial sums
  // (output j goes to partial j mod 8; an event's last block is zero-padded, which adds zeros),
  // kept across the layers in Scratch::lanes and added in a fixed order at the end of the tile:
  // an event's sums do not depend on other events, the tile or the thread count.
  static void one_group(const Tensor& zz, bool own, const std::vector<double>& gb, const Tensor& R, double weight,
                        double eps, Index B, Index pe, Tensor& sd, Scratch& s) {
    using V = double __attribute__((vector_size(64)));
    auto load = [](const double* p) {
      V v;
      std::memcpy(&v, p, sizeof v);
      return v;
    };
    const double* z = zz.data();
    const double* r = R.data();
    double* q = sd.data();
    const bool with_bias = !own && !gb.empty();
    const bool has_b = !gb.empty();
    const V veps = V{} + eps, vweight = V{} + weight, zero = V{}, one = V{} + 1.0;
    for (Index e = 0; e < B; ++e) {
      const double* ze = z + e * pe;
      const double* re = r + e * pe;
      double* qe = q + e * pe;
      double* lanes = s.lanes.data() + e * 24;  // bias, epsilon, other: eight partial sums each
      V bias_part = load(lanes), eps_part = load(lanes + 8), other = load(lanes + 16);
      // One block of eight outputs: zv, rv, bv the denominators (without the bias unless the
      // group is the layer itself), relevances and biases; returns R / denominator.
      auto block = [&](V zv, V rv, V bv) {
        const V zb = with_bias ? zv + bv : zv;
        // sign(0) = +1: a zero denominator is pushed up by epsilon.
        const V sign_eps = zb >= zero ? veps : -veps;
        const V den = zb + sign_eps;
        const V wr = vweight * rv;
        const auto handed = den != zero;
        const V qv = handed ? wr / (handed ? den : one) : zero;
        other += rv - (handed ? wr : zero);  // what is not handed on
        // Where nothing is handed on, q is 0 and its terms add nothing.
        eps_part += qv * sign_eps;
        bias_part += qv * bv;
        return qv;
      };
      Index j = 0;
      for (; j + 8 <= pe; j += 8) {
        const V qv = block(load(ze + j), load(re + j), has_b ? load(gb.data() + j) : zero);
        std::memcpy(qe + j, &qv, sizeof qv);
      }
      if (j < pe) {
        const auto n = static_cast<size_t>(pe - j);
        double zt[8] = {}, rt[8] = {}, bt[8] = {}, qt[8];
        std::copy_n(ze + j, n, zt);
        std::copy_n(re + j, n, rt);
        if (has_b) std::copy_n(gb.data() + j, n, bt);
        const V qv = block(load(zt), load(rt), load(bt));
        std::memcpy(qt, &qv, sizeof qv);
        std::copy_n(qt, n, qe + j);
      }
      std::memcpy(lanes, &bias_part, sizeof bias_part);
      std::memcpy(lanes + 8, &eps_part, sizeof eps_part);
      std::memcpy(lanes + 16, &other, sizeof other);
    }
  }

  void step(int id, Scratch& s) const {
    const Node& nd = net_.node(id);
    const Op& op = *nd.op;
    const std::string t = op.type();
    if (is_linear_layer(op)) return linear(id, s);
    if (t == "Softmax" || t == "SoftmaxAxis" || t == "LogSoftmax") {
      if (id != target_.node) refuse(id, "softmax inside the network");
      return pass(id, s);  // the explained probability goes to its logit
    }
    // ParticleStandardize: [P*F] -> [P, F] keeps the particle-major order, so the flat
    // relevance of element p*F+f is that of input column p*F+f.
    if (op.is_activation() || t == "Standardize" || t == "ClipMinMax" || t == "ParticleStandardize") return pass(id, s);
    // ParticlePool: R_p = w_p x_p / out * R (sum and mean alike); padded particles have
    // w_p = 0 and get exactly 0; the mask source (input 1) gets none.
    if (t == "ParticlePool") return proportional(id, s, 1);
    if (t == "ReduceSum" || t == "ReduceMean") return proportional(id, s);
    if (t == "Concat" || t == "Slice" || t == "Reshape" || t == "Transpose" || t == "Pad" || t == "MaxPool")
      return route(id, s);
    if (t == "AveragePool" || t == "Add" || t == "Binary" || t == "BatchNorm") return proportional(id, s);
    refuse(id, "no relevance rule for this operation");
  }

  const Network& net_;
  NeuronRef target_;
  std::vector<bool> need_;
  std::vector<LayerPlan> plans_;
  std::vector<int> forward_nodes_;   // the forward pass's nodes, in order
  std::vector<const Dense*> dense_;  // per node: the Dense computed by the kernel, or null
  struct Fused {
    int node;  // the activation the kernel stores as well (-1: none)
    detail::StoreActivation kind;
    double alpha;
  };
  std::vector<Fused> fused_;   // per Dense node
  std::vector<Shape> shapes_;  // per node: [0, per-event shape...]
  bool cache_packs_ = false;   // keep each Dense's packed weights per thread and call
  size_t term_slots_ = 0;      // TermPlans made
};

}  // namespace

LrpRelevance lrp(const Network& net_in, const std::vector<Tensor>& inputs, const LrpOptions& o) {
  if (inputs.empty()) throw Error("LRP: no inputs");
  Network net = o.canonize ? canonize(net_in) : net_in;
  LrpRelevance res;
  Propagator prop(net, o, inputs, res);
  res.target = o.neuron.empty() ? default_target(net) : o.neuron;
  // The data's names for a flat input, as gather_inputs reads them; NAME[i,j] for tensors.
  res.features = input_element_names(net);
  const Index N = inputs[0].events();
  const Index F = static_cast<Index>(res.features.size());
  res.relevance = Tensor({N, F}, 0.0);
  res.inputs = Tensor({N, F}, 0.0);
  res.output.assign(static_cast<size_t>(N), 0.0);
  res.input_sum.assign(static_cast<size_t>(N), 0.0);
  res.bias.assign(static_cast<size_t>(N), 0.0);
  res.epsilon.assign(static_cast<size_t>(N), 0.0);
  res.other.assign(static_cast<size_t>(N), 0.0);
  const auto& ids = net.input_nodes();
  // Batches spread over the threads, each in tiles of at most 256 events whose layer values stay
  // in the core's cache (every event is propagated on its own: the tile size changes no bit); a
  // Scratch per thread, kept between calls (run() sizes every buffer it uses for the network at hand).
  const Index batch = std::max<Index>(1, o.batch);
  ProgressCounter progress(o.progress, N);
  detail::for_each_event_tile(
      inputs, batch, std::min<Index>(batch, 256),
      [&]() -> Scratch& {
        thread_local Scratch s;  // every buffer is resized per tile: after the first call no tile allocates
        prop.start(s);
        return s;
      },
      [&](Scratch& s, Index, Index begin, Index count, std::vector<const Tensor*>& ptrs) {
        prop.run(ptrs, s);
        progress.add(count);
        const auto tn = static_cast<size_t>(prop.target().node);
        const Index tpe = (*s.val[tn]).per_event();
        for (Index e = 0; e < count; ++e) {
          const auto ge = static_cast<size_t>(begin + e);
          res.output[ge] = (*s.val[tn])[e * tpe + prop.target().index];
          res.bias[ge] = s.bias[static_cast<size_t>(e)];
          res.epsilon[ge] = s.eps[static_cast<size_t>(e)];
          res.other[ge] = s.other[static_cast<size_t>(e)];
        }
        Index off = 0;
        for (size_t k = 0; k < ids.size(); ++k) {
          const Tensor& r = s.rel[static_cast<size_t>(ids[k])];
          const Index pk = ptrs[k]->per_event();
          for (Index e = 0; e < count; ++e) {
            double sum = 0;
            for (Index j = 0; j < pk; ++j) {
              const double v = r.empty() ? 0.0 : r[e * pk + j];
              res.relevance[(begin + e) * F + off + j] = v;
              res.inputs[(begin + e) * F + off + j] = (*ptrs[k])[e * pk + j];
              sum += v;
            }
            res.input_sum[static_cast<size_t>(begin + e)] += sum;
          }
          off += pk;
        }
      });
  progress.finish();
  return res;
}

LrpBounds lrp_bounds(const Network& net_in, const std::vector<Tensor>& inputs, const LrpOptions& o) {
  if (inputs.empty()) throw Error("LRP: no inputs");
  const Network net = o.canonize ? canonize(net_in) : net_in;
  LrpOptions own = o;
  own.bounds = LrpBounds();
  LrpRelevance res;
  Propagator prop(net, own, inputs, res);  // finds the ranges of these inputs
  return res.bounds;
}

ConservationSummary summarize_conservation(const LrpRelevance& r) {
  ConservationSummary c;
  const size_t n = r.output.size();
  if (n == 0) return c;
  for (size_t e = 0; e < n; ++e) {
    c.mean_abs_error += std::abs(r.output[e] - r.input_sum[e]);
    c.mean_abs_bias += std::abs(r.bias[e]);
    c.mean_abs_epsilon += std::abs(r.epsilon[e]);
    c.mean_abs_other += std::abs(r.other[e]);
    c.mean_output += r.output[e];
    c.max_abs_unexplained =
        std::max(c.max_abs_unexplained, std::abs(r.output[e] - r.input_sum[e] - r.bias[e] - r.epsilon[e] - r.other[e]));
  }
  const double dn = static_cast<double>(n);
  c.mean_abs_error /= dn, c.mean_abs_bias /= dn, c.mean_abs_epsilon /= dn, c.mean_abs_other /= dn, c.mean_output /= dn;
  return c;
}

nlohmann::json ConservationSummary::to_json() const {
  return {{"mean_abs_error", mean_abs_error},           {"mean_abs_bias", mean_abs_bias},
          {"mean_abs_epsilon", mean_abs_epsilon},       {"mean_abs_other", mean_abs_other},
          {"max_abs_unexplained", max_abs_unexplained}, {"mean_output", mean_output}};
}

}  // namespace unbox
