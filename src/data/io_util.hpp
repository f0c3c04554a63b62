// Private helpers shared by the data readers and writers (not a public header).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "unbox/data.hpp"

namespace unbox::detail {

// The whole file in memory. A missing or unreadable file throws
// "cannot open 'x.csv': No such file or directory" (the OS's own words).
std::string read_whole_file(const std::string& path);

// The file name without directory and extension ("data/run1.npy" -> "run1").
std::string file_stem(const std::string& path);

// True for the extensions the HDF5 reader/writer handles (h5, hdf5, hdf).
bool is_hdf5_extension(const std::string& ext);

// Throws when `values` hold a NaN or an infinity and the options do not allow them;
// `what` names the array for the message ("array 'x' in 'f.npz'").
void check_finite(const double* values, Index count, const Shape& shape, const std::string& what,
                  const ReadOptions& options);

// A FILE* that closes itself; write errors are detected at close().
class OutputFile {
 public:
  OutputFile(const std::string& tmp_path, const std::string& final_path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Flushes and closes; throws "cannot write 'x' (disk full?)" on failure.
  void close();

 private:
  std::FILE* file_ = nullptr;
  std::string final_path_;
};

}  // namespace unbox::detail
