// Private helper of the event readers: a text file read line by line with a bound on the
// line length (a file with no newline cannot grow memory without limit), CR/CRLF endings
// stripped, and a UTF-8 byte-order mark at the start skipped.
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "unbox/core.hpp"

namespace unbox::physics::detail {

class LineReader {
 public:
  static constexpr size_t kMaxLine = size_t{16} << 20;  // 16 MiB

  explicit LineReader(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw Error(fmt::format("cannot open event file '{}': {}", path, std::strerror(errno)));
    if (std::fseek(file_, 0, SEEK_END) == 0) {
      size_ = std::ftell(file_);
      std::fseek(file_, 0, SEEK_SET);
    }
    buffer_.resize(1 << 16);
  }
  ~LineReader() {
    if (file_) std::fclose(file_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line (without its line end) in `line`; false at the end of the file.
  bool next(std::string& line) {
    line.clear();
    bool any = false;
    unterminated_ = true;
    for (;;) {
      if (at_ == filled_) {
        if (!refill()) {
          if (!any) return false;
          break;
        }
      }
      any = true;
      const char* start = buffer_.data() + at_;
      const void* nl = std::memchr(start, '\n', filled_ - at_);
      size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : filled_ - at_;
      if (line.size() + take > kMaxLine)
        fail_at(path_, number_ + 1, 0, fmt::format("line longer than {} MiB (not a text event file?)", kMaxLine >> 20));
      line.append(start, take);
      at_ += take;
      consumed_ += static_cast<std::int64_t>(take);
      if (nl) {
        ++at_;
        ++consumed_;
        unterminated_ = false;
        break;
      }
    }
    ++number_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number_ == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    return true;
  }

  std::int64_t line_number() const { return number_; }
  // The last line ended at the end of the file without a newline (a file cut mid-line?).
  bool last_line_unterminated() const { return unterminated_; }
  std::int64_t consumed() const { return consumed_; }
  std::int64_t size() const { return size_; }

 private:
  bool refill() {
    at_ = 0;
    filled_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    if (filled_ == 0 && std::ferror(file_))
      throw Error(fmt::format("cannot read event file '{}': {}", path_, std::strerror(errno)));
    return filled_ > 0;
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  size_t at_ = 0, filled_ = 0;
  bool unterminated_ = false;
  std::int64_t number_ = 0, consumed_ = 0, size_ = 0;
};

}  // namespace unbox::physics::detail
