// Small helpers for calling the methods with their one shape (model, events, options).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "unbox/events.hpp"
#include "unbox/explain/caveman.hpp"
#include "unbox/explain/mutual_info.hpp"

namespace unbox::test {

template <class Options>
Options with_neuron(Options o, const std::string& neuron) {
  o.neuron = neuron;
  return o;
}

inline CavemanOptions with_population(CavemanOptions o, Dataset population) {
  o.population = std::move(population);
  return o;
}

inline MutualInfoOptions mi_options(std::vector<std::string> neurons, std::vector<std::string> variables) {
  MutualInfoOptions o;
  o.neurons = std::move(neurons);
  o.variables = std::move(variables);
  return o;
}

inline Events labelled_events(const Network& net, Dataset data, const std::string& label = "label") {
  data.label_column = label;
  return Events(net, std::move(data));
}

}  // namespace unbox::test
