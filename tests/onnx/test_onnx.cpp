// ONNX import and export: export -> import reproduces a network bit for bit; corrupt
// and truncated files and unsupported operators give clear errors, never a crash; the
// backend test data's Conv/Pool/BatchNorm cases (PyTorch's own references) agree.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "unbox/onnx.hpp"
#include "unbox/ops.hpp"

#include "test_util.hpp"

using namespace unbox;

namespace {

using test::random_tensor;

std::string temp(const std::string& name) { return testing::TempDir() + "/" + name; }

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Network mlp(std::mt19937_64& rng) {
  Network net;
  int x = net.add_input("x", {3}, {"pt", "eta", "met"});
  auto st = std::make_unique<Standardize>(Tensor({1, 3}, {10, 0, 30}), Tensor({1, 3}, {5, 1.5, 7}));
  int s = net.add_node("standardize", std::move(st), {x});
  auto d1 = std::make_unique<Dense>(3, 5);
  d1->weight() = random_tensor({5, 3}, rng);
  d1->bias() = random_tensor({5}, rng);
  int h = net.add_node("dense1", std::move(d1), {s});
  h = net.add_node("act1", std::make_unique<Activation>(ActivationKind::LeakyReLU, 0.1), {h});
  auto d2 = std::make_unique<Dense>(5, 1);
  d2->weight() = random_tensor({1, 5}, rng);
  d2->bias() = random_tensor({1}, rng);
  h = net.add_node("dense2", std::move(d2), {h});
  net.add_node("act2", std::make_unique<Activation>(ActivationKind::Tanh), {h});
  return net;
}

Network cnn(std::mt19937_64& rng) {
  Network net;
  int img = net.add_input("image", {2, 7, 6});
  int side = net.add_input("side", {2});
  Window w;
  w.kernel = {3, 2}, w.strides = {1, 2}, w.pads = {1, 0, 1, 1}, w.dilations = {1, 1};
  auto c = std::make_unique<Conv>(2, 4, w, 2);
  c->weight() = random_tensor(c->weight().shape(), rng);
  c->bias() = random_tensor({4}, rng);
  int h = net.add_node("conv", std::move(c), {img});
  auto bn = std::make_unique<BatchNorm>(4, 1e-5);
  bn->scale() = random_tensor({4}, rng);
  bn->mean() = random_tensor({4}, rng);
  h = net.add_node("bn", std::move(bn), {h});
  h = net.add_node("relu", std::make_unique<Activation>(ActivationKind::ReLU), {h});
  Window p;
  p.kernel = {2, 2}, p.strides = {2, 2}, p.pads = {0, 0, 0, 0}, p.dilations = {1, 1};
  h = net.add_node("pool", std::make_unique<Pool>(PoolKind::Average, p, true), {h});
  const Index flat = shape_size(net.node(h).shape);
  h = net.add_node("flat", std::make_unique<Reshape>(Shape{flat}), {h});
  h = net.add_node("join", std::make_unique<Concat>(0), {h, side});
  auto d = std::make_unique<Dense>(flat + 2, 2);
  d->weight() = random_tensor({2, flat + 2}, rng);
  h = net.add_node("dense", std::move(d), {h});
  net.add_node("softmax", std::make_unique<Softmax>(), {h});
  return net;
}

}  // namespace

TEST(Onnx, ExportThenImportIsBitExactAndKeepsNames) {
  std::mt19937_64 rng(1);
  for (int which = 0; which < 2; ++which) {
    Network net = which == 0 ? mlp(rng) : cnn(rng);
    const std::string path = temp(which == 0 ? "mlp.onnx" : "cnn.onnx");
    export_onnx(net, path);
    Network back = load_model(path);
    std::vector<Tensor> in;
    for (int id : net.input_nodes()) {
      Shape s{40};
      for (Index d : net.node(id).shape) s.push_back(d);
      in.push_back(random_tensor(s, rng, 3.0));
    }
    NeuronRef out = net.output_neuron(), out_back = back.output_neuron();
    Tensor y1 = evaluate(net, in, {out}), y2 = evaluate(back, in, {out_back});
    EXPECT_EQ(y1.values(), y2.values());  // bit for bit
    auto g1 = input_gradient(net, in, out), g2 = input_gradient(back, in, out_back);
    for (size_t k = 0; k < g1.size(); ++k)
      for (Index i = 0; i < g1[k].size(); ++i)
        EXPECT_NEAR(g1[k][i], g2[k][i], 1e-12 * std::max(1.0, std::abs(g1[k][i])));
    if (which == 0) {
      EXPECT_EQ(back.feature_names(0), (std::vector<std::string>{"pt", "eta", "met"}));
      EXPECT_TRUE(back.is_plain_stack());
      EXPECT_EQ(back.layers().size(), 3u);  // L0, L1, L2 as in the native model
      EXPECT_EQ(back.resolve("L1N4").node, back.find_node("act1"));
    }
    std::remove(path.c_str());
  }
}

TEST(Onnx, CorruptAndTruncatedFilesAreClearErrors) {
  std::mt19937_64 rng(2);
  const std::string good = temp("good.onnx"), bad = temp("bad.onnx");
  export_onnx(cnn(rng), good);
  const std::string bytes = read_bytes(good);
  ASSERT_GT(bytes.size(), 200u);
  // Every truncation point in the first bytes and a spread of later ones: an Error, never a crash.
  int errors = 0;
  for (size_t cut = 0; cut < bytes.size(); cut += cut < 64 ? 1 : 97) {
    write_bytes(bad, bytes.substr(0, cut));
    try {
      read_onnx(bad);
    } catch (const Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(errors, 60);
  write_bytes(bad, "this is not a protobuf at all \xff\xff\xff\xff\xff");
  try {
    read_onnx(bad);
    FAIL() << "garbage accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a valid ONNX model"), std::string::npos) << e.what();
  }
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST(Onnx, UnsupportedOperatorNamesNodeOpAndOpset) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(11);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  auto* n = g->add_node();
  n->set_op_type("Cos");
  n->set_name("weird_node");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  const std::string path = temp("cos.onnx");
  std::string bytes;
  m.SerializeToString(&bytes);
  write_bytes(path, bytes);
  try {
    read_onnx(path);
    FAIL() << "Cos accepted";
  } catch (const OnnxUnsupported& e) {
    const std::string msg = e.what();
    for (const char* want : {"weird_node", "Cos", "opset 11", "Gemm", "Conv", "BatchNormalization"})
      EXPECT_NE(msg.find(want), std::string::npos) << want << " missing in: " << msg;
  }
  // A non-float input type.
  tt->set_elem_type(onnx::TensorProto::INT32);
  n->set_op_type("Relu");
  m.SerializeToString(&bytes);
  write_bytes(path, bytes);
  EXPECT_THROW(read_onnx(path), OnnxUnsupported);
  std::remove(path.c_str());
}

// PyTorch's own outputs for a few of the required conformance cases (the whole suite
// runs as the onnx_conformance ctest).
TEST(Onnx, BackendTestDataConvPoolBatchNorm) {
  const std::filesystem::path root = "/usr/share/libonnx-testdata/data/pytorch-converted";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "libonnx-testdata is not installed";
  for (const char* name :
       {"test_Conv2d_depthwise_strided", "test_Conv1d_dilated", "test_MaxPool2d_stride_padding_dilation",
        "test_AvgPool1d_stride", "test_BatchNorm2d_eval", "test_PReLU_2d_multiparam"}) {
    OnnxModel m = read_onnx((root / name / "model.onnx").string());
    Shape s;
    Tensor x = read_onnx_tensor((root / name / "test_data_set_0" / "input_0.pb").string(), s);
    Tensor ref = read_onnx_tensor((root / name / "test_data_set_0" / "output_0.pb").string(), s);
    Workspace ws;
    m.net.forward({&x}, ws);
    const Tensor& y = ws.values[static_cast<size_t>(m.output_nodes[0])];
    ASSERT_EQ(y.shape(), s) << name;
    for (Index i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-6 + 1e-5 * std::abs(ref[i])) << name << " " << i;
  }
}
