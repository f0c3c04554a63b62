#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "train_command.hpp"
#include "unbox/metrics.hpp"
#include "unbox/toys.hpp"

namespace unbox::cli {

namespace {
struct DemoArgs {
  std::string dir = "unbox-demo";
  Index events = 100000;
  Index epochs = 10;
  std::uint64_t seed = 1;
} a;

// The product toy of Roxlo & Reece section 2.5.1 with the paper's network, end to end.
int run_demo() {
  std::filesystem::create_directories(a.dir);
  const std::string train_path = a.dir + "/product.csv", test_path = a.dir + "/product_test.csv",
                    model_path = a.dir + "/paper.unbox";
  std::cout << fmt::format("unbox demo: the product toy (label 1 when x*y < 0) and the paper's 11-hidden-layer network\n");
  write_dataset(generate_toy("product", a.events, a.seed), train_path);
  write_dataset(generate_toy("product", a.events / 4, a.seed + 1), test_path);
  std::cout << fmt::format("generated {} ({} events) and {} ({} events)\n", train_path, a.events, test_path,
                           a.events / 4);
  TrainArgs t;
  t.data.path = train_path;
  t.arch = "paper";
  t.out = model_path;
  t.options.epochs = a.epochs;
  t.options.seed = a.seed;
  Network net = run_train(t);

  Dataset test = read_dataset(test_path);
  test.label_column = "label";
  Tensor scores = evaluate(net, gather_inputs(net, test), {net.resolve("output:pre")});
  double test_auc = auc(scores.values(), test.labels());
  std::cout << "\n" << layer_table(net) << "\n";
  std::cout << fmt::format("test AUC {:.4f} on {} events (score: output:pre, the value before the tanh)\n", test_auc,
                           test.events());
  std::cout << fmt::format("model written to {}; try:\n  build/unbox info --model {}\n"
                           "  build/unbox eval --model {} --data {} --label label\n"
                           "  build/unbox predict --model {} --data {} --neurons L2N12,L5N1,output --out {}/neurons.csv\n",
                           model_path, model_path, model_path, test_path, model_path, test_path, a.dir);
  return 0;
}
}  // namespace

void register_demo(CLI::App& app) {
  auto* c = add_command(app, "demo", "Train the paper's network on the product toy and show what unbox reports",
                        "unbox demo --dir unbox-demo", run_demo);
  c->add_option("--dir", a.dir, "Folder for the data and the model")->capture_default_str();
  c->add_option("--events", a.events, "Training events")->capture_default_str();
  c->add_option("--epochs", a.epochs, "Maximum epochs")->capture_default_str();
  c->add_option("--seed", a.seed, "Random seed")->capture_default_str();
}

}  // namespace unbox::cli
