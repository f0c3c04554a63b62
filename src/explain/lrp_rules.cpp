// LRP rules as data (as in Zennit): each rule is a few terms (input modifier, parameter
// modifier, bias or not, sign) under one or two denominators (stabilizer, output-sign
// gate, weight). The propagation engine (lrp.cpp) knows no rule by name. Composites map
// layer positions and types to rules.
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "unbox/explain/lrp.hpp"

namespace unbox {

bool LrpRule::uses_bounds() const {
  for (const LrpTerm& t : terms)
    if (t.input == LrpInput::Low || t.input == LrpInput::High) return true;
  return false;
}

namespace {
double pos(double w) { return w > 0 ? w : 0.0; }
double neg(double w) { return w < 0 ? w : 0.0; }
}  // namespace

namespace lrp_rules {

using I = LrpInput;

// R_i = x_i sum_j w_ij R_j / z_j.
LrpRule zero() { return {.label = "0", .terms = {{}}}; }

LrpRule epsilon(double eps) { return {.label = "epsilon", .terms = {{}}, .epsilon = eps}; }

// The generalized gamma rule, as Zennit's Gamma (Andeol et al. 2021, "Learning domain
// invariant representations by joint Wasserstein distance minimization", and Montavon
// et al. 2019, "Layer-wise relevance propagation: an overview", for positive inputs).
// With g(w) = w + gamma w+ and h(w) = w + gamma w-:
//   u_j = sum_i [x+_i g(w_ij) + x-_i h(w_ij)] + g(b_j)   (the contributions raising z_j)
//   v_j = sum_i [x+_i h(w_ij) + x-_i g(w_ij)] + h(b_j)   (those lowering it)
//   R_i = sum_j [z_j > 0] R_j (x+_i g(w_ij) + x-_i h(w_ij)) / u_j
//       + sum_j [z_j < 0] R_j (x+_i h(w_ij) + x-_i g(w_ij)) / v_j
// u_j = z_j + gamma (positive parts) >= z_j, so u_j > 0 where z_j > 0, and v_j <= z_j < 0
// where z_j < 0: no denominator changes sign, whatever the signs of x and of z. For
// x >= 0 and z_j > 0 it is w + gamma w+, the original rule (gamma_positive below).
// Relevance at z_j = 0 is dropped (booked as "other"); no stabilizer (Zennit adds 1e-6).
LrpRule gamma(double gamma) {
  auto g = [gamma](double w) { return w + gamma * pos(w); };
  auto h = [gamma](double w) { return w + gamma * neg(w); };
  return {.label = "gamma",
          .terms = {{I::Positive, g, true, 0},
                    {I::Negative, h, false, 0},
                    {I::Positive, h, true, 1},
                    {I::Negative, g, false, 1}},
          .groups = {{1.0, LrpGate::PositiveOutput}, {1.0, LrpGate::NegativeOutput}}};
}

// The original gamma rule for positive inputs: w + gamma w+, b + gamma b+ for every input.
LrpRule gamma_positive(double gamma) {
  return {.label = "gamma-positive", .terms = {{I::Identity, [gamma](double w) { return w + gamma * pos(w); }}}};
}

// z+ = x+ w+ + x- w- + b+, z- = x+ w- + x- w+ + b-; R = alpha R+ - beta R-.
LrpRule alpha_beta(double alpha, double beta) {
  return {.label = fmt::format("alpha{}beta{}", alpha, beta),
          .terms = {{I::Positive, pos, true, 0},
                    {I::Negative, neg, false, 0},
                    {I::Positive, neg, true, 1},
                    {I::Negative, pos, false, 1}},
          .groups = {{alpha, LrpGate::All}, {-beta, LrpGate::All}}};
}

LrpRule zplus() { return {.label = "zplus", .terms = {{I::Positive, pos, false, 0}, {I::Negative, neg, false, 0}}}; }

LrpRule wsquare() {
  return {.label = "wsquare", .terms = {{I::Ones, [](double w) { return w * w; }, false}}};
}

LrpRule flat() {
  return {.label = "flat", .terms = {{I::Ones, [](double) { return 1.0; }, false}}};
}

// x w - l w+ - h w-, with [l, h] the data range of the layer's input.
LrpRule zbox() {
  return {.label = "zbox",
          .terms = {{I::Identity, {}, false, 0, 1.0}, {I::Low, pos, false, 0, -1.0}, {I::High, neg, false, 0, -1.0}}};
}

}  // namespace lrp_rules

namespace {
bool parse_number(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}
const char* kRuleNames =
    "0, epsilon, gamma, gamma-positive, alpha1beta0, alpha2beta1 (any alphaAbetaB with A - B = 1), zplus, wsquare, "
    "flat, zbox";
}  // namespace

LrpRule parse_lrp_rule(const std::string& name, double epsilon, double gamma) {
  const bool is_gamma = name == "gamma" || name == "gamma-positive";
  if (name == "epsilon" && !(epsilon > 0)) throw Error(fmt::format("LRP epsilon must be positive, got {}", epsilon));
  if (is_gamma && !(gamma >= 0)) throw Error(fmt::format("LRP gamma must be >= 0, got {}", gamma));
  if (name == "0" || name == "lrp0" || name == "zero") return lrp_rules::zero();
  if (name == "epsilon") return lrp_rules::epsilon(epsilon);
  if (name == "gamma") return lrp_rules::gamma(gamma);
  if (name == "gamma-positive") return lrp_rules::gamma_positive(gamma);
  if (name == "zplus") return lrp_rules::zplus();
  if (name == "wsquare") return lrp_rules::wsquare();
  if (name == "flat") return lrp_rules::flat();
  if (name == "zbox") return lrp_rules::zbox();
  if (name.rfind("alpha", 0) == 0 && name.find("beta") != std::string::npos) {
    const auto b = name.find("beta");
    double a = 0, be = 0;
    if (!parse_number(std::string_view(name).substr(5, b - 5), a) ||
        !parse_number(std::string_view(name).substr(b + 4), be))
      throw Error(fmt::format("bad LRP rule '{}': expected alphaAbetaB, e.g. alpha2beta1", name));
    if (std::abs(a - be - 1.0) > 1e-12 || be < 0)
      throw Error(
          fmt::format("bad LRP rule '{}': alpha - beta must be 1 and beta >= 0 (e.g. alpha1beta0, alpha2beta1)", name));
    return lrp_rules::alpha_beta(a, be);
  }
  throw Error(fmt::format("unknown LRP rule '{}'; known rules: {}", name, kRuleNames));
}

// ---------------------------------------------------------------- composites

namespace {
// name, input layer, other dense, other conv.
struct CompositeRow {
  const char *name, *input, *dense, *conv;
};
constexpr CompositeRow kComposites[] = {
    {"epsilon-gamma-box", "zbox", "epsilon", "gamma"},
    {"epsilon-plus", "epsilon", "epsilon", "zplus"},
    {"epsilon-plus-flat", "flat", "epsilon", "zplus"},
    {"epsilon-alpha2beta1", "epsilon", "epsilon", "alpha2beta1"},
    {"box-alpha1beta0-epsilon", "zbox", "epsilon", "alpha1beta0"},
};
}  // namespace

std::vector<std::string> lrp_composite_names() {
  std::vector<std::string> out;
  for (const auto& c : kComposites) out.emplace_back(c.name);
  return out;
}

LrpComposite lrp_composite(const std::string& name, double epsilon, double gamma) {
  for (const auto& row : kComposites) {
    if (name != row.name) continue;
    LrpComposite c;
    c.name = name;
    c.input = parse_lrp_rule(row.input, epsilon, gamma);
    c.dense = parse_lrp_rule(row.dense, epsilon, gamma);
    c.conv = parse_lrp_rule(row.conv, epsilon, gamma);
    return c;
  }
  std::string list;
  for (const auto& n : lrp_composite_names()) list += (list.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown LRP composite '{}'; known composites: {}", name, list));
}

LrpComposite lrp_single_rule(const LrpRule& rule) {
  LrpComposite c;
  c.name = "rule:" + rule.name();
  c.all = rule;
  c.input = c.dense = c.conv = rule;
  return c;
}

const LrpRule& LrpComposite::rule_for(bool input_layer, bool is_conv, const std::string& layer,
                                      const std::string& node) const {
  const LrpRule* r = all ? &*all : input_layer ? &input : is_conv ? &conv : &dense;
  if (auto it = overrides.find(layer); !layer.empty() && it != overrides.end()) r = &it->second;
  if (auto it = overrides.find(node); it != overrides.end()) r = &it->second;
  return *r;
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
      throw Error(fmt::format("bad layer rule '{}': expected LAYER=RULE, e.g. L1=zbox", item));
    c.overrides[item.substr(0, eq)] = parse_lrp_rule(item.substr(eq + 1), epsilon, gamma);
  }
}

}  // namespace unbox
