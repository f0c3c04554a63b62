// unbox demo: the stop study of Roxlo & Reece at (750, 1) at a default size (the README's first
// command, `make demo`), with the options of `unbox study stop`. `unbox demo toy` keeps the old
// demo: the paper's network on the product toy of section 2.5.1.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "study_command.hpp"
#include "train_command.hpp"
#include "unbox/metrics.hpp"
#include "unbox/onnx.hpp"
#include "unbox/toys.hpp"

namespace unbox::cli {

namespace {
struct ToyDemoArgs {
  std::string dir = "unbox-demo";
  Index events = 100000;
  Index epochs = 10;
  std::uint64_t seed = 1;
} toy;

// The product toy of Roxlo & Reece section 2.5.1 with the paper's network, end to end.
int run_toy_demo() {
  auto& a = toy;
  std::filesystem::create_directories(a.dir);
  const std::string train_path = a.dir + "/product.csv", test_path = a.dir + "/product_test.csv",
                    model_path = a.dir + "/paper.unbox";
  std::cout << fmt::format(
      "unbox demo toy: the product toy (label 1 when x*y < 0) and the paper's 11-hidden-layer network\n");
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
  std::cout << fmt::format(
      "model written to {}; try:\n  build/unbox info --model {}\n"
      "  build/unbox eval --model {} --data {} --label label\n"
      "  build/unbox predict --model {} --data {} --neurons L2N12,L5N1,output --out {}/neurons.csv\n",
      model_path, model_path, model_path, test_path, model_path, test_path, a.dir);
  return 0;
}

StudyArgs demo;
}  // namespace

void register_demo(CLI::App& app) {
  demo.demo = true;
  demo.options.out = "unbox-demo";
  // 10^6 signal and 10^6 background events before the selection (README, demo: the stage
  // times and what the network reaches against the best mT2ll cut at this size).
  demo.options.events = 1000000;
  // Three networks on the same events: the AMS of one network moves by about +-0.1 from seed to
  // seed, as much as the network leads the cut by; the spread is printed (training is ~5 % of
  // the demo's time).
  demo.options.seeds = 3;
  auto* c = add_command(app, "demo",
                        "Run the stop study of Roxlo & Reece at (750, 1) GeV (as `unbox study stop`) and print it "
                        "beside the paper's numbers",
                        "unbox demo --out unbox-demo", [] { return run_study(demo); });
  add_study_options(c, demo);
  auto* t = add_command(*c, "toy", "The paper's network on the product toy (label 1 when x*y < 0)",
                        "unbox demo toy --dir unbox-demo", run_toy_demo);
  t->add_option("--dir", toy.dir, "Folder for the data and the model")->capture_default_str();
  t->add_option("--events", toy.events, "Training events")->capture_default_str();
  t->add_option("--epochs", toy.epochs, "Maximum epochs")->capture_default_str();
  t->add_option("--seed", toy.seed, "Random seed")->capture_default_str();
}

}  // namespace unbox::cli
