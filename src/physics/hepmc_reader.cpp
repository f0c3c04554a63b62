// HepMC3 ASCII input through Debian's libhepmc3 (ReaderAscii), streamed event by event.
// libhepmc3 3.1.2 reports some parse problems only on std::cout and accepts a file that
// simply stops between two events, so this reader adds the checks a user needs: the
// header must be HepMC3's, a failed parse names the line where the broken event starts,
// and a file without the END_EVENT_LISTING footer is reported as truncated.
#include <HepMC3/GenEvent.h>
#include <HepMC3/GenParticle.h>
#include <HepMC3/GenVertex.h>
#include <HepMC3/ReaderAscii.h>
#include <HepMC3/Setup.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

#include "unbox/core.hpp"
#include "unbox/physics/reader.hpp"

namespace unbox::physics {

namespace {

// PDG numbering scheme: for a hadron |id| = n nr nL nq1 nq2 nq3 nJ.
bool hadron_has_quark(int pdg_id, int quark) {
  int a = std::abs(pdg_id);
  if (a < 100 || a >= 1000000) return false;
  if (a % 10 == 0) return false;             // not a hadron (nJ = 0)
  int q3 = (a / 10) % 10, q2 = (a / 100) % 10, q1 = (a / 1000) % 10;
  if (q3 == 0) return false;                  // diquarks (e.g. 5101) and special codes
  return q1 == quark || q2 == quark || q3 == quark;
}

// libhepmc3 3.1.2 prints some parse diagnostics with printf and std::cout ("2  vs  35
// expected"); while reading an event, file descriptor 1 points to /dev/null (flushed on both
// sides so nothing of ours is lost or delayed).
class QuietStdout {
 public:
  QuietStdout() {
    std::fflush(stdout);
    std::cout.flush();
    saved_ = ::dup(1);
    int null = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null >= 0) ::dup2(null, 1);
    if (null >= 0) ::close(null);
  }
  ~QuietStdout() { restore(); }
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stdout);
    std::cout.flush();
    ::dup2(saved_, 1);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  int saved_ = -1;
};

std::int64_t line_of_offset(const std::string& path, std::int64_t offset) {
  std::ifstream in(path, std::ios::binary);
  std::int64_t line = 1, pos = 0;
  char c;
  while (pos < offset && in.get(c)) {
    if (c == '\n') ++line;
    ++pos;
  }
  return line;
}

// The line where the event read from `offset` starts: the first "E " line at or after it
// (the first read also consumes the file's header lines).
std::int64_t event_line(const std::string& path, std::int64_t offset) {
  std::int64_t line = line_of_offset(path, offset);
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::string text;
  for (std::int64_t k = line; std::getline(in, text); ++k)
    if (text.rfind("E ", 0) == 0) return k;
  return line;
}

std::int64_t file_size(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  std::int64_t n = static_cast<std::int64_t>(in.tellg());
  in.seekg(0, std::ios::beg);
  return n;
}

std::string last_nonempty_line(std::ifstream& in, std::int64_t size) {
  std::int64_t start = std::max<std::int64_t>(0, size - 256);
  in.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  in.clear();
  in.seekg(0, std::ios::beg);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' ')) tail.pop_back();
  auto nl = tail.rfind('\n');
  return nl == std::string::npos ? tail : tail.substr(nl + 1);
}

class HepMC3Reader : public EventReader {
 public:
  explicit HepMC3Reader(const std::string& path) {
    path_ = path;
    in_.open(path, std::ios::binary);
    if (!in_) throw Error(fmt::format("cannot open event file '{}'", path));
    size_ = file_size(in_);
    std::string first;
    std::getline(in_, first);
    if (first.rfind("HepMC::Version", 0) != 0 && first.rfind("HepMC::Asciiv3", 0) != 0)
      fail_at(path, 1, 0, "not a HepMC3 ASCII file: expected a 'HepMC::Version' header line");
    complete_ = last_nonempty_line(in_, size_).rfind("HepMC::Asciiv3-END_EVENT_LISTING", 0) == 0;
    HepMC3::Setup::set_print_errors(false);
    HepMC3::Setup::set_print_warnings(false);
    HepMC3::Setup::set_debug_level(0);
    reader_ = std::make_unique<HepMC3::ReaderAscii>(in_);
  }

  std::int64_t position() const override { return last_pos_; }

  bool next(GenEvent& out) override {
    if (done_) return false;
    std::int64_t start = static_cast<std::int64_t>(in_.tellg());
    bool ok;
    {
      QuietStdout quiet;
      try {
        ok = reader_->read_event(evt_);
      } catch (const std::exception& e) {
        quiet.restore();
        fail_at(path_, event_line(path_, start), 0,
                fmt::format("corrupt HepMC3 event after event {}: {}", last_number_, e.what()));
      }
    }
    if (reader_->failed() && in_.eof()) {
      done_ = true;
      last_pos_ = size_;
      // libhepmc3 flags the last event as failed when the file ends right after it (no
      // footer): that event may be complete or cut short; either way the file is truncated.
      if (!evt_.particles().empty() || !complete_)
        throw Error(fmt::format("{}: truncated HepMC3 file: it ends without 'HepMC::Asciiv3-END_EVENT_LISTING' "
                                "after {} complete event(s) (last event number {}){}",
                                path_, events_read_, last_number_,
                                evt_.particles().empty()
                                    ? std::string()
                                    : fmt::format("; the event starting at line {} may be incomplete",
                                                  event_line(path_, start))));
      return false;
    }
    if (!ok || reader_->failed()) {
      std::int64_t line = event_line(path_, start);
      fail_at(path_, line, 0,
              fmt::format("corrupt or truncated HepMC3 event (the event starting here, after event {})",
                          events_read_ == 0 ? std::string("none") : std::to_string(last_number_)));
    }
    last_pos_ = static_cast<std::int64_t>(in_.tellg());
    if (last_pos_ < 0) last_pos_ = size_;
    convert(out);
    ++events_read_;
    last_number_ = out.number;
    return true;
  }

 private:
  void convert(GenEvent& out) {
    double scale = evt_.momentum_unit() == HepMC3::Units::MEV ? 1e-3 : 1.0;
    out.number = evt_.event_number();
    out.weight = evt_.weights().empty() ? 1.0 : evt_.weights()[0];
    out.parton_level = false;
    out.final_state.clear();
    out.b_tags.clear();
    out.c_tags.clear();
    out.partons.clear();
    for (const auto& p : evt_.particles()) {
      const auto& m = p->momentum();
      GenParticle g;
      g.px = m.px() * scale;
      g.py = m.py() * scale;
      g.pz = m.pz() * scale;
      g.e = m.e() * scale;
      double m2 = g.e * g.e - g.px * g.px - g.py * g.py - g.pz * g.pz;
      g.m = m2 > 0 ? std::sqrt(m2) : 0.0;
      g.pdg_id = p->pid();
      g.status = p->status();
      if (!std::isfinite(g.px) || !std::isfinite(g.py) || !std::isfinite(g.pz) || !std::isfinite(g.e))
        throw Error(fmt::format("{}: event {}: particle {} has a non-finite momentum", path_, out.number, p->id()));
      if (g.status == 1) out.final_state.push_back(g);
      if (is_flavour_parton(g)) out.partons.push_back(g);
      bool b = is_b_hadron(g.pdg_id), c = !b && is_c_hadron(g.pdg_id);
      if (!b && !c) continue;
      // Keep only the last hadron of each flavour in its decay chain.
      bool has_same_daughter = false;
      if (auto v = p->end_vertex()) {
        for (const auto& d : v->particles_out())
          if (b ? is_b_hadron(d->pid()) : is_c_hadron(d->pid())) {
            has_same_daughter = true;
            break;
          }
      }
      if (has_same_daughter) continue;
      (b ? out.b_tags : out.c_tags).push_back(g);
    }
  }

  std::ifstream in_;
  std::unique_ptr<HepMC3::ReaderAscii> reader_;
  HepMC3::GenEvent evt_;
  bool complete_ = false, done_ = false;
  std::int64_t last_pos_ = 0, events_read_ = 0, last_number_ = 0;
};

}  // namespace

bool is_b_hadron(int pdg_id) { return hadron_has_quark(pdg_id, 5); }
bool is_c_hadron(int pdg_id) { return !hadron_has_quark(pdg_id, 5) && hadron_has_quark(pdg_id, 4); }

bool is_flavour_parton(const GenParticle& p) {
  int id = std::abs(p.pdg_id);
  if (!((id >= 1 && id <= 5) || id == 21)) return false;
  double pt = std::hypot(p.px, p.py);
  if (pt <= 1.0) return false;
  double eta = std::asinh(p.pz / pt);
  return std::abs(eta) <= 2.5;
}

bool is_invisible(int pdg_id) {
  switch (std::abs(pdg_id)) {
    case 12: case 14: case 16:                    // neutrinos
    case 1000012: case 1000014: case 1000016:     // sneutrinos
    case 1000022:                                 // lightest neutralino
    case 1000039:                                 // gravitino
    case 51: case 52:                             // DMsimp dark-matter candidates (scalar, fermion)
      return true;
    default:
      return false;
  }
}

std::unique_ptr<EventReader> open_hepmc3(const std::string& path) { return std::make_unique<HepMC3Reader>(path); }

EventFormat detect_event_format(const std::string& path) {
  std::string ext = extension_of(path);
  if (ext == "hepmc" || ext == "hepmc3") return EventFormat::HepMC3;
  if (ext == "lhe") return EventFormat::LHE;
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open event file '{}'", path));
  std::string line;
  for (int i = 0; i < 20 && std::getline(in, line); ++i) {
    if (line.rfind("HepMC::", 0) == 0) return EventFormat::HepMC3;
    if (line.find("<LesHouchesEvents") != std::string::npos) return EventFormat::LHE;
  }
  throw Error(fmt::format("'{}' is neither a HepMC3 ASCII file (.hepmc, .hepmc3) nor an LHE file (.lhe)", path));
}

std::unique_ptr<EventReader> open_events(const std::string& path) {
  return detect_event_format(path) == EventFormat::HepMC3 ? open_hepmc3(path) : open_lhe(path);
}

}  // namespace unbox::physics
