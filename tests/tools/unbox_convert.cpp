// Test-only converter used by tests/python/test_io.py: reads any supported format and
// writes any supported format through unbox's own readers and writers.
//   unbox_convert IN OUT [--allow-nan]
// Exit 0 on success, 2 with a one-line message on stderr for an unbox::Error.
#include <cstdio>
#include <cstring>
#include <exception>

#include "unbox/data.hpp"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && std::strcmp(argv[3], "--allow-nan") != 0)) {
    std::fprintf(stderr, "usage: unbox_convert IN OUT [--allow-nan]\n");
    return 2;
  }
  try {
    unbox::ReadOptions options;
    options.allow_nan = argc == 4;
    unbox::Dataset data = unbox::read_dataset(argv[1], options);
    unbox::write_dataset(data, argv[2]);
  } catch (const unbox::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
