#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "stream.hpp"
#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/naming.hpp"
#include "unbox/onnx.hpp"

namespace unbox::cli {

namespace {
struct PredictArgs {
  std::string model, out, neurons = "output", keep;
  EventArgs data;
  bool gradient = false;
  bool quiet = false;
  Index batch = 4096, chunk = 0;
  int threads = 0;
} a;

// The output columns for `events`: --keep columns, the neurons, with --gradient the gradients.
Dataset predict_events(const Network& net, const std::vector<std::string>& names, const std::vector<NeuronRef>& refs,
                       const Events& events) {
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
  if (!a.gradient) return out;
  // d(neuron)/d(input column), in the data's physical units, one column per pair.
  // Models with tensor or several inputs get one array per input, d(N)/d(INPUT),
  // shaped like that input (events first).
  if (net.input_nodes().size() != 1 || net.node(net.input_nodes()[0]).shape.size() != 1) {
    for (size_t j = 0; j < names.size(); ++j) {
      auto g = input_gradient(net, inputs, refs[j], {.batch = a.batch});
      for (size_t k = 0; k < g.size(); ++k)
        out.add(fmt::format("d({})/d({})", names[j], net.node(net.input_nodes()[k]).name), std::move(g[k]));
    }
    return out;
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
  return out;
}

// Chunk by chunk and/or across ranks: rows written as they are computed (CSV/TSV); each rank
// writes its part, rank 0 joins the parts in rank order.
int run_streamed(const Network& net, const std::vector<std::string>& names, const std::vector<NeuronRef>& refs) {
  const std::string ext = extension_of(a.out);
  if (ext != "csv" && ext != "tsv")
    throw Error(fmt::format("--out '{}': predictions written chunk by chunk or across ranks go to CSV or TSV", a.out));
  const bool ranks = dist::size() > 1;
  const std::string mine = ranks ? rank_part(a.out, dist::rank()) : a.out;
  std::string status = "ok";
  Index events = 0;
  try {
    write_atomically(mine, [&](const std::string& tmp) {
      CsvAppender writer(tmp, mine);
      for_each_chunk(a.data, a.chunk, [&](Dataset&& d) {
        const Events ev(net, std::move(d), Binding{split_list(a.data.columns), 0});
        writer.append(predict_events(net, names, refs, ev));
      });
      writer.close();
      events = writer.events();
    });
  } catch (const Error& e) {
    if (!ranks) throw;
    status = std::string("error:") + e.what();
  }
  if (ranks) events = join_rank_parts(a.out, status, events, 1);
  if (events >= 0 && !a.quiet) std::cout << fmt::format("wrote {}: {} events, columns {}\n", a.out, events, a.neurons);
  return 0;
}

int run_predict() {
  if (a.threads > 0) set_thread_count(a.threads);
  Network net = load_model(a.model);
  // `output` on a multi-class output is every class: output[0], output[1], ...
  std::vector<std::string> names = expand_output_neurons(net, split_list(a.neurons));
  if (names.empty()) throw Error("--neurons names no neuron");
  std::vector<NeuronRef> refs;
  for (const auto& n : names) refs.push_back(net.resolve(n));
  if (streamed_run(a.chunk)) return run_streamed(net, names, refs);
  const Events events = bind_events(net, a.data);
  Dataset out = predict_events(net, names, refs, events);
  write_dataset(out, a.out);
  if (!a.quiet) std::cout << fmt::format("wrote {}: {} events, columns {}\n", a.out, events.size(), a.neurons);
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
  add_chunk_option(c, a.chunk, "nothing (rows are written as they are computed; CSV/TSV output)");
  c->add_flag("--quiet,-q", a.quiet, "Print nothing");
}

}  // namespace unbox::cli
