// Shared by the libFuzzer harnesses: the readers take file names, so each input is written
// to a per-process temporary file with the reader's extension. The memory budget is set
// low (256 MiB), so that an input claiming more is refused before it is allocated and
// libFuzzer's own RSS limit (2 GB) catches any reader that allocates beyond its claim.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "unbox/core.hpp"

namespace unbox::fuzz {

inline void init() {
  setenv("UNBOX_MEMORY_BUDGET", "256M", 1);
  setenv("OMP_NUM_THREADS", "1", 1);
}

// Writes the input to /dev/shm (or /tmp) as "unbox_fuzz_<pid>.<ext>" and returns the path.
inline std::string input_file(const std::uint8_t* data, size_t size, const char* ext) {
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string path = dir + "/unbox_fuzz_" + std::to_string(getpid()) + "." + ext;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace unbox::fuzz
