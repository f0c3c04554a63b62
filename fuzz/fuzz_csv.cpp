// libFuzzer harness: the CSV/TSV reader (read_csv).
// Any input must give a result or an unbox::Error, never a crash, a sanitizer report, a
// hang or an allocation beyond the memory budget.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "unbox/data.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  unbox::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string path = unbox::fuzz::input_file(data, size, "csv");
  try {
    unbox::Dataset d = unbox::read_dataset(path);
    (void)d.events();
  } catch (const unbox::Error&) {
  }
  return 0;
}
