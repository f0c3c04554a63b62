#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "unbox/naming.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct PredictArgs {
  std::string model, data, out, neurons = "output", columns, keep;
  bool allow_nan = false;
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
  ReadOptions ro;
  ro.allow_nan = a.allow_nan;
  Dataset data = read_dataset(a.data, ro);
  // ONNX models carry no column names: by default they read the data's feature columns.
  const std::vector<std::string> columns = model_columns(net, data, split_list(a.columns));
  auto inputs = gather_inputs(net, data, columns);
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
    std::vector<std::string> cols = columns.empty() ? net.feature_names(0) : columns;
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
  auto* c = add_command(app, "predict", "Write the values of chosen neurons for every event",
                        "unbox predict --model m.unbox --data test.csv --out scores.csv --neurons output,L2N12,L12N0:pre",
                        run_predict);
  c->add_option("--model", a.model, "Model file (.unbox)")->required();
  c->add_option("--data", a.data, "Events (csv, npy, npz, h5[:/path])")->required();
  c->add_option("--out", a.out, "Output file; its extension picks the format (csv, npy, npz, h5)")->required();
  c->add_option("--neurons", a.neurons,
                "Neurons, comma-separated: output (every class of a multi-class output), output:pre, output[j], "
                "L2N12, L12N0:pre, NODE[j]")
      ->capture_default_str();
  c->add_option("--columns", a.columns, "Data columns to feed the model's inputs, in order (default: by name)");
  c->add_option("--keep", a.keep, "Data columns to copy to the output (e.g. label,weight)");
  c->add_flag("--gradient", a.gradient,
              "Also write the exact gradient of each neuron with respect to each input column, named d(N)/d(col)");
  c->add_flag("--allow-nan", a.allow_nan, "Accept NaN/Inf in the data and pass them through");
  c->add_option("--batch", a.batch, "Events per batch")->capture_default_str();
  c->add_option("--threads", a.threads, "OpenMP threads (default: all)");
}

}  // namespace unbox::cli
