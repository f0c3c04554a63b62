#include "unbox/core.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace unbox {

void fail_at(const std::string& file, Index line, Index column, const std::string& what) {
  std::string where = file;
  if (line > 0) where += fmt::format(":{}", line);
  if (line > 0 && column > 0) where += fmt::format(":{}", column);
  throw Error(where.empty() ? what : where + ": " + what);
}

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path();
  if (!dir.empty() && !fs::is_directory(dir))
    throw Error(fmt::format("cannot write '{}': directory '{}' does not exist", path, dir.string()));
  // A unique temporary next to the target, so that rename is atomic.
  static thread_local std::mt19937_64 rng(std::random_device{}());
  fs::path tmp = target;
  tmp += fmt::format(".tmp{:x}-{}", rng() & 0xffffffffULL, static_cast<long>(getpid()));
  try {
    write(tmp.string());
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw Error(fmt::format("cannot write '{}': {}", path, ec.message()));
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& content) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error(fmt::format("cannot write '{}'", path));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw Error(fmt::format("cannot write '{}' (disk full?)", path));
  });
}

std::string extension_of(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

int thread_count() { return omp_get_max_threads(); }
void set_thread_count(int n) {
  if (n > 0) omp_set_num_threads(n);
}

namespace {
double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}
std::string format_duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  auto t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}
}  // namespace

Progress::Progress(std::string label, Index total, bool quiet)
    : label_(std::move(label)), total_(total), quiet_(quiet), tty_(isatty(fileno(stderr)) != 0),
      start_(now_seconds()) {}

Progress::~Progress() {
  if (!finished_ && tty_ && !quiet_ && last_draw_ >= 0) std::fputc('\n', stderr);
}

void Progress::update(Index done, const std::string& status) {
  if (quiet_ || !tty_) return;  // plain output: only the lines given to line()
  double t = now_seconds();
  if (last_draw_ >= 0 && t - last_draw_ < 0.1 && done < total_) return;
  last_draw_ = t;
  double frac = total_ > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0) : 0.0;
  constexpr int width = 24;
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  double elapsed = t - start_;
  double left = frac > 0 ? elapsed * (1.0 - frac) / frac : -1.0;
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %s  left %s", label_.c_str(), bar.c_str(),
               static_cast<int>(frac * 100.0), status.c_str(), format_duration(left).c_str());
  std::fflush(stderr);
}

void Progress::line(const std::string& text) {
  if (quiet_) return;
  if (tty_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
  last_draw_ = -1.0;
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (quiet_) return;
  if (tty_) std::fputs("\r\033[K", stderr);
  if (!status.empty()) std::fprintf(stderr, "%s %s (%s)\n", label_.c_str(), status.c_str(),
                                    format_duration(now_seconds() - start_).c_str());
  std::fflush(stderr);
}

}  // namespace unbox
