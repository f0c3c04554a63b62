// Les Houches Event files (hep-ph/0609017, arXiv:1003.0694): a parton-level reader. Each
// <event> block starts with "NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP" followed by NUP lines
// "IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 PX PY PZ E M VTIMUP SPINUP" (GeV); anything
// after the particle lines (<mgrwt>, <rwgt>, comments) is skipped. Outgoing partons
// (ISTUP = 1) are the final state; outgoing b and c quarks are the flavour tags.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "physics/line_reader.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/reader.hpp"

namespace unbox::physics {

namespace {

class LheReader : public EventReader {
 public:
  explicit LheReader(const std::string& path) : lines_(path) {
    path_ = path;
    size_ = lines_.size();
    bool header = false;
    for (int i = 0; i < 20 && getline(); ++i)
      if (line_.find("<LesHouchesEvents") != std::string::npos) {
        header = true;
        break;
      }
    if (!header) fail_at(path, 1, 0, "not an LHE file: expected '<LesHouchesEvents' in the first lines");
  }

  std::int64_t position() const override { return pos_; }

  bool next(GenEvent& out) override {
    // Find the next <event ...> tag (skipping <init>, comments and the header).
    for (;;) {
      if (!getline()) {
        if (!closed_)
          throw Error(fmt::format("{}: truncated LHE file: it ends without '</LesHouchesEvents>' after {} event(s)",
                                  path_, events_));
        return false;
      }
      if (line_.find("</LesHouchesEvents>") != std::string::npos) {
        closed_ = true;
        continue;
      }
      auto p = line_.find_first_not_of(" \t");
      if (p != std::string::npos && line_.compare(p, 6, "<event") == 0 &&
          (line_.size() == p + 6 || line_[p + 6] == '>' || line_[p + 6] == ' '))
        break;
    }
    std::int64_t event_line = lineno_;
    ++events_;
    auto eof_inside = [&] {
      fail_at(path_, lineno_, 0,
              fmt::format("truncated LHE event {} (started at line {}): the file ends inside it", events_, event_line));
    };
    if (!getline()) eof_inside();
    double head[6];
    if (!parse_numbers(head, 6))
      fail_at(path_, lineno_, 0,
              fmt::format("LHE event {}: expected 'NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP', got '{}'", events_, line_));
    // Range first: casting 2e47 to int is undefined behaviour (found by fuzz_lhe).
    if (!(head[0] >= 1 && head[0] <= 100000) || head[0] != std::trunc(head[0]))
      fail_at(path_, lineno_, 0, fmt::format("LHE event {}: bad particle count NUP = {}", events_, head[0]));
    const int nup = static_cast<int>(head[0]);
    for (int k = 0; k < 6; ++k)
      if (!std::isfinite(head[k]))
        fail_at(path_, lineno_, 0,
                fmt::format("LHE event {}: {} is {}; expected a finite number", events_,
                            k == 2   ? "the event weight XWGTUP"
                            : k == 3 ? "SCALUP"
                            : k == 4 ? "AQEDUP"
                                     : "AQCDUP",
                            head[k]));
    out.number = events_;
    out.weight = head[2];
    out.parton_level = true;
    out.final_state.clear();
    out.b_tags.clear();
    out.c_tags.clear();
    out.partons.clear();
    for (int i = 0; i < nup; ++i) {
      if (!getline()) eof_inside();
      double v[13];
      if (!parse_numbers(v, 13) || line_.find("</event>") != std::string::npos)
        fail_at(path_, lineno_, 0,
                fmt::format("LHE event {}: particle {} of {}: expected 13 numbers "
                            "(IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 PX PY PZ E M VTIMUP SPINUP), got '{}'",
                            events_, i + 1, nup, line_));
      for (int k = 0; k < 13; ++k)
        if (!std::isfinite(v[k]))
          fail_at(path_, lineno_, 0,
                  fmt::format("LHE event {}: particle {} has a non-finite {}", events_, i + 1,
                              k >= 6 && k <= 10 ? "momentum" : "field"));
      if (v[0] != std::trunc(v[0]) || std::abs(v[0]) > 1e9 || v[1] != std::trunc(v[1]) || std::abs(v[1]) > 1e9)
        fail_at(path_, lineno_, 0,
                fmt::format("LHE event {}: particle {}: IDUP and ISTUP must be integers (got {} and {})", events_,
                            i + 1, v[0], v[1]));
      GenParticle g;
      g.pdg_id = static_cast<int>(v[0]);
      g.status = static_cast<int>(v[1]);
      g.px = v[6];
      g.py = v[7];
      g.pz = v[8];
      g.e = v[9];
      g.m = v[10];
      if (g.status != 1) continue;
      if (is_flavour_parton(g)) out.partons.push_back(g);
      out.final_state.push_back(g);
      if (std::abs(g.pdg_id) == 5) out.b_tags.push_back(g);
      if (std::abs(g.pdg_id) == 4) out.c_tags.push_back(g);
    }
    for (;;) {
      if (!getline()) eof_inside();
      if (line_.find("</event>") != std::string::npos) break;
      // A further line of 13 numbers is a particle NUP did not count (NUP too small).
      double extra[13];
      if (parse_numbers(extra, 13))
        fail_at(
            path_, lineno_, 0,
            fmt::format("LHE event {}: NUP = {} but a further particle line follows (NUP too small?)", events_, nup));
      if (line_.find("<event") != std::string::npos)
        fail_at(path_, lineno_, 0, fmt::format("LHE event {} (line {}) has no '</event>'", events_, event_line));
    }
    pos_ = lines_.consumed();
    return true;
  }

 private:
  bool getline() {
    if (!lines_.next(line_)) return false;
    ++lineno_;
    return true;
  }
  // Reads exactly n numbers from line_ (more fields are an error too).
  bool parse_numbers(double* v, int n) {
    const char* s = line_.c_str();
    for (int i = 0; i < n; ++i) {
      char* end;
      v[i] = std::strtod(s, &end);
      if (end == s) return false;
      s = end;
    }
    while (*s == ' ' || *s == '\t' || *s == '\r') ++s;
    return *s == '\0';
  }

  detail::LineReader lines_;
  std::string line_;
  std::int64_t lineno_ = 0, events_ = 0, pos_ = 0;
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<EventReader> open_lhe(const std::string& path) { return std::make_unique<LheReader>(path); }

}  // namespace unbox::physics
