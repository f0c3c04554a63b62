// unbox generate toy NAME --events N --seed S --out FILE
// `generate` is a group: built-in toys now; physics generators can be added as siblings of `toy`.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "unbox/data.hpp"
#include "unbox/toys.hpp"

namespace unbox::cli {

namespace {

struct ToyOptions {
  std::string name;
  Index events = 100000;
  std::uint64_t seed = 1;
  std::string out;
};

int run_toy(const ToyOptions& o) {
  Dataset d = generate_toy(o.name, o.events, o.seed);
  write_dataset(d, o.out);
  std::string cols;
  for (const auto& n : d.names()) cols += (cols.empty() ? "" : ", ") + n;
  std::printf("%s\n", fmt::format("wrote {}: {} events ({} signal), columns {}", o.out, d.events(), d.events() / 2,
                                  cols)
                          .c_str());
  return 0;
}

}  // namespace

void register_generate(CLI::App& app) {
  auto opts = std::make_shared<ToyOptions>();
  // Filled in below; the group's runner dispatches to the selected generator.
  auto toy_cmd = std::make_shared<CLI::App*>(nullptr);
  CLI::App* gen = add_command(app, "generate", "Generate a data set (built-in toys)",
                              "unbox generate toy product --events 100000 --seed 1 --out product.csv",
                              [opts, toy_cmd] {
                                if (*toy_cmd && (*toy_cmd)->parsed()) return run_toy(*opts);
                                return 2;
                              });
  gen->require_subcommand(1);

  std::string names;
  for (const auto& n : toy_names()) names += (names.empty() ? "" : ", ") + n;
  for (const auto& n : jet_toy_names()) names += ", " + n;
  CLI::App* toy = gen->add_subcommand("toy", "A built-in toy: product and islands (Roxlo & Reece 2.5), "
                                             "gauss-marginal, gauss-correlation, gauss-width, gauss-mixed (Wunsch et al.), "
                                             "xaug-jets (Agarwal et al., XAUG)");
  *toy_cmd = toy;
  toy->footer(
      "Example:\n  unbox generate toy islands --events 200000 --seed 7 --out islands.h5\n"
      "Columns: x, y, label (product, islands); x1, x2, label (gauss-*). label 1 = signal.\n"
      "xaug-jets: p{i}_pt, p{i}_eta, p{i}_phi, p{i}_z, p{i}_theta for particles i = 0..19 (0-9 in the\n"
      "harder subjet, 10-19 in the softer), then xaug_subjet_balance, xaug_subjet_dr, xaug_mass, label.\n"
      "The output format follows the extension of --out (.csv, .npy, .npz, .h5).");
  // Unknown names are reported by generate_toy (an unbox::Error listing the names), so no
  // CLI11 validator here: one place owns the list.
  toy->add_option("name", opts->name, "Toy name: " + names)->required();
  toy->add_option("--events,-n", opts->events, "Number of events (events/2 signal)")->capture_default_str();
  toy->add_option("--seed,-s", opts->seed, "Random seed (same seed, same events on any machine)")
      ->capture_default_str();
  toy->add_option("--out,-o", opts->out, "Output file; format from the extension")->required();
}

}  // namespace unbox::cli
