// Many files as one sequence of events, read in bounded chunks (data_stream.hpp).
#include <fmt/format.h>
#include <glob.h>

#include <algorithm>
#include <filesystem>

#include "data/io_util.hpp"
#include "unbox/data_stream.hpp"

namespace unbox {

namespace {

std::string lower_extension(const std::string& file) {
  std::string ext = std::filesystem::path(file).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// "file.h5:/group" -> {"file.h5", "/group"} (as read_dataset splits it).
std::pair<std::string, std::string> split_object(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon != std::string::npos && detail::is_hdf5_extension(lower_extension(spec.substr(0, colon))))
    return {spec.substr(0, colon), spec.substr(colon + 1)};
  return {spec, ""};
}

bool has_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// A file held whole, served in slices (formats without a chunked reader).
class WholeFile : public ChunkReader::Source {
 public:
  WholeFile(const std::string& spec, const ReadOptions& options) : data_(read_dataset(spec, options)) {}
  Index events() override { return data_.events(); }
  bool streamed() const override { return false; }
  Index skip(Index count) override {
    const Index n = std::min(count, data_.events() - position_);
    position_ += n;
    return n;
  }
  Dataset read(Index count) override {
    const Index n = std::min(count, data_.events() - position_);
    std::vector<Index> rows(static_cast<size_t>(n));
    for (Index i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = position_ + i;
    position_ += n;
    return data_.subset(rows);
  }

 private:
  Dataset data_;
  Index position_ = 0;
};

}  // namespace

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool is_file_list(const std::string& list) { return list.find(',') != std::string::npos || has_glob(list); }

std::vector<std::string> expand_data_files(const std::string& list) {
  std::vector<std::string> files;
  for (const std::string& entry : split_commas(list)) {
    auto [pattern, object] = split_object(entry);
    if (!has_glob(pattern)) {
      files.push_back(entry);
      continue;
    }
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    if (matches.empty()) throw Error(fmt::format("no file matches '{}'", pattern));
    std::sort(matches.begin(), matches.end());
    for (auto& m : matches) files.push_back(object.empty() ? m : m + ":" + object);
  }
  if (files.empty()) throw Error(fmt::format("no data files in '{}'", list));
  return files;
}

// ---- ChunkReader ----------------------------------------------------------------

ChunkReader::ChunkReader(const std::string& spec, const ReadOptions& options) : spec_(spec), options_(options) {
  auto [file, object] = split_object(spec);
  const std::string ext = lower_extension(file);
  if (ext == "csv" || ext == "tsv" || ext == "txt")
    source_ = detail::open_csv_chunks(file, options);
  else if (ext == "npy")
    source_ = detail::open_npy_chunks(file, options);
  else if (detail::is_hdf5_extension(ext))
    source_ = detail::open_hdf5_chunks(file, object, options);
  if (!source_) source_ = std::make_unique<WholeFile>(spec, options);
}
ChunkReader::~ChunkReader() = default;
ChunkReader::ChunkReader(ChunkReader&&) noexcept = default;
ChunkReader& ChunkReader::operator=(ChunkReader&&) noexcept = default;

Index ChunkReader::events() {
  if (events_ < 0) events_ = source_->events();
  return events_;
}
bool ChunkReader::streamed() const { return source_->streamed(); }

void ChunkReader::skip(Index count) { position_ += source_->skip(count); }

Dataset ChunkReader::next(Index count) {
  if (count < 1) throw Error(fmt::format("a chunk must hold at least 1 event, got {}", count));
  Dataset d = source_->read(count);
  d.source = d.events() > 0 ? fmt::format("{} (events {}..{})", spec_, position_ + 1, position_ + d.events()) : spec_;
  position_ += d.events();
  return d;
}

// ---- DataStream -----------------------------------------------------------------

DataStream::DataStream(std::vector<std::string> files, const ReadOptions& options)
    : files_(std::move(files)), options_(options) {
  if (files_.empty()) throw Error("no data files");
}

const std::vector<Index>& DataStream::counts() {
  if (counts_.empty())
    for (const auto& f : files_) {
      const Index n = ChunkReader(f, options_).events();
      if (n == 0) throw Error(fmt::format("'{}' holds no events", f));
      counts_.push_back(n);
    }
  return counts_;
}

void DataStream::set_counts(std::vector<Index> counts) {
  if (counts.size() != files_.size())
    throw Error(fmt::format("{} event counts for {} files", counts.size(), files_.size()));
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] < 1) throw Error(fmt::format("'{}' holds no events", files_[i]));
  counts_ = std::move(counts);
}

Index DataStream::events() {
  Index n = 0;
  for (Index c : counts()) n += c;
  return n;
}

void DataStream::restrict(Index begin, Index end) {
  if (begin < 0 || end < begin) throw Error(fmt::format("bad event range {}..{}", begin, end));
  counts();
  begin_ = begin, end_ = end;
}

bool DataStream::next(Index max, Dataset& out) {
  if (max < 1) throw Error(fmt::format("a chunk must hold at least 1 event, got {}", max));
  const bool ranged = end_ >= 0;
  while (file_ < files_.size()) {
    if (ranged && position_ >= end_) return false;
    if (!reader_) {
      if (ranged && position_ + counts_[file_] <= begin_) {
        position_ += counts_[file_++];
        continue;
      }
      reader_ = std::make_unique<ChunkReader>(files_[file_], options_);
      read_in_file_ = 0;
      if (ranged && position_ < begin_) {
        reader_->skip(begin_ - position_);
        position_ = begin_;
        read_in_file_ = 1;  // events were there
      }
    }
    const Index want = ranged ? std::min(max, end_ - position_) : max;
    Dataset d = reader_->next(want);
    if (d.events() == 0) {
      if (read_in_file_ == 0) throw Error(fmt::format("'{}' holds no events", files_[file_]));
      reader_.reset();
      ++file_;
      continue;
    }
    read_in_file_ += d.events();
    position_ += d.events();
    out = std::move(d);
    return true;
  }
  return false;
}

// ---- concatenation --------------------------------------------------------------

void append_events(Dataset& data, const Dataset& more) {
  if (data.names().empty()) {
    data = more;
    return;
  }
  for (const auto& name : more.names())
    if (!data.has(name))
      throw Error(fmt::format("'{}' has a column '{}' that '{}' has not; files read together need the same columns",
                              more.source, name, data.source));
  Dataset out;
  out.source = data.source;
  out.label_column = data.label_column;
  out.weight_column = data.weight_column;
  for (const auto& name : data.names()) {
    if (!more.has(name))
      throw Error(fmt::format("'{}' has no column '{}' (which '{}' has); files read together need the same columns",
                              more.source, name, data.source));
    const Tensor& a = data.get(name);
    const Tensor& b = more.get(name);
    if (a.event_shape() != b.event_shape())
      throw Error(fmt::format("'{}' holds '{}' with per-event shape {}, '{}' with {}", data.source, name,
                              shape_string(a.event_shape()), more.source, shape_string(b.event_shape())));
    std::vector<double> values;
    values.reserve(static_cast<size_t>(a.size() + b.size()));
    values.insert(values.end(), a.data(), a.data() + a.size());
    values.insert(values.end(), b.data(), b.data() + b.size());
    Shape shape = a.shape();
    shape[0] += b.dim(0);
    out.add(name, Tensor(shape, std::move(values)));
  }
  data = std::move(out);
}

Dataset read_datasets(const std::vector<std::string>& files, const ReadOptions& options) {
  if (files.size() == 1) return read_dataset(files[0], options);
  Dataset all;
  std::string sources;
  for (const auto& f : files) {
    append_events(all, read_dataset(f, options));
    sources += (sources.empty() ? "" : ",") + f;
  }
  all.source = sources;
  return all;
}

}  // namespace unbox
