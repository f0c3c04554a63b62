// Gradient attributions beside LRP (Captum's set), all batched through input_gradient:
// saliency (the gradient), gradient x input, Integrated Gradients (Gauss-Legendre
// quadrature on the straight path, completeness error per event) and SmoothGrad.
// Attributions are with respect to the raw data columns (physical units).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unbox/data.hpp"
#include "unbox/network.hpp"

namespace unbox {

enum class AttributionMethod { Saliency, GradXInput, IntegratedGradients, SmoothGrad };
// "saliency", "grad-x-input", "ig", "smoothgrad"; unknown: Error listing them.
AttributionMethod parse_attribution_method(const std::string& name);
std::string attribution_method_name(AttributionMethod m);

struct AttributeOptions {
  AttributionMethod method = AttributionMethod::IntegratedGradients;
  std::string neuron;           // "" = the LRP default target (output:pre before a final activation)
  // Integrated Gradients: "zero", "mean" (the data mean, the default) or "event:K" (event K
  // of the data); steps = Gauss-Legendre points on [0, 1].
  std::string baseline = "mean";
  Index steps = 64;
  // SmoothGrad: samples per event, noise std as a fraction of each input's std in the data.
  Index samples = 25;
  double noise = 0.1;
  std::uint64_t seed = 1;
  Index block = 512;            // events whose interpolated copies go through together
  std::vector<std::string> columns;
};

struct Attribution {
  std::string method, target, baseline;
  std::vector<std::string> features;  // one per input element (as LrpRelevance)
  Tensor scores;                      // [N, features]
  Tensor inputs;                      // [N, features]
  // Integrated Gradients: f(x), f(baseline) and sum(attributions) - (f(x) - f(baseline)).
  std::vector<double> f_x, f_baseline, completeness_error;
};

Attribution attribute(const Network& net, const std::vector<Tensor>& inputs, const AttributeOptions& options);
Attribution attribute(const Network& net, const Dataset& data, const AttributeOptions& options);

// Gauss-Legendre nodes and weights on [0, 1] (n points; exact for polynomials of degree 2n - 1).
void gauss_legendre01(Index n, std::vector<double>& nodes, std::vector<double>& weights);

}  // namespace unbox
