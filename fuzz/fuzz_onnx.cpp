// libFuzzer harness: the ONNX importer (read_onnx).
// Any input must give a result or an unbox::Error, never a crash, a sanitizer report, a
// hang or an allocation beyond the memory budget.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "unbox/onnx.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  unbox::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string path = unbox::fuzz::input_file(data, size, "onnx");
  try {
    unbox::OnnxModel m = unbox::read_onnx(path);
    (void)m.net.nodes().size();
  } catch (const unbox::Error&) {
  }
  return 0;
}
