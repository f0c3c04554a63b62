#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/naming.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct PredictArgs {
  std::string model, out, neurons = "output", keep;
  EventArgs data;
  bool gradient = false;
  Index batch = 4096;
  int threads = 0;
} a;

int run_predict() {
  if (a.threads > 0) set_thread_count(a.threads);
  Network net = load_model(a.model);
  // `output` on a multi-class output is every class: output[0], output[1], ...
  std::vector<std::string> names = expand_output_neurons(net, split_list(a.neurons));
  if (names.empty()) throw Error("--neurons names no neuron");
  std::vector<NeuronRef> refs;
  for (const auto& n : names) refs.push_back(net.resolve(n));
  const Events events = bind_events(net, a.data);
  const Dataset& data = events.data();
  const auto& inputs = events.inputs();
  Tensor values = evaluate(net, inputs, refs, {.batch = a.batch});
  Dataset out;
  out.source = a.out;
  for (const auto& k : split_list(a.keep)) out.add(k, data.get(k));
  for (size_t j = 0; j < names.size(); ++j) {
    Tensor col({data.events()});
    for (Index e = 0; e < data.events(); ++e) col[e] = values.at(e, static_cast<Index>(j));
    out.add(names[j], std::move(col));
  }
  if (a.gradient) {
    // d(neuron)/d(input column), in the data's physical units, one column per pair.
    // Models with tensor or several inputs get one array per input, d(N)/d(INPUT),
    // shaped like that input (events first).
    if (net.input_nodes().size() != 1 || net.node(net.input_nodes()[0]).shape.size() != 1) {
      for (size_t j = 0; j < names.size(); ++j) {
        auto g = input_gradient(net, inputs, refs[j], {.batch = a.batch});
        for (size_t k = 0; k < g.size(); ++k)
          out.add(fmt::format("d({})/d({})", names[j], net.node(net.input_nodes()[k]).name), std::move(g[k]));
      }
      write_dataset(out, a.out);
      std::cout << fmt::format("wrote {}: {} events, columns {}\n", a.out, data.events(), a.neurons);
      return 0;
    }
    const std::vector<std::string>& cols = events.feature_names(0);
    for (size_t j = 0; j < names.size(); ++j) {
      Tensor g = input_gradient(net, inputs, refs[j], {.batch = a.batch})[0];
      for (size_t c = 0; c < cols.size(); ++c) {
        Tensor col({data.events()});
        for (Index e = 0; e < data.events(); ++e) col[e] = g.at(e, static_cast<Index>(c));
        out.add(fmt::format("d({})/d({})", names[j], cols[c]), std::move(col));
      }
    }
  }
  write_dataset(out, a.out);
  std::cout << fmt::format("wrote {}: {} events, columns {}\n", a.out, data.events(), a.neurons);
  return 0;
}
}  // namespace

void register_predict(CLI::App& app) {
  auto* c = add_command(
      app, "predict", "Write the values of chosen neurons for every event",
      "unbox predict --model m.unbox --data test.csv --out scores.csv --neurons output,L2N12,L12N0:pre", run_predict);
  add_model_option(c, a.model)->required();
  add_event_options(c, a.data);
  c->get_option("--data")->required();
  c->add_option("--out,-o", a.out, "Output file; its extension picks the format (csv, npy, npz, h5)")->required();
  c->add_option("--neurons", a.neurons,
                "Neurons, comma-separated: output (every class of a multi-class output), output:pre, output[j], "
                "L2N12, L12N0:pre, NODE[j]")
      ->capture_default_str();
  c->add_option("--keep", a.keep, "Data columns to copy to the output (e.g. label,weight)");
  c->add_flag("--gradient", a.gradient,
              "Also write the exact gradient of each neuron with respect to each input column, named d(N)/d(col)");
  c->add_option("--batch", a.batch, "Events per batch")->capture_default_str();
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
}

}  // namespace unbox::cli
