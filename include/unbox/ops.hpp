// Every operation of the engine, by family (include/unbox/ops/: preprocess, linear, activation,
// elementwise, shape, pooling), and the registry that makes an op from its type name and
// attributes (model files, ONNX import). Tensors are events-first row-major; axes given to ops
// are per-event axes (0 = the first axis after the batch).
#pragma once

#include "unbox/ops/activation.hpp"
#include "unbox/ops/elementwise.hpp"
#include "unbox/ops/linear.hpp"
#include "unbox/ops/pooling.hpp"
#include "unbox/ops/preprocess.hpp"
#include "unbox/ops/shape.hpp"

namespace unbox {

// The registry. make_op (network.hpp) makes Standardize, Dense, Activation and Concat itself and
// asks these family factories in turn for the rest; each returns nullptr for a type it does not
// make. A new op is one line in one of them. Older type names stay readable as aliases:
// "Add" (an n-ary sum, now Binary) and "SoftmaxAxis" (now Softmax).
// Conv, Pool, BatchNorm, Binary, PRelu, Softmax, LogSoftmax, Reshape, Transpose, Pad (then the particle ops).
std::unique_ptr<Op> make_op_more(const std::string& type, const nlohmann::json& attributes);

// ParticleStandardize, ParticleDense, ParticlePool, Reduce.
std::unique_ptr<Op> make_op_particles(const std::string& type, const nlohmann::json& attributes);

// A Particle Flow Network on flat particle columns named "<particle>_<feature>"
// (particle-major: p0_pt, p0_eta, ..., p1_pt, ...): the number of particles P and of
// features F are read from the names (Error when they do not form a P x F grid). The mask
// feature is the one named "pt" when present, else the first. phi: the per-particle
// widths (the last is the latent size); hidden: the widths of the dense network after
// the sum; output: a sigmoid (or tanh) neuron.
Network build_particle_flow_network(const std::vector<std::string>& features, const std::vector<Index>& phi,
                                    const std::vector<Index>& hidden, const Activation& activation, bool tanh_output,
                                    bool mean = false);

// P, F and the mask feature of particle columns named as above (Error naming the problem).
void particle_grid(const std::vector<std::string>& features, Index& particles, Index& per_particle,
                   Index& mask_feature);

// ClipMinMax, Slice.
std::unique_ptr<Op> make_op_preprocess(const std::string& type, const nlohmann::json& attributes);

}  // namespace unbox
