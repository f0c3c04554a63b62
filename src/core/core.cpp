#include "unbox/core.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>

namespace unbox {

void fail_at(const std::string& file, Index line, Index column, const std::string& what) {
  std::string where = file;
  if (line > 0) where += fmt::format(":{}", line);
  if (line > 0 && column > 0) where += fmt::format(":{}", column);
  throw Error(where.empty() ? what : where + ": " + what);
}

namespace {

// Temporaries being written, for the SIGINT/SIGTERM handler. A fixed table of fixed-size
// slots: the handler may only read plain memory and call async-signal-safe functions
// (unlink, _exit). A slot is claimed with a compare-exchange, filled, then published.
constexpr int kTempSlots = 64;
constexpr size_t kTempPathMax = 4096;
struct TempSlot {
  std::atomic<int> state{0};  // 0 free, 1 being filled, 2 published
  char path[kTempPathMax];
};
TempSlot g_temp_slots[kTempSlots];

extern "C" void unbox_remove_temporaries_and_exit(int sig) {
  for (auto& slot : g_temp_slots)
    if (slot.state.load(std::memory_order_acquire) == 2) ::unlink(slot.path);
  ::_exit(128 + sig);
}

// Checked at every write (two cheap system calls), so that a forked child or a program that
// reset its handlers is covered too.
void install_cleanup_handlers() {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    if (::sigaction(sig, nullptr, &current) != 0) continue;
    // A host program's own handler (or an ignored signal) is left alone.
    if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) continue;
    struct sigaction action {};
    action.sa_handler = unbox_remove_temporaries_and_exit;
    sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
}

// Registers `path` for removal on a signal; returns the slot (or -1 when the table is full
// or the path too long: the file is then simply not cleaned up on a signal).
int register_temporary(const std::string& path) {
  install_cleanup_handlers();
  if (path.size() + 1 > kTempPathMax) return -1;
  for (int i = 0; i < kTempSlots; ++i) {
    int expected = 0;
    if (g_temp_slots[i].state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      std::memcpy(g_temp_slots[i].path, path.c_str(), path.size() + 1);
      g_temp_slots[i].state.store(2, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot >= 0) g_temp_slots[slot].state.store(0, std::memory_order_release);
}

class TemporaryRegistration {
 public:
  explicit TemporaryRegistration(const std::string& path) : slot_(register_temporary(path)) {}
  ~TemporaryRegistration() { unregister_temporary(slot_); }
  TemporaryRegistration(const TemporaryRegistration&) = delete;
  TemporaryRegistration& operator=(const TemporaryRegistration&) = delete;

 private:
  int slot_;
};

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} bytes", bytes) : fmt::format("{:.3g} {}", v, units[u]);
}

std::uint64_t physical_memory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{8} << 30;  // unknown: assume 8 GiB
  return saturating_product(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page));
}

// "4G", "512M", "1000000", "25%" -> bytes; 0 when the text is not a size.
std::uint64_t parse_budget(const char* text) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (end == text || errno != 0 || !(v > 0) || !std::isfinite(v)) return 0;
  std::string suffix(end);
  while (!suffix.empty() && suffix.back() == ' ') suffix.pop_back();
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!suffix.empty() && suffix.back() == 'B' && suffix != "B") suffix.pop_back();  // "4GB" = "4G"
  if (!suffix.empty() && suffix.back() == 'I') suffix.pop_back();                   // "4GiB"
  double scale = 1.0;
  if (suffix.empty() || suffix == "B")
    scale = 1.0;
  else if (suffix == "K")
    scale = 1024.0;
  else if (suffix == "M")
    scale = 1024.0 * 1024.0;
  else if (suffix == "G")
    scale = 1024.0 * 1024.0 * 1024.0;
  else if (suffix == "T")
    scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  else if (suffix == "%")
    scale = static_cast<double>(physical_memory()) / 100.0;
  else
    return 0;
  double bytes = v * scale;
  if (bytes >= 1.8e19) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace

std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::numeric_limits<std::uint64_t>::max();
  return r;
}

std::uint64_t memory_budget() {
  std::uint64_t budget = physical_memory() / 2;
  if (const char* env = std::getenv("UNBOX_MEMORY_BUDGET"); env && *env) {
    std::uint64_t b = parse_budget(env);
    if (b == 0)
      throw Error(
          fmt::format("UNBOX_MEMORY_BUDGET='{}' is not a size (expected bytes, e.g. 4G, 512M, or a "
                      "percentage of physical memory such as 25%)",
                      env));
    budget = b;
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    budget = std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(limit.rlim_cur) / 4 * 3);
  return budget;
}

void check_memory(const std::string& what, std::uint64_t bytes) {
  const std::uint64_t budget = memory_budget();
  if (bytes <= budget) return;
  throw Error(fmt::format("{} needs {} ({}), more than the memory budget of {} (set UNBOX_MEMORY_BUDGET to change it)",
                          what,
                          bytes == std::numeric_limits<std::uint64_t>::max() ? std::string("more than 2^64 bytes")
                                                                             : fmt::format("{} bytes", bytes),
                          human_bytes(bytes), human_bytes(budget)));
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
  TemporaryRegistration registered(tmp.string());
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

void warn(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "unbox: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

void require_binary_labels(std::span<const double> labels, const std::string& what) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != 0.0 && labels[i] != 1.0)
      throw Error(fmt::format("{} must hold 0 (background) or 1 (signal); event {} has {}", what, i + 1,
                              std::isnan(labels[i]) ? std::string("nan") : fmt::format("{}", labels[i])));
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
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet),
      tty_(isatty(fileno(stderr)) != 0),
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
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %s  left %s", label_.c_str(), bar.c_str(), static_cast<int>(frac * 100.0),
               status.c_str(), format_duration(left).c_str());
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
  if (!status.empty())
    std::fprintf(stderr, "%s %s (%s)\n", label_.c_str(), status.c_str(),
                 format_duration(now_seconds() - start_).c_str());
  std::fflush(stderr);
}

ProgressCounter::ProgressCounter(const ProgressCallback& callback, Index total)
    : callback_(callback ? &callback : nullptr),
      total_(std::max<Index>(0, total)),
      step_(std::max<Index>(1, (total_ + 255) / 256)) {
  if (callback_ != nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    reported_.store(0, std::memory_order_relaxed);
    (*callback_)(0, total_);
  }
}

void ProgressCounter::add_slow(Index units) {
  const Index done = std::min(total_, done_.fetch_add(units, std::memory_order_relaxed) + units);
  if (done - reported_.load(std::memory_order_relaxed) < step_ && done < total_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const Index now = std::min(total_, done_.load(std::memory_order_relaxed));
  const Index last = reported_.load(std::memory_order_relaxed);
  if (now <= last || (now - last < step_ && now < total_)) return;  // another thread reported meanwhile
  reported_.store(now, std::memory_order_relaxed);
  (*callback_)(now, total_);
}

void ProgressCounter::finish() {
  if (callback_ == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (reported_.load(std::memory_order_relaxed) == total_) return;
  reported_.store(total_, std::memory_order_relaxed);
  (*callback_)(total_, total_);
}

}  // namespace unbox
