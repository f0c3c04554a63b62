// Format dispatch by file extension, shared file helpers, and format_double.
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "data/io_util.hpp"
#include "unbox/data.hpp"

namespace unbox {

namespace detail {

std::string read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::string bytes;
  // Size up front so the read is one allocation; fall back to chunked reads for pipes.
  const std::uint64_t budget = memory_budget();
  if (std::fseek(f, 0, SEEK_END) == 0) {
    long size = std::ftell(f);
    if (size > 0 && static_cast<std::uint64_t>(size) > budget) {
      std::fclose(f);
      check_memory(fmt::format("reading '{}' whole", path), static_cast<std::uint64_t>(size));
    }
    if (size > 0) bytes.reserve(static_cast<size_t>(size));
    std::fseek(f, 0, SEEK_SET);
  }
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    if (bytes.size() + got > budget) {
      std::fclose(f);
      check_memory(fmt::format("reading '{}' whole", path), bytes.size() + got);
    }
    bytes.append(buffer, got);
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) throw Error(fmt::format("cannot read '{}': {}", path, std::strerror(err)));
  return bytes;
}

std::string file_stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

bool is_hdf5_extension(const std::string& ext) { return ext == "h5" || ext == "hdf5" || ext == "hdf"; }

void check_finite(const double* values, Index count, const Shape& shape, const std::string& what,
                  const ReadOptions& options) {
  if (options.allow_nan) return;
  for (Index i = 0; i < count; ++i) {
    if (std::isfinite(values[i])) continue;
    // Unravel the flat index so the message points at the event and the element.
    Shape index(shape.size());
    Index rest = i;
    for (size_t d = shape.size(); d-- > 0;) {
      index[d] = shape[d] ? rest % shape[d] : 0;
      rest = shape[d] ? rest / shape[d] : 0;
    }
    // Events are counted from 1, as everywhere in unbox's messages.
    Shape inner(index.begin() + 1, index.end());
    std::string at = index.size() == 1 ? fmt::format("event {}", index[0] + 1)
                                       : fmt::format("event {} (element {})", index[0] + 1, shape_string(inner));
    throw Error(
        fmt::format("{} holds {} at {}; NaN and infinite values are refused", what, format_double(values[i]), at));
  }
}

OutputFile::OutputFile(const std::string& tmp_path, const std::string& final_path) : final_path_(final_path) {
  file_ = std::fopen(tmp_path.c_str(), "wb");
  if (!file_) throw Error(fmt::format("cannot write '{}': {}", final_path, std::strerror(errno)));
}

OutputFile::~OutputFile() {
  if (file_) std::fclose(file_);
}

void OutputFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw Error(fmt::format("cannot write '{}': {}", final_path_, std::strerror(errno)));
}

void OutputFile::close() {
  std::FILE* f = file_;
  file_ = nullptr;
  bool bad = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || bad) throw Error(fmt::format("cannot write '{}' (disk full?)", final_path_));
}

}  // namespace detail

namespace {

constexpr const char* kSupported = ".csv, .tsv, .txt, .npy, .npz, .h5, .hdf5, .hdf";

// "file.h5:/group/x" -> {"file.h5", "/group/x"}; split only when the part before the
// last ':' is an HDF5 file name, so "C:/data.csv" or "run:3.csv" stay whole.
std::pair<std::string, std::string> split_hdf5_spec(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon != std::string::npos && detail::is_hdf5_extension(extension_of(spec.substr(0, colon))))
    return {spec.substr(0, colon), spec.substr(colon + 1)};
  return {spec, ""};
}

}  // namespace

Dataset read_dataset(const std::string& spec, const ReadOptions& options) {
  auto [file, object] = split_hdf5_spec(spec);
  std::string ext = extension_of(file);
  Dataset out;
  if (ext == "csv" || ext == "tsv" || ext == "txt")
    out = read_csv(file, options);
  else if (ext == "npy")
    out = read_npy(file, options);
  else if (ext == "npz")
    out = read_npz(file, options);
  else if (detail::is_hdf5_extension(ext))
    out = read_hdf5(file, object, options);
  else
    throw Error(fmt::format("cannot read '{}': unknown file type {}; supported: {}", file,
                            ext.empty() ? std::string("(no extension)") : "'." + ext + "'", kSupported));
  out.source = spec;
  // Every use of a data file needs events: a header-only CSV or a 0-row array is an error
  // here (the format readers themselves read it faithfully as 0 events).
  if (out.events() == 0)
    throw Error(fmt::format(
        "'{}' holds no events: {}", spec,
        ext == "csv" || ext == "tsv" || ext == "txt" ? "only a header line, no data rows" : "its arrays have 0 rows"));
  return out;
}

void write_dataset(const Dataset& data, const std::string& spec) {
  auto [file, object] = split_hdf5_spec(spec);
  std::string ext = extension_of(file);
  if (ext == "csv" || ext == "tsv" || ext == "txt")
    write_csv(data, file);
  else if (ext == "npy")
    write_npy(data, file);
  else if (ext == "npz")
    write_npz(data, file);
  else if (detail::is_hdf5_extension(ext))
    write_hdf5(data, file, object.empty() ? "/" : object);
  else
    throw Error(fmt::format("cannot write '{}': unknown file type {}; supported: {}", file,
                            ext.empty() ? std::string("(no extension)") : "'." + ext + "'", kSupported));
}

std::string format_double(double v) {
  // Spell the non-finite values the way the CSV reader (std::from_chars) reads them back;
  // to_chars would print a NaN's sign bit as "-nan", which is noise.
  if (std::isnan(v)) return "nan";
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, v);  // shortest round-trip form
  return std::string(buffer, result.ptr);
}

}  // namespace unbox
