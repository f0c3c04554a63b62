// Layer-wise relevance propagation: rules, composites, canonization, conservation report.
// See include/unbox/explain/lrp.hpp for the rules and the decisions.
//
// Every linear layer is propagated with clones of its op carrying modified weights (w+,
// w-, w^2, ones) and no bias: forward gives sum_i x_i w'_ij, backward gives sum_j w'_ij s_j,
// so Dense, Conv (any groups, padding, stride) and ParticleDense share one batched code path
// of GEMMs.
#include "unbox/explain/lrp.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>

#include "unbox/ops_more.hpp"
#include "unbox/ops_particles.hpp"
#include "nn/event_tiles.hpp"

namespace unbox {

// ---------------------------------------------------------------- rules and composites

std::string LrpRule::name() const {
  switch (kind) {
    case LrpRuleKind::Zero: return "0";
    case LrpRuleKind::Epsilon: return "epsilon";
    case LrpRuleKind::Gamma: return "gamma";
    case LrpRuleKind::AlphaBeta: return fmt::format("alpha{}beta{}", alpha, beta);
    case LrpRuleKind::ZPlus: return "zplus";
    case LrpRuleKind::WSquare: return "wsquare";
    case LrpRuleKind::Flat: return "flat";
    case LrpRuleKind::ZBox: return "zbox";
  }
  return "?";
}

namespace {
bool parse_number(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}
const char* kRuleNames = "0, epsilon, gamma, alpha1beta0, alpha2beta1 (any alphaAbetaB with A - B = 1), zplus, wsquare, "
                         "flat, zbox";
}  // namespace

LrpRule parse_lrp_rule(const std::string& name, double epsilon, double gamma) {
  LrpRule r;
  r.epsilon = epsilon;
  r.gamma = gamma;
  if (name == "0" || name == "lrp0" || name == "zero") r.kind = LrpRuleKind::Zero;
  else if (name == "epsilon") r.kind = LrpRuleKind::Epsilon;
  else if (name == "gamma") r.kind = LrpRuleKind::Gamma;
  else if (name == "zplus") r.kind = LrpRuleKind::ZPlus;
  else if (name == "wsquare") r.kind = LrpRuleKind::WSquare;
  else if (name == "flat") r.kind = LrpRuleKind::Flat;
  else if (name == "zbox") r.kind = LrpRuleKind::ZBox;
  else if (name.rfind("alpha", 0) == 0 && name.find("beta") != std::string::npos) {
    const auto b = name.find("beta");
    double a = 0, be = 0;
    if (!parse_number(std::string_view(name).substr(5, b - 5), a) ||
        !parse_number(std::string_view(name).substr(b + 4), be))
      throw Error(fmt::format("bad LRP rule '{}': expected alphaAbetaB, e.g. alpha2beta1", name));
    if (std::abs(a - be - 1.0) > 1e-12 || be < 0)
      throw Error(fmt::format("bad LRP rule '{}': alpha - beta must be 1 and beta >= 0 (e.g. alpha1beta0, alpha2beta1)",
                              name));
    r.kind = LrpRuleKind::AlphaBeta;
    r.alpha = a;
    r.beta = be;
  } else {
    throw Error(fmt::format("unknown LRP rule '{}'; known rules: {}", name, kRuleNames));
  }
  if (r.kind == LrpRuleKind::Epsilon && !(epsilon > 0))
    throw Error(fmt::format("--epsilon must be positive, got {}", epsilon));
  if (r.kind == LrpRuleKind::Gamma && !(gamma >= 0)) throw Error(fmt::format("--gamma must be >= 0, got {}", gamma));
  return r;
}

std::vector<std::string> lrp_composite_names() {
  return {"epsilon-gamma-box", "epsilon-plus", "epsilon-plus-flat", "epsilon-alpha2beta1", "box-alpha1beta0-epsilon"};
}

LrpComposite lrp_composite(const std::string& name, double epsilon, double gamma) {
  auto R = [&](const char* n) { return parse_lrp_rule(n, epsilon, gamma); };
  LrpComposite c;
  c.name = name;
  if (name == "epsilon-gamma-box") c.input = R("zbox"), c.dense = R("epsilon"), c.conv = R("gamma");
  else if (name == "epsilon-plus") c.input = R("epsilon"), c.dense = R("epsilon"), c.conv = R("zplus");
  else if (name == "epsilon-plus-flat") c.input = R("flat"), c.dense = R("epsilon"), c.conv = R("zplus");
  else if (name == "epsilon-alpha2beta1") c.input = R("epsilon"), c.dense = R("epsilon"), c.conv = R("alpha2beta1");
  else if (name == "box-alpha1beta0-epsilon") c.input = R("zbox"), c.dense = R("epsilon"), c.conv = R("alpha1beta0");
  else {
    std::string list;
    for (const auto& n : lrp_composite_names()) list += (list.empty() ? "" : ", ") + n;
    throw Error(fmt::format("unknown LRP composite '{}'; known composites: {}", name, list));
  }
  return c;
}

LrpComposite lrp_single_rule(const LrpRule& rule) {
  LrpComposite c;
  c.name = "rule:" + rule.name();
  c.all = rule;
  c.input = c.dense = c.conv = rule;
  return c;
}

void add_lrp_overrides(LrpComposite& c, const std::string& spec, double epsilon, double gamma) {
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw Error(fmt::format("bad --layer-rule item '{}': expected LAYER=RULE, e.g. L1=zbox", item));
    c.overrides[item.substr(0, eq)] = parse_lrp_rule(item.substr(eq + 1), epsilon, gamma);
  }
}

// ---------------------------------------------------------------- canonization

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
      Tensor* w = nullptr;
      Tensor* b = nullptr;
      if (auto* d = dynamic_cast<Dense*>(op.get())) w = &d->weight(), b = &d->bias();
      else if (auto* c = dynamic_cast<Conv*>(op.get())) w = &c->weight(), b = &c->bias();
      const Index channels = bn.scale().size();
      const Index per = w->size() / channels;  // weights of one output channel
      if (b->size() != channels) throw Error("canonize: BatchNorm channels do not match the layer's outputs");
      for (Index c = 0; c < channels; ++c) {
        const double a = bn.scale()[c] / std::sqrt(bn.var()[c] + bn.epsilon());
        for (Index k = 0; k < per; ++k) (*w)[c * per + k] *= a;
        (*b)[c] = ((*b)[c] - bn.mean()[c]) * a + bn.bias()[c];
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

std::string default_target(const Network& net, std::string* note) {
  const NeuronRef out = net.output_neuron();
  const Node& n = net.node(out.node);
  if (n.op && n.op->is_activation()) {
    if (note)
      *note = fmt::format("target: output:pre, the value before the final {} (the logit; sigmoid and tanh break "
                          "LRP's sign assumptions); --neuron output explains the post-activation value",
                          n.op->type());
    return "output:pre";
  }
  if (note) *note = "target: output (the network has no final activation)";
  return "output";
}

// ---------------------------------------------------------------- propagation

namespace {

// Dense, Conv and ParticleDense (a Dense on the last axis, shared by the particles) share
// the rule engine: clones with modified weights and no bias.
bool is_linear_layer(const Op& op) {
  return op.type() == "Dense" || op.type() == "Conv" || op.type() == "ParticleDense";
}

// The weight tensor of a clone made by with_weights.
Tensor& layer_weight(Op& op) {
  if (auto* d = dynamic_cast<Dense*>(&op)) return d->weight();
  if (auto* v = dynamic_cast<Conv*>(&op)) return v->weight();
  return static_cast<ParticleDense&>(op).weight();
}

std::unique_ptr<Op> with_weights(const Op& op, double (*f)(double)) {
  std::unique_ptr<Op> c = op.clone();
  Tensor *w = nullptr, *b = nullptr;
  if (auto* d = dynamic_cast<Dense*>(c.get())) w = &d->weight(), b = &d->bias();
  else if (auto* v = dynamic_cast<Conv*>(c.get())) w = &v->weight(), b = &v->bias();
  else if (auto* pd = dynamic_cast<ParticleDense*>(c.get())) w = &pd->weight(), b = &pd->bias();
  if (f)
    for (double& x : w->values()) x = f(x);
  b->fill(0.0);
  return c;
}

double keep(double w) { return w; }
double pos(double w) { return w > 0 ? w : 0.0; }
double neg(double w) { return w < 0 ? w : 0.0; }
double square(double w) { return w * w; }
double one(double) { return 1.0; }

struct LayerPlan {
  LrpRule rule;
  std::string label;
  std::unique_ptr<Op> plain, wpos, wneg, wsq, wone, wgamma;
  std::vector<double> bias, bias_gamma;  // per output element (per event)
  Tensor lo, hi;                         // zbox bounds [1, input shape]
};

// Scratch tensors of one thread, reused between batches.
struct Scratch {
  Workspace ws;
  std::vector<Tensor> rel;
  Tensor t[12];
  std::vector<double> bias, eps, other;
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
      if (l.number > 0) lname[static_cast<size_t>(l.pre_node)] = fmt::format("L{}", l.number);
    // Input layers: linear layers with no linear layer among their ancestors.
    std::vector<bool> after_linear(nodes.size(), false);
    for (size_t i = 0; i < nodes.size(); ++i)
      for (int j : nodes[i].inputs)
        if (after_linear[static_cast<size_t>(j)] || (nodes[static_cast<size_t>(j)].op && is_linear_layer(*nodes[static_cast<size_t>(j)].op)))
          after_linear[i] = true;
    std::vector<int> zbox_nodes;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& nd = nodes[i];
      if (!need_[i] || !nd.op || !is_linear_layer(*nd.op)) continue;
      LayerPlan& p = plans_[i];
      const bool conv = nd.op->type() == "Conv";
      const LrpComposite& c = o.composite;
      p.rule = c.all ? *c.all : !after_linear[i] ? c.input : conv ? c.conv : c.dense;
      if (auto it = c.overrides.find(lname[i]); it != c.overrides.end()) p.rule = it->second;
      if (auto it = c.overrides.find(nd.name); it != c.overrides.end()) p.rule = it->second;
      p.label = fmt::format("{} ({} '{}'): {}", lname[i], nd.op->type(), nd.name, p.rule.name());
      res.layer_rules.push_back(p.label);
      p.plain = with_weights(*nd.op, keep);
      p.wpos = with_weights(*nd.op, pos);
      p.wneg = with_weights(*nd.op, neg);
      p.wsq = with_weights(*nd.op, square);
      p.wone = with_weights(*nd.op, one);
      p.wgamma = with_weights(*nd.op, keep);
      {
        for (double& x : layer_weight(*p.wgamma).values()) x += p.rule.gamma * pos(x);
      }
      // The bias of every output element: the op on a zero event.
      const Shape& in_shape = nodes[static_cast<size_t>(nd.inputs[0])].shape;
      Shape s1{1};
      s1.insert(s1.end(), in_shape.begin(), in_shape.end());
      Tensor zero(s1, 0.0), b;
      fwd(*nd.op, zero, nd.shape, b);
      p.bias = b.values();
      p.bias_gamma = p.bias;
      for (double& x : p.bias_gamma) x += p.rule.gamma * pos(x);
      for (int j : nodes[static_cast<size_t>(nd.inputs[0])].inputs) (void)j;
      if (p.rule.kind == LrpRuleKind::ZBox) zbox_nodes.push_back(static_cast<int>(i));
    }
    if (!zbox_nodes.empty()) set_bounds(zbox_nodes, inputs);
    // Check every op on the way can be propagated before any work is done.
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!need_[i] || !nodes[i].op) continue;
      check_op(static_cast<int>(i));
    }
  }

  const NeuronRef& target() const { return target_; }

  // Relevances of one batch: fills s.rel for the input nodes; per-event absorption.
  void run(const std::vector<const Tensor*>& in, Scratch& s) const {
    net_.forward(in, s.ws, target_.node);
    const auto& nodes = net_.nodes();
    const Index B = in[0]->events();
    s.rel.resize(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!need_[i]) continue;
      s.rel[i].resize(s.ws.values[i].shape());
      s.rel[i].fill(0.0);
    }
    s.bias.assign(static_cast<size_t>(B), 0.0);
    s.eps.assign(static_cast<size_t>(B), 0.0);
    s.other.assign(static_cast<size_t>(B), 0.0);
    {
      Tensor& r = s.rel[static_cast<size_t>(target_.node)];
      const Tensor& v = s.ws.values[static_cast<size_t>(target_.node)];
      const Index pe = r.per_event();
      for (Index e = 0; e < B; ++e) r[e * pe + target_.index] = v[e * pe + target_.index];
    }
    for (int i = target_.node; i >= 0; --i) {
      if (!need_[static_cast<size_t>(i)] || nodes[static_cast<size_t>(i)].is_input()) continue;
      step(i, s);
    }
  }

 private:
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
    if (is_linear_layer(*nd.op) || nd.op->is_activation() || t == "Standardize" || t == "ClipMinMax" ||
        t == "Concat" || t == "Slice" || t == "Add" || t == "Reshape" || t == "Transpose" || t == "Pad" || t == "MaxPool" ||
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
    refuse(id, "no relevance rule for this operation (known: Dense, Conv, pooling, BatchNorm, activations, "
               "Standardize, Concat, Add, Binary, Reshape, Transpose, Pad, ParticleStandardize, ParticleDense, "
               "ParticlePool, ReduceSum, ReduceMean)");
  }

  // Proportional split (LRP-0 on a linear op): R_k = x_k (J_k^T (R / out)); constants in
  // `out` act as a bias and absorb their share. Only the first `split_inputs` inputs
  // receive relevance (ParticlePool: the values, not the raw input it reads the mask from).
  void proportional(int id, Scratch& s, size_t split_inputs = SIZE_MAX) const {
    const Node& nd = net_.node(id);
    const Tensor& out = s.ws.values[static_cast<size_t>(id)];
    const Tensor& R = s.rel[static_cast<size_t>(id)];
    const Index B = out.events(), pe = out.per_event();
    Tensor& sd = s.t[0];
    sd.resize(out.shape());
    std::vector<double> before(static_cast<size_t>(B), 0.0);
    for (Index e = 0; e < B; ++e)
      for (Index j = 0; j < pe; ++j) {
        const Index k = e * pe + j;
        sd[k] = safe_div(R[k], out[k]);
        if (out[k] == 0.0) s.other[static_cast<size_t>(e)] += R[k];
        else before[static_cast<size_t>(e)] += R[k];
      }
    std::vector<const Tensor*> ins;
    for (int j : nd.inputs) ins.push_back(&s.ws.values[static_cast<size_t>(j)]);
    for (size_t k = 0; k < std::min(split_inputs, nd.inputs.size()); ++k) {
      Tensor& g = s.t[1 + (k % 2)];
      g.resize(ins[k]->shape());
      g.fill(0.0);
      std::vector<Tensor*> gin(nd.inputs.size(), nullptr);
      gin[k] = &g;
      nd.op->backward(ins, out, sd, gin, nullptr);
      Tensor& Rin = s.rel[static_cast<size_t>(nd.inputs[k])];
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
    for (int j : nd.inputs) ins.push_back(&s.ws.values[static_cast<size_t>(j)]);
    // backward adds into gin: give it the relevance buffers directly (distinct inputs).
    for (size_t k = 0; k < nd.inputs.size(); ++k) {
      bool dup = false;
      for (size_t m = 0; m < k; ++m) dup |= nd.inputs[m] == nd.inputs[k];
      gin.push_back(dup ? nullptr : &s.rel[static_cast<size_t>(nd.inputs[k])]);
    }
    nd.op->backward(ins, s.ws.values[static_cast<size_t>(id)], s.rel[static_cast<size_t>(id)], gin, nullptr);
    for (size_t k = 0; k < nd.inputs.size(); ++k) {
      if (gin[k]) continue;
      // The same node fed twice: route that slot separately.
      Tensor& g = s.t[3];
      g.resize(ins[k]->shape());
      g.fill(0.0);
      std::vector<Tensor*> one(nd.inputs.size(), nullptr);
      one[k] = &g;
      nd.op->backward(ins, s.ws.values[static_cast<size_t>(id)], s.rel[static_cast<size_t>(id)], one, nullptr);
      Tensor& Rin = s.rel[static_cast<size_t>(nd.inputs[k])];
      for (Index j = 0; j < g.size(); ++j) Rin[j] += g[j];
    }
  }

  void pass(int id, Scratch& s) const {
    const Node& nd = net_.node(id);
    Tensor& Rin = s.rel[static_cast<size_t>(nd.inputs[0])];
    const Tensor& R = s.rel[static_cast<size_t>(id)];
    for (Index j = 0; j < R.size(); ++j) Rin[j] += R[j];
  }

  void linear(int id, Scratch& s) const {
    const Node& nd = net_.node(id);
    const LayerPlan& p = plans_[static_cast<size_t>(id)];
    const Tensor& x = s.ws.values[static_cast<size_t>(nd.inputs[0])];
    const Tensor& R = s.rel[static_cast<size_t>(id)];
    Tensor& Rin = s.rel[static_cast<size_t>(nd.inputs[0])];
    const Index B = x.events(), pe = R.per_event(), pin = x.per_event();
    Tensor &z = s.t[0], &sd = s.t[1], &g = s.t[2], &xp = s.t[3], &xn = s.t[4], &z2 = s.t[5], &sn = s.t[6],
           &g2 = s.t[7];
    const LrpRule& rule = p.rule;
    auto add_x_times = [&](const Tensor& xx, const Tensor& gg, double f) {
      for (Index k = 0; k < Rin.size(); ++k) Rin[k] += f * xx[k] * gg[k];
    };
    switch (rule.kind) {
      case LrpRuleKind::Zero:
      case LrpRuleKind::Epsilon:
      case LrpRuleKind::Gamma: {
        const bool gam = rule.kind == LrpRuleKind::Gamma;
        const Op& op = gam ? *p.wgamma : *p.plain;
        const auto& bias = gam ? p.bias_gamma : p.bias;
        const double eps = rule.kind == LrpRuleKind::Epsilon ? rule.epsilon : 0.0;
        fwd(op, x, nd.shape, z);
        sd.resize(z.shape());
        for (Index e = 0; e < B; ++e)
          for (Index j = 0; j < pe; ++j) {
            const Index k = e * pe + j;
            const double zz = z[k] + bias[static_cast<size_t>(j)];
            // sign(0) = +1: a zero pre-activation is pushed up by epsilon.
            const double den = zz + (zz >= 0 ? eps : -eps);
            sd[k] = safe_div(R[k], den);
            if (den == 0.0) {
              s.other[static_cast<size_t>(e)] += R[k];
            } else {
              s.bias[static_cast<size_t>(e)] += sd[k] * bias[static_cast<size_t>(j)];
              s.eps[static_cast<size_t>(e)] += sd[k] * (zz >= 0 ? eps : -eps);
            }
          }
        bwd(op, x, z, sd, g);
        add_x_times(x, g, 1.0);
        break;
      }
      case LrpRuleKind::AlphaBeta:
      case LrpRuleKind::ZPlus: {
        const bool with_bias = rule.kind == LrpRuleKind::AlphaBeta;
        const double alpha = rule.kind == LrpRuleKind::ZPlus ? 1.0 : rule.alpha;
        const double beta = rule.kind == LrpRuleKind::ZPlus ? 0.0 : rule.beta;
        xp.resize(x.shape());
        xn.resize(x.shape());
        for (Index k = 0; k < x.size(); ++k) xp[k] = pos(x[k]), xn[k] = neg(x[k]);
        // z+ = x+ w+ + x- w- (+ b+), z- = x+ w- + x- w+ (+ b-)
        fwd(*p.wpos, xp, nd.shape, z);
        fwd(*p.wneg, xn, nd.shape, g);
        for (Index k = 0; k < z.size(); ++k) z[k] += g[k];
        fwd(*p.wneg, xp, nd.shape, z2);
        fwd(*p.wpos, xn, nd.shape, g);
        for (Index k = 0; k < z2.size(); ++k) z2[k] += g[k];
        sd.resize(z.shape());
        sn.resize(z.shape());
        for (Index e = 0; e < B; ++e)
          for (Index j = 0; j < pe; ++j) {
            const Index k = e * pe + j;
            const double b = p.bias[static_cast<size_t>(j)];
            const double bp = with_bias ? pos(b) : 0.0, bn = with_bias ? neg(b) : 0.0;
            const double zp = z[k] + bp, zn = z2[k] + bn;
            sd[k] = safe_div(alpha * R[k], zp);
            sn[k] = beta == 0.0 ? 0.0 : safe_div(beta * R[k], zn);
            s.bias[static_cast<size_t>(e)] += sd[k] * bp - sn[k] * bn;
            s.other[static_cast<size_t>(e)] +=
                R[k] - (zp != 0.0 ? alpha * R[k] : 0.0) + (beta != 0.0 && zn != 0.0 ? beta * R[k] : 0.0);
          }
        bwd(*p.wpos, xp, z, sd, g);
        add_x_times(xp, g, 1.0);
        bwd(*p.wneg, xn, z, sd, g);
        add_x_times(xn, g, 1.0);
        if (beta != 0.0) {
          bwd(*p.wneg, xp, z, sn, g);
          add_x_times(xp, g, -1.0);
          bwd(*p.wpos, xn, z, sn, g);
          add_x_times(xn, g, -1.0);
        }
        break;
      }
      case LrpRuleKind::WSquare:
      case LrpRuleKind::Flat: {
        const Op& op = rule.kind == LrpRuleKind::WSquare ? *p.wsq : *p.wone;
        xp.resize(x.shape());
        xp.fill(1.0);
        fwd(op, xp, nd.shape, z);
        sd.resize(z.shape());
        for (Index e = 0; e < B; ++e)
          for (Index j = 0; j < pe; ++j) {
            const Index k = e * pe + j;
            sd[k] = safe_div(R[k], z[k]);
            if (z[k] == 0.0) s.other[static_cast<size_t>(e)] += R[k];
          }
        bwd(op, xp, z, sd, g);
        for (Index k = 0; k < Rin.size(); ++k) Rin[k] += g[k];
        break;
      }
      case LrpRuleKind::ZBox: {
        xp.resize(x.shape());
        xn.resize(x.shape());
        for (Index e = 0; e < B; ++e)
          for (Index j = 0; j < pin; ++j) xp[e * pin + j] = p.lo[j], xn[e * pin + j] = p.hi[j];
        fwd(*p.plain, x, nd.shape, z);
        fwd(*p.wpos, xp, nd.shape, z2);
        fwd(*p.wneg, xn, nd.shape, g);
        sd.resize(z.shape());
        for (Index e = 0; e < B; ++e)
          for (Index j = 0; j < pe; ++j) {
            const Index k = e * pe + j;
            const double den = z[k] - z2[k] - g[k];
            sd[k] = safe_div(R[k], den);
            if (den == 0.0) s.other[static_cast<size_t>(e)] += R[k];
          }
        bwd(*p.plain, x, z, sd, g2);
        add_x_times(x, g2, 1.0);
        bwd(*p.wpos, xp, z, sd, g2);
        add_x_times(xp, g2, -1.0);
        bwd(*p.wneg, xn, z, sd, g2);
        add_x_times(xn, g2, -1.0);
        break;
      }
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
    if (t == "Concat" || t == "Slice" || t == "Reshape" || t == "Transpose" || t == "Pad" || t == "MaxPool") return route(id, s);
    if (t == "AveragePool" || t == "Add" || t == "Binary" || t == "BatchNorm") return proportional(id, s);
    refuse(id, "no relevance rule for this operation");
  }

  const Network& net_;
  NeuronRef target_;
  std::vector<bool> need_;
  std::vector<LayerPlan> plans_;
};

std::vector<std::string> element_names(const Network& net) {
  std::vector<std::string> out;
  const auto& ids = net.input_nodes();
  for (size_t k = 0; k < ids.size(); ++k) {
    const Node& n = net.node(ids[k]);
    const auto& names = net.feature_names(static_cast<int>(k));
    const Index size = shape_size(n.shape);
    if (n.shape.size() == 1 && static_cast<Index>(names.size()) == size) {
      out.insert(out.end(), names.begin(), names.end());
      continue;
    }
    for (Index j = 0; j < size; ++j) {
      std::string idx;
      Index rem = j;
      std::vector<Index> parts(n.shape.size());
      for (size_t d = n.shape.size(); d-- > 0;) parts[d] = rem % n.shape[d], rem /= n.shape[d];
      for (size_t d = 0; d < parts.size(); ++d) idx += (d ? "," : "") + std::to_string(parts[d]);
      out.push_back(fmt::format("{}[{}]", n.name, idx));
    }
  }
  return out;
}

}  // namespace

LrpRelevance lrp(const Network& net_in, const std::vector<Tensor>& inputs, const LrpOptions& o) {
  if (inputs.empty()) throw Error("LRP: no inputs");
  Network net = o.canonize ? canonize(net_in) : net_in;
  LrpRelevance res;
  Propagator prop(net, o, inputs, res);
  res.target = o.neuron.empty() ? default_target(net) : o.neuron;
  res.features = element_names(net);
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
  // One batch is one tile: a Scratch per thread and call (its relevance tensors belong to this network).
  const Index batch = std::max<Index>(1, o.batch);
  detail::for_each_event_tile(
      inputs, batch, batch, [] { return Scratch{}; },
      [&](Scratch& s, Index, Index begin, Index count, std::vector<const Tensor*>& ptrs) {
        prop.run(ptrs, s);
        const auto tn = static_cast<size_t>(prop.target().node);
        const Index tpe = s.ws.values[tn].per_event();
        for (Index e = 0; e < count; ++e) {
          const auto ge = static_cast<size_t>(begin + e);
          res.output[ge] = s.ws.values[tn][e * tpe + prop.target().index];
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
  return res;
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
    c.max_abs_unexplained = std::max(
        c.max_abs_unexplained, std::abs(r.output[e] - r.input_sum[e] - r.bias[e] - r.epsilon[e] - r.other[e]));
  }
  const double dn = static_cast<double>(n);
  c.mean_abs_error /= dn, c.mean_abs_bias /= dn, c.mean_abs_epsilon /= dn, c.mean_abs_other /= dn,
      c.mean_output /= dn;
  return c;
}

nlohmann::json ConservationSummary::to_json() const {
  return {{"mean_abs_error", mean_abs_error},         {"mean_abs_bias", mean_abs_bias},
          {"mean_abs_epsilon", mean_abs_epsilon},     {"mean_abs_other", mean_abs_other},
          {"max_abs_unexplained", max_abs_unexplained}, {"mean_output", mean_output}};
}

}  // namespace unbox
