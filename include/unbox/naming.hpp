// Names shared by every method: input elements, the neurons `output` stands for, and
// the linear op behind a numbered layer.
#pragma once

#include <string>
#include <vector>

#include "unbox/network.hpp"

namespace unbox {

// One name per input element, inputs in order, each flattened row-major: a flat input
// with one name per value gives its feature names (the data columns); any other input
// NAME of per-event shape [d0, d1, ...] gives NAME[i0,i1,...] (e.g. x[3], img[0,4,7]),
// which the relevance maps read back. `columns` (the data columns chosen for a single
// flat input) replace the names when they are as many.
// Every explanation (LRP, gradient attributions) names its features with this.
std::vector<std::string> input_element_names(const Network& net, const std::vector<std::string>& columns = {});

// Neuron names with `output` (and `output:pre`) on a multi-valued output (a softmax over
// K > 2 classes, any K-wide output node) expanded to output[0] .. output[K-1] (with
// ":pre" kept); other names unchanged. `output` on one value or a two-class softmax is
// one neuron and stays as given.
std::vector<std::string> expand_output_neurons(const Network& net, const std::vector<std::string>& names);

// What `output` and `output:pre` name, in the network's own neuron names, e.g.
// "'output' = L3N0, 'output:pre' = L3N0:pre" or, for a 5-class softmax,
// "'output' = L3N0 .. L3N4 (output[j] = L3Nj, one per class), 'output:pre' = L3N0:pre .. L3N4:pre".
std::string output_aliases(const Network& net);

// The linear op (Dense, Conv) of a numbered layer: its pre_node, or the node before the
// BatchNorm(s) folded into it.
int layer_op_node(const Network& net, const LayerInfo& layer);

}  // namespace unbox
