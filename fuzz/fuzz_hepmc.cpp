// libFuzzer harness: the HepMC3 ASCII reader (open_hepmc3, every event).
// Any input must give a result or an unbox::Error, never a crash, a sanitizer report, a
// hang or an allocation beyond the memory budget.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "unbox/physics/reader.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  unbox::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string path = unbox::fuzz::input_file(data, size, "hepmc");
  try {
    auto reader = unbox::physics::open_hepmc3(path);
    unbox::physics::GenEvent e;
    while (reader->next(e)) {
    }
  } catch (const unbox::Error&) {
  }
  return 0;
}
