// Private helpers shared by the data readers and writers (not a public header).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include <memory>
#include "unbox/data.hpp"
#include "unbox/data_stream.hpp"

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

namespace unbox {
// One file's events in chunks (data_stream.hpp); a format's source reads only what a chunk needs.
struct ChunkReader::Source {
  virtual ~Source() = default;
  virtual Dataset read(Index count) = 0;  // the next at most `count` events
  virtual Index skip(Index count) = 0;    // skip up to `count` events; returns how many
  virtual Index events() = 0;             // events in the file
  virtual bool streamed() const { return true; }
};
namespace detail {
std::unique_ptr<ChunkReader::Source> open_csv_chunks(const std::string& path, const ReadOptions& options);
// nullptr when the array cannot be read by row ranges (Fortran order, text).
std::unique_ptr<ChunkReader::Source> open_npy_chunks(const std::string& path, const ReadOptions& options);
// nullptr unless the object is numeric datasets of one length (a group of them, or one).
std::unique_ptr<ChunkReader::Source> open_hdf5_chunks(const std::string& path, const std::string& object,
                                                      const ReadOptions& options);
}  // namespace detail
}  // namespace unbox
