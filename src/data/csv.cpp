// CSV reader and writer.
//
// The reader is benchmarked in MB/s: it reads the whole file into memory, parses the
// numbers in place with std::from_chars (no per-cell allocation, no per-line copy) and
// appends them to per-column vectors reserved from a newline count. Anything unusual
// (a bad cell, a ragged row, a NaN) leaves the fast loop and goes to `diagnose_line`,
// which re-reads that one line slowly to say exactly what is wrong.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>
#include <vector>

#include "data/io_util.hpp"
#include "unbox/data.hpp"
#include "unbox/parallel.hpp"

namespace unbox {

namespace {

enum class Separator { comma, tab, whitespace };

struct CsvLayout {
  Separator separator;
  std::vector<std::string> names;
};

bool is_eol(const char* p, const char* end) {
  return p == end || *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

// Blanks that may surround a field: spaces always, tabs unless the tab is the separator.
bool is_blank(char c, Separator sep) { return c == ' ' || (c == '\t' && sep != Separator::tab); }

std::string strip_quotes(std::string_view s) {
  if (s.size() >= 2 && ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\''))) {
    char q = s.front();
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      out += s[i];
      if (s[i] == q && i + 2 < s.size() && s[i + 1] == q) ++i;  // "" inside quotes is one "
    }
    return out;
  }
  return std::string(s);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Split one line into fields. Quotes are honoured (the header may quote its names);
// data cells are numbers, so quotes there simply end up in a bad cell's text.
std::vector<std::string_view> split_line(std::string_view line, Separator sep) {
  std::vector<std::string_view> fields;
  size_t i = 0, n = line.size();
  if (sep == Separator::whitespace) {
    while (true) {
      while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i >= n) break;
      size_t start = i;
      bool quoted = false;
      while (i < n && (quoted || !(line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))) {
        if (line[i] == '"') quoted = !quoted;
        ++i;
      }
      fields.push_back(line.substr(start, i - start));
    }
    return fields;
  }
  char delim = sep == Separator::comma ? ',' : '\t';
  size_t start = 0;
  bool quoted = false;
  for (; i <= n; ++i) {
    if (i < n && line[i] == '"') quoted = !quoted;
    if (i == n || (line[i] == delim && !quoted)) {
      fields.push_back(trim(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  return fields;
}

std::string_view line_at(const char* start, const char* end) {
  const char* stop = std::find(start, end, '\n');
  std::string_view line(start, static_cast<size_t>(stop - start));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string shown(std::string_view text) {
  if (text.size() > 40) return std::string(text.substr(0, 37)) + "...";
  return std::string(text);
}

// Parse a whole field as a double: optional '+', then std::from_chars, which must consume
// everything. Underflow to zero/subnormal is accepted (as strtod does); overflow is not.
bool parse_number(std::string_view text, double& value) {
  const char* b = text.data();
  const char* e = b + text.size();
  if (b != e && *b == '+' && b + 1 != e && b[1] != '-' && b[1] != '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, value);
  if (ptr != e || b == e) return false;
  if (ec == std::errc()) return true;
  if (ec != std::errc::result_out_of_range) return false;
  std::string copy(b, e);
  value = std::strtod(copy.c_str(), nullptr);
  return std::isfinite(value);
}

[[noreturn]] void diagnose_line(const std::string& path, Index line_number, const char* start, const char* end,
                                const CsvLayout& layout, const ReadOptions& options) {
  auto fields = split_line(line_at(start, end), layout.separator);
  if (fields.size() != layout.names.size())
    fail_at(path, line_number, 0,
            fmt::format("expected {} fields (one per column), found {}", layout.names.size(), fields.size()));
  for (size_t j = 0; j < fields.size(); ++j) {
    std::string_view text = trim(fields[j]);
    const std::string& name = layout.names[j];
    double value;
    if (text.empty())
      fail_at(path, line_number, static_cast<Index>(j + 1),
              fmt::format("expected a number in column '{}', found an empty cell", name));
    if (!parse_number(text, value))
      fail_at(path, line_number, static_cast<Index>(j + 1),
              fmt::format("expected a number in column '{}', found '{}'", name, shown(text)));
    if (!std::isfinite(value) && !options.allow_nan)
      fail_at(path, line_number, static_cast<Index>(j + 1),
              fmt::format("column '{}' holds '{}'; NaN and infinite values are refused", name, shown(text)));
  }
  // The fast loop saw something the slow one accepts; should not happen, but say where.
  fail_at(path, line_number, 0, "cannot parse this line");
}

CsvLayout parse_header(const std::string& path, Index line, std::string_view header) {
  CsvLayout layout;
  // The header decides the separator: a comma anywhere, else a tab, else blank runs.
  if (header.find(',') != std::string_view::npos)
    layout.separator = Separator::comma;
  else if (header.find('\t') != std::string_view::npos)
    layout.separator = Separator::tab;
  else
    layout.separator = Separator::whitespace;
  auto fields = split_line(header, layout.separator);
  for (size_t j = 0; j < fields.size(); ++j) {
    std::string name = strip_quotes(trim(fields[j]));
    // pandas' to_csv writes its index column with an empty name; give it a usable one.
    if (name.empty()) name = fmt::format("unnamed_{}", j);
    for (size_t k = 0; k < layout.names.size(); ++k)
      if (layout.names[k] == name)
        fail_at(path, line, static_cast<Index>(j + 1),
                fmt::format("column name '{}' appears twice in the header (columns {} and {})", name, k + 1, j + 1));
    layout.names.push_back(std::move(name));
  }
  return layout;
}

// Exact fast path for plain decimals: with at most 19 digits, a mantissa m <= 2^53 and
// |exponent| <= 22, both m and 10^|e| are exact doubles, so one IEEE multiply or divide
// gives the correctly rounded value (Clinger). Returns nullptr to defer to from_chars
// (long mantissas, big exponents, nan/inf, anything odd); never accepts what from_chars
// would reject.
const char* parse_plain_decimal(const char* p, const char* end, double& out) {
  static constexpr double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  bool negative = false;
  if (p < end && *p == '-') {
    negative = true;
    ++p;
  }
  std::uint64_t mantissa = 0;
  int digits = 0, exponent = 0;
  bool any = false;
  while (p < end && *p == '0') {
    ++p;
    any = true;
  }
  while (p < end && static_cast<unsigned>(*p - '0') < 10) {
    if (++digits > 19) return nullptr;
    mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
    ++p;
    any = true;
  }
  if (p < end && *p == '.') {
    ++p;
    if (mantissa == 0)
      while (p < end && *p == '0') {
        ++p;
        --exponent;
        any = true;
      }
    while (p < end && static_cast<unsigned>(*p - '0') < 10) {
      if (++digits > 19) return nullptr;
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
      --exponent;
      ++p;
      any = true;
    }
  }
  if (!any) return nullptr;
  if (p < end && (*p == 'e' || *p == 'E')) {
    const char* q = p + 1;
    bool negative_exponent = false;
    if (q < end && (*q == '+' || *q == '-')) negative_exponent = *q++ == '-';
    if (q >= end || static_cast<unsigned>(*q - '0') >= 10) return nullptr;
    int e = 0;
    while (q < end && static_cast<unsigned>(*q - '0') < 10) {
      if (e < 100000) e = e * 10 + (*q - '0');
      ++q;
    }
    exponent += negative_exponent ? -e : e;
    p = q;
  }
  if (mantissa == 0) {
    out = negative ? -0.0 : 0.0;
    return p;
  }
  if (mantissa > (std::uint64_t{1} << 53) || exponent < -22 || exponent > 22) return nullptr;
  double v = static_cast<double>(mantissa);
  v = exponent < 0 ? v / pow10[-exponent] : v * pow10[exponent];
  out = negative ? -v : v;
  return p;
}

// The hot loop: parse rows in [p, end) into `columns`. Returns nullptr when all is well,
// else the start of the first line it could not take (diagnose_line says why). Never throws
// except bad_alloc, so it can run inside an OpenMP region.
template <Separator sep>
const char* parse_rows(const char* p, const char* const end, size_t ncols, bool allow_nan,
                       std::vector<std::vector<double>>& columns) {
  constexpr char delim = sep == Separator::tab ? '\t' : ',';
  while (p < end) {
    const char* const line_start = p;
    // Blank lines (also "  \r") are skipped.
    const char* q = p;
    while (q < end && (*q == ' ' || *q == '\t')) ++q;
    if (is_eol(q, end)) {
      p = q;
      if (p < end && *p == '\r') ++p;
      if (p < end) ++p;
      continue;
    }
    for (size_t j = 0; j < ncols; ++j) {
      while (p < end && is_blank(*p, sep)) ++p;
      if (p < end && *p == '+') {  // from_chars refuses a leading '+'
        ++p;
        if (p < end && (*p == '-' || *p == '+')) return line_start;
      }
      double value;
      const char* after = parse_plain_decimal(p, end, value);
      if (!after) {
        auto [ptr, ec] = std::from_chars(p, end, value);
        if (ec == std::errc::result_out_of_range) {
          // Underflow (1e-400) reads as zero like strtod; overflow (1e999) is a bad cell.
          std::string copy(p, ptr);
          value = std::strtod(copy.c_str(), nullptr);
          if (!std::isfinite(value)) return line_start;
        } else if (ec != std::errc()) {
          return line_start;
        }
        if (!allow_nan && !std::isfinite(value)) return line_start;
        after = ptr;
      }
      p = after;
      while (p < end && is_blank(*p, sep)) ++p;
      if (j + 1 < ncols) {
        if constexpr (sep == Separator::whitespace) {
          if (p == after || is_eol(p, end)) return line_start;
        } else {
          if (p == end || *p != delim) return line_start;
          ++p;
        }
      } else if (!is_eol(p, end)) {
        return line_start;
      }
      columns[j].push_back(value);
    }
    if (p < end && *p == '\r') ++p;
    if (p < end) ++p;  // '\n'
  }
  return nullptr;
}

const char* parse_rows(Separator sep, const char* p, const char* end, size_t ncols, bool allow_nan,
                       std::vector<std::vector<double>>& columns) {
  switch (sep) {
    case Separator::comma:
      return parse_rows<Separator::comma>(p, end, ncols, allow_nan, columns);
    case Separator::tab:
      return parse_rows<Separator::tab>(p, end, ncols, allow_nan, columns);
    default:
      return parse_rows<Separator::whitespace>(p, end, ncols, allow_nan, columns);
  }
}

}  // namespace

Dataset read_csv(const std::string& path, const ReadOptions& options) {
  std::string text = detail::read_whole_file(path);
  // Old Mac files end their lines with a lone CR: read it as a line end (as pandas does).
  // Each lone CR becomes one LF, so line numbers stay those an editor shows.
  if (const void* cr = std::memchr(text.data(), '\r', text.size())) {
    for (size_t i = static_cast<size_t>(static_cast<const char*>(cr) - text.data()); i < text.size(); ++i)
      if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) text[i] = '\n';
  }
  const char* p = text.data();
  const char* const end = p + text.size();
  if (text.size() >= 3 && static_cast<unsigned char>(p[0]) == 0xEF && static_cast<unsigned char>(p[1]) == 0xBB &&
      static_cast<unsigned char>(p[2]) == 0xBF)
    p += 3;  // UTF-8 byte order mark, as Excel writes it

  Index header_line = 1;
  // The header is the first line; blank lines before it are tolerated (and counted).
  while (p < end && trim(line_at(p, end)).empty()) {
    const char* nl = std::find(p, end, '\n');
    p = nl == end ? end : nl + 1;
    if (p < end) ++header_line;
  }
  if (p >= end) fail_at(path, 0, 0, "the file is empty; expected a header line of column names");
  const CsvLayout layout = parse_header(path, header_line, line_at(p, end));
  {
    const char* nl = std::find(p, end, '\n');
    p = nl == end ? end : nl + 1;
  }
  const char* const data_start = p;
  const size_t ncols = layout.names.size();

  // Large files are cut into one chunk per thread at line boundaries; each chunk fills
  // its own column vectors, which are then joined in order.
  constexpr size_t min_chunk_bytes = 4 << 20;
  const size_t bytes = static_cast<size_t>(end - data_start);
  const int chunks = static_cast<int>(
      std::clamp<size_t>(bytes / min_chunk_bytes, 1, static_cast<size_t>(std::max(1, thread_count()))));
  std::vector<const char*> bounds(static_cast<size_t>(chunks) + 1, end);
  bounds[0] = data_start;
  for (int c = 1; c < chunks; ++c) {
    const char* guess = std::max(bounds[static_cast<size_t>(c) - 1],
                                 data_start + bytes * static_cast<size_t>(c) / static_cast<size_t>(chunks));
    const char* nl = std::find(guess, end, '\n');
    bounds[static_cast<size_t>(c)] = nl == end ? end : nl + 1;
  }
  std::vector<std::vector<std::vector<double>>> parts(static_cast<size_t>(chunks));
  std::vector<const char*> bad_line(static_cast<size_t>(chunks), nullptr);
  parallel_for(chunks, [&](Index c) {
    const auto k = static_cast<size_t>(c);
    auto& cols = parts[k];
    cols.resize(ncols);
    const size_t rows = static_cast<size_t>(std::count(bounds[k], bounds[k + 1], '\n')) + 1;
    for (auto& col : cols) col.reserve(rows);
    bad_line[k] = parse_rows(layout.separator, bounds[k], bounds[k + 1], ncols, options.allow_nan, cols);
  });
  for (size_t k = 0; k < parts.size(); ++k) {
    if (bad_line[k]) {
      // Line numbers are only needed on failure: count the newlines before the bad line.
      Index line_number = header_line + 1 + static_cast<Index>(std::count(data_start, bad_line[k], '\n'));
      diagnose_line(path, line_number, bad_line[k], end, layout, options);
    }
  }

  Dataset out;
  out.source = path;
  for (size_t j = 0; j < ncols; ++j) {
    std::vector<double> column = std::move(parts[0][j]);
    if (parts.size() > 1) {
      size_t total = 0;
      for (const auto& part : parts) total += part[j].size();
      column.reserve(total);
      for (size_t k = 1; k < parts.size(); ++k) column.insert(column.end(), parts[k][j].begin(), parts[k][j].end());
    }
    const auto rows = static_cast<Index>(column.size());
    out.add(layout.names[j], Tensor({rows}, std::move(column)));
  }
  return out;
}

namespace {

std::string csv_name(const std::string& name, char delim) {
  bool needs_quotes = name.empty() || name.find_first_of(std::string("\"' \t\r\n") + delim) != std::string::npos;
  if (!needs_quotes) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace

void write_csv(const Dataset& data, const std::string& path) {
  const auto& names = data.names();
  if (names.empty()) throw Error(fmt::format("cannot write '{}': the dataset has no columns", path));
  for (const auto& name : names) {
    const Tensor& t = data.get(name);
    if (t.rank() != 1)
      throw Error(
          fmt::format("cannot write '{}' (shape {}) to CSV '{}': CSV holds only 1-D columns; "
                      "write .npz or .h5 instead",
                      name, shape_string(t.shape()), path));
  }
  const char delim = extension_of(path) == "tsv" ? '\t' : ',';
  std::vector<const double*> columns;
  for (const auto& name : names) columns.push_back(data.get(name).data());
  const Index events = data.events();

  write_atomically(path, [&](const std::string& tmp) {
    detail::OutputFile out(tmp, path);
    std::string header;
    for (size_t j = 0; j < names.size(); ++j) {
      if (j) header += delim;
      header += csv_name(names[j], delim);
    }
    header += '\n';
    out.write(header);
    // One buffer reused for all rows; each number goes through to_chars straight into it.
    constexpr size_t flush_at = 1 << 20;
    std::vector<char> buffer(flush_at + 40 * names.size() + 64);
    size_t used = 0;
    for (Index e = 0; e < events; ++e) {
      for (size_t j = 0; j < columns.size(); ++j) {
        double v = columns[j][e];
        char* at = buffer.data() + used;
        if (std::isnan(v)) {
          std::copy_n("nan", 3, at);
          at += 3;
        } else {
          at = std::to_chars(at, at + 32, v).ptr;
        }
        *at++ = j + 1 < columns.size() ? delim : '\n';
        used = static_cast<size_t>(at - buffer.data());
      }
      if (used >= flush_at) {
        out.write(buffer.data(), used);
        used = 0;
      }
    }
    out.write(buffer.data(), used);
    out.close();
  });
}

// ---------------------------------------------------------------------------------
// Chunked reading: lines are read from the file until a block holds `count` rows, then
// the block is parsed by the same loop as read_csv (and a bad line diagnosed the same way,
// with its line number in the file).
namespace {

class CsvChunks : public ChunkReader::Source {
 public:
  CsvChunks(const std::string& path, const ReadOptions& options) : path_(path), options_(options) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw Error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    std::string_view line;
    bool first = true;
    while (true) {
      if (!next_line(line)) fail_at(path, 0, 0, "the file is empty; expected a header line of column names");
      if (first && line.size() >= 3 && static_cast<unsigned char>(line[0]) == 0xEF &&
          static_cast<unsigned char>(line[1]) == 0xBB && static_cast<unsigned char>(line[2]) == 0xBF)
        line.remove_prefix(3);
      first = false;
      if (!trim(line_at(line.data(), line.data() + line.size())).empty()) break;
    }
    layout_ = parse_header(path, line_, line_at(line.data(), line.data() + line.size()));
  }
  ~CsvChunks() override {
    if (file_) std::fclose(file_);
    std::free(buffer_);
  }
  CsvChunks(const CsvChunks&) = delete;
  CsvChunks& operator=(const CsvChunks&) = delete;

  Dataset read(Index count) override {
    block_.clear();
    const Index first_line = line_ + 1;
    Index rows = 0;
    std::string_view line;
    while (rows < count && next_line(line)) {
      block_.append(line);
      if (block_.empty() || block_.back() != '\n') block_ += '\n';
      if (!trim(line_at(line.data(), line.data() + line.size())).empty()) ++rows;
    }
    const size_t ncols = layout_.names.size();
    std::vector<std::vector<double>> cols(ncols);
    for (auto& c : cols) c.reserve(static_cast<size_t>(rows));
    const char* begin = block_.data();
    const char* end = begin + block_.size();
    if (const char* bad = parse_rows(layout_.separator, begin, end, ncols, options_.allow_nan, cols))
      diagnose_line(path_, first_line + static_cast<Index>(std::count(begin, bad, '\n')), bad, end, layout_, options_);
    Dataset out;
    for (size_t j = 0; j < ncols; ++j) {
      const auto n = static_cast<Index>(cols[j].size());
      out.add(layout_.names[j], Tensor({n}, std::move(cols[j])));
    }
    return out;
  }

  Index skip(Index count) override {
    Index rows = 0;
    std::string_view line;
    while (rows < count && next_line(line))
      if (!trim(line_at(line.data(), line.data() + line.size())).empty()) ++rows;
    return rows;
  }

  Index events() override {
    CsvChunks scan(path_, options_);
    return scan.skip(std::numeric_limits<Index>::max());
  }

 private:
  bool next_line(std::string_view& out) {
    const ssize_t n = ::getline(&buffer_, &capacity_, file_);
    if (n < 0) {
      if (std::ferror(file_)) throw Error(fmt::format("cannot read '{}': {}", path_, std::strerror(errno)));
      return false;
    }
    ++line_;
    out = std::string_view(buffer_, static_cast<size_t>(n));
    return true;
  }

  std::string path_;
  ReadOptions options_;
  std::FILE* file_ = nullptr;
  char* buffer_ = nullptr;
  size_t capacity_ = 0;
  Index line_ = 0;  // lines read so far (the number of the last one)
  CsvLayout layout_;
  std::string block_;
};

}  // namespace

namespace detail {
std::unique_ptr<ChunkReader::Source> open_csv_chunks(const std::string& path, const ReadOptions& options) {
  return std::make_unique<CsvChunks>(path, options);
}
}  // namespace detail

// ---------------------------------------------------------------------------------
// CSV written chunk by chunk (the same text as write_csv).
struct CsvAppender::File {
  detail::OutputFile out;
  File(const std::string& tmp, const std::string& path) : out(tmp, path) {}
};

CsvAppender::CsvAppender(const std::string& tmp_path, const std::string& final_path)
    : file_(std::make_unique<File>(tmp_path, final_path)),
      path_(final_path),
      delim_(extension_of(final_path) == "tsv" ? '\t' : ',') {}
CsvAppender::~CsvAppender() = default;

void CsvAppender::append(const Dataset& chunk) {
  if (names_.empty()) {
    names_ = chunk.names();
    if (names_.empty()) throw Error(fmt::format("cannot write '{}': the dataset has no columns", path_));
    std::string header;
    for (size_t j = 0; j < names_.size(); ++j)
      header += (j ? std::string(1, delim_) : "") + csv_name(names_[j], delim_);
    file_->out.write(header + "\n");
  }
  if (chunk.names() != names_)
    throw Error(fmt::format("cannot write '{}': a chunk has other columns than the first", path_));
  std::vector<const double*> columns;
  for (const auto& name : names_) {
    const Tensor& t = chunk.get(name);
    if (t.rank() != 1)
      throw Error(fmt::format("cannot write '{}' (shape {}) to CSV '{}': CSV holds only 1-D columns", name,
                              shape_string(t.shape()), path_));
    columns.push_back(t.data());
  }
  std::string buffer;
  char number[40];
  for (Index e = 0; e < chunk.events(); ++e) {
    for (size_t j = 0; j < columns.size(); ++j) {
      const double v = columns[j][e];
      if (std::isnan(v))
        buffer += "nan";
      else
        buffer.append(number, std::to_chars(number, number + sizeof number, v).ptr);
      buffer += j + 1 < columns.size() ? delim_ : '\n';
    }
    if (buffer.size() > (1u << 20)) file_->out.write(buffer), buffer.clear();
  }
  file_->out.write(buffer);
  events_ += chunk.events();
}

void CsvAppender::close() { file_->out.close(); }

}  // namespace unbox
