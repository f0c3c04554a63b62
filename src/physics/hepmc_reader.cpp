// HepMC3 ASCII input, streamed event by event by our own parser of the Asciiv3 format
// (libhepmc3's reader accepts garbage silently and crashes on some malformed vertex lists):
// every field is checked, errors name the file and line, a HepMC2 file is recognized by
// name, and a file without the END_EVENT_LISTING footer is reported as truncated.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <string_view>
#include <vector>

#include "physics/line_reader.hpp"
#include "unbox/core.hpp"
#include "unbox/physics/reader.hpp"

namespace unbox::physics {

namespace {

// PDG numbering scheme: for a hadron |id| = n nr nL nq1 nq2 nq3 nJ.
bool hadron_has_quark(int pdg_id, int quark) {
  int a = std::abs(pdg_id);
  if (a < 100 || a >= 1000000) return false;
  if (a % 10 == 0) return false;  // not a hadron (nJ = 0)
  int q3 = (a / 10) % 10, q2 = (a / 100) % 10, q1 = (a / 1000) % 10;
  if (q3 == 0) return false;  // diquarks (e.g. 5101) and special codes
  return q1 == quark || q2 == quark || q3 == quark;
}

// ---------------------------------------------------------------------------------------
// The HepMC3 ASCII format (HepMC3 WriterAscii, "Asciiv3"), read by our own parser so that
// every field is checked before it is used: libhepmc3 3.1.2 reads non-numeric fields as 0,
// takes unknown units as GeV, and dereferences vertex particle lists unchecked (a list
// naming a particle the event does not have crashes it).
//
//   HepMC::Version 3.x / HepMC::Asciiv3-START_EVENT_LISTING, run-info lines (W names, T tools,
//   A attributes), then per event:
//   E number vertices particles [@ x y z t]
//   U GEV|MEV MM|CM                     (momentum and length units)
//   W w1 w2 ...                         (event weights: numbers)
//   A id name value / T / C / F / N     (attributes; skipped)
//   P id parent pdg px py pz e m status (parent: 0 none, > 0 mother particle, < 0 vertex)
//   V id status [in1,in2,...] [@ x y z t]
//   ... HepMC::Asciiv3-END_EVENT_LISTING

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool to_int(std::string_view t, std::int64_t& v) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && ptr == t.data() + t.size() && !t.empty();
}

bool to_double(std::string_view t, double& v) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  return ec == std::errc() && ptr == t.data() + t.size() && !t.empty();
}

std::string shown(std::string_view t) { return t.size() > 40 ? std::string(t.substr(0, 37)) + "..." : std::string(t); }

struct RawParticle {
  std::int64_t parent = 0;  // 0, a particle id (> 0) or a vertex id (< 0)
  int pdg = 0, status = 0;
  double px = 0, py = 0, pz = 0, e = 0;
  std::int64_t line = 0;
};

struct RawVertex {
  std::int64_t id = 0;
  std::vector<std::int64_t> in;  // incoming particle ids
  std::int64_t line = 0;
};

class HepMC3Reader : public EventReader {
 public:
  explicit HepMC3Reader(const std::string& path) : lines_(path) {
    path_ = path;
    size_ = lines_.size();
    std::string first;
    if (!lines_.next(first)) fail_at(path, 1, 0, "not a HepMC3 ASCII file: the file is empty");
    if (first.rfind("HepMC::Version", 0) != 0 && first.rfind("HepMC::Asciiv3", 0) != 0 &&
        first.rfind("HepMC::IO_GenEvent", 0) != 0)
      fail_at(path, 1, 0, "not a HepMC3 ASCII file: expected a 'HepMC::Version' header line");
    // The version line is followed by the listing's start; a HepMC2 file says IO_GenEvent there.
    std::string line = first;
    while (line.rfind("HepMC::Asciiv3-START_EVENT_LISTING", 0) != 0) {
      if (line.rfind("HepMC::IO_GenEvent", 0) == 0)
        fail_at(path, lines_.line_number(), 0,
                "a HepMC2 file (HepMC::IO_GenEvent); unbox reads HepMC3 ASCII (Asciiv3): convert it with HepMC3's "
                "convert_example.exe (hepmc2 -> hepmc3) or write HepMC3 from the generator");
      if (line.rfind("HepMC::Version", 0) != 0 && !line.empty())
        fail_at(path, lines_.line_number(), 0,
                fmt::format("not a HepMC3 ASCII file: expected 'HepMC::Asciiv3-START_EVENT_LISTING', found '{}'",
                            shown(line)));
      if (!lines_.next(line))
        fail_at(path, lines_.line_number(), 0, "truncated HepMC3 file: it ends inside the header");
    }
  }

  std::int64_t position() const override { return lines_.consumed(); }

  bool next(GenEvent& out) override {
    if (done_) return false;
    // Find the next E line: run-info lines may come before the first event.
    for (;;) {
      if (!pending_ && !read_line()) truncated_between_events();
      pending_ = false;
      if (line_.empty()) continue;
      if (line_.rfind("HepMC::Asciiv3-END_EVENT_LISTING", 0) == 0) {
        done_ = true;
        return false;
      }
      if (line_.rfind("HepMC::", 0) == 0) continue;  // concatenated files repeat their headers
      if (is_record(line_, 'E')) break;
      if (events_read_ == 0 && (is_record(line_, 'W') || is_record(line_, 'T') || is_record(line_, 'A') ||
                                is_record(line_, 'N') || is_record(line_, 'C')))
        continue;  // run information
      bad_line(fmt::format("expected an event ('E' line), found '{}'", shown(line_)));
    }
    event_line_ = lines_.line_number();
    parse_event_line();
    particles_.clear();
    vertices_.clear();
    weight_ = 1.0;
    weight_seen_ = false;
    scale_ = 1.0;
    for (;;) {
      if (!read_line()) truncated_inside_event();
      if (line_.empty()) continue;
      if (is_record(line_, 'E') || line_.rfind("HepMC::", 0) == 0) {
        pending_ = true;
        break;
      }
      switch (line_[0]) {
        case 'U':
          parse_units();
          break;
        case 'W':
          parse_weights();
          break;
        case 'P':
          parse_particle();
          break;
        case 'V':
          parse_vertex();
          break;
        case 'A':
        case 'T':
        case 'C':
        case 'F':
        case 'N':
          break;  // attributes and tool information
        default:
          bad_line(fmt::format("unexpected line '{}' in event {}", shown(line_), number_));
      }
    }
    finish_event();
    convert(out);
    ++events_read_;
    last_number_ = number_;
    return true;
  }

 private:
  static bool is_record(const std::string& line, char c) {
    return !line.empty() && line[0] == c && (line.size() == 1 || line[1] == ' ' || line[1] == '\t');
  }

  bool read_line() { return lines_.next(line_); }

  [[noreturn]] void bad_line(const std::string& what) const {
    // A broken last line without a newline is a file cut short, not a corrupt event.
    if (lines_.last_line_unterminated())
      fail_at(path_, lines_.line_number(), 0,
              fmt::format("truncated HepMC3 file: it ends inside this line, without "
                          "'HepMC::Asciiv3-END_EVENT_LISTING' ({}); {} complete event(s) before it",
                          what, events_read_));
    fail_at(path_, lines_.line_number(), 0, "corrupt HepMC3 event: " + what);
  }

  [[noreturn]] void truncated_between_events() const {
    throw Error(
        fmt::format("{}: truncated HepMC3 file: it ends without 'HepMC::Asciiv3-END_EVENT_LISTING' after {} "
                    "complete event(s) (last event number {})",
                    path_, events_read_, last_number_));
  }

  [[noreturn]] void truncated_inside_event() const {
    fail_at(path_, event_line_, 0,
            fmt::format("truncated HepMC3 file: it ends without 'HepMC::Asciiv3-END_EVENT_LISTING' after {} complete "
                        "event(s); the event ({}) starting at line {} may be incomplete",
                        events_read_,
                        events_read_ == 0 ? std::string("the first") : fmt::format("after event {}", last_number_),
                        event_line_));
  }

  std::int64_t need_int(std::string_view t, const char* what) const {
    std::int64_t v;
    if (!to_int(t, v)) bad_line(fmt::format("{} is '{}', expected an integer", what, shown(t)));
    return v;
  }
  double need_number(std::string_view t, const char* what) const {
    double v;
    if (!to_double(t, v)) bad_line(fmt::format("{} is '{}', expected a number", what, shown(t)));
    if (!std::isfinite(v)) bad_line(fmt::format("{} is {}, expected a finite number", what, shown(t)));
    return v;
  }

  void parse_event_line() {
    auto t = tokens(line_);
    // HepMC3: E number vertices particles [@ x y z t]; HepMC2's E lines have 11 or more fields.
    size_t fields = t.size();
    for (size_t k = 0; k < t.size(); ++k)
      if (t[k] == "@") fields = k;
    if (fields != 4)
      bad_line(fmt::format("the event line has {} fields; HepMC3 writes 'E number vertices particles [@ x y z t]'{}",
                           fields, fields > 4 ? " (a HepMC2 event under a HepMC3 header?)" : ""));
    number_ = need_int(t[1], "the event number");
    declared_vertices_ = need_int(t[2], "the vertex count");
    declared_particles_ = need_int(t[3], "the particle count");
    if (declared_vertices_ < 0 || declared_particles_ < 0)
      bad_line(fmt::format("event {} declares {} vertices and {} particles", number_, declared_vertices_,
                           declared_particles_));
    for (size_t k = fields + 1; k < t.size(); ++k) need_number(t[k], "the event position");
  }

  void parse_units() {
    auto t = tokens(line_);
    if (t.size() != 3) bad_line(fmt::format("the units line '{}' should be 'U GEV|MEV MM|CM'", shown(line_)));
    if (t[1] == "GEV")
      scale_ = 1.0;
    else if (t[1] == "MEV")
      scale_ = 1e-3;
    else
      bad_line(fmt::format("unknown momentum unit '{}' (HepMC3 writes GEV or MEV)", shown(t[1])));
    if (t[2] != "MM" && t[2] != "CM")
      bad_line(fmt::format("unknown length unit '{}' (HepMC3 writes MM or CM)", shown(t[2])));
  }

  void parse_weights() {
    auto t = tokens(line_);
    if (t.size() < 2) bad_line("a weight line without weights");
    for (size_t k = 1; k < t.size(); ++k) {
      double w;
      if (!to_double(t[k], w))
        bad_line(fmt::format("event {}: weight {} is '{}', expected a number", number_, k, shown(t[k])));
      if (!std::isfinite(w))
        bad_line(fmt::format("event {}: weight {} is {}; event weights must be finite", number_, k, shown(t[k])));
      if (k == 1) weight_ = w;
    }
    weight_seen_ = true;
  }

  void parse_particle() {
    auto t = tokens(line_);
    if (t.size() != 10)
      bad_line(fmt::format("the particle line has {} fields; expected 'P id parent pdg px py pz e m status' (10)",
                           t.size()));
    std::int64_t id = need_int(t[1], "the particle id");
    if (id != static_cast<std::int64_t>(particles_.size()) + 1)
      bad_line(fmt::format("particle id {} where {} was expected (ids count 1, 2, 3, ...)", id, particles_.size() + 1));
    if (id > declared_particles_)
      bad_line(fmt::format("particle {} but event {} declares {} particles", id, number_, declared_particles_));
    RawParticle p;
    p.line = lines_.line_number();
    p.parent = need_int(t[2], "the parent (mother particle or vertex)");
    if (p.parent > 0 && p.parent >= id)
      bad_line(fmt::format("particle {} names particle {} as its mother, which does not come before it", id, p.parent));
    if (p.parent < 0 && !vertex_index_.count(p.parent))
      bad_line(fmt::format("particle {} comes from vertex {}, which is not defined before it", id, p.parent));
    std::int64_t pdg = need_int(t[3], "the PDG id");
    if (pdg > std::numeric_limits<int>::max() || pdg < -std::numeric_limits<int>::max())
      bad_line(fmt::format("the PDG id {} is out of range", pdg));
    p.pdg = static_cast<int>(pdg);
    p.px = need_number(t[4], "px");
    p.py = need_number(t[5], "py");
    p.pz = need_number(t[6], "pz");
    p.e = need_number(t[7], "the energy");
    need_number(t[8], "the generated mass");
    std::int64_t status = need_int(t[9], "the status");
    if (status > std::numeric_limits<int>::max() || status < std::numeric_limits<int>::min())
      bad_line(fmt::format("the status {} is out of range", status));
    p.status = static_cast<int>(status);
    particles_.push_back(p);
  }

  void parse_vertex() {
    // V id status [in1,in2,...] [@ x y z t]
    const std::string_view line(line_);
    size_t open = line.find('['), close = line.find(']');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
      bad_line(
          fmt::format("the vertex line '{}' has no incoming-particle list '[...]' (a HepMC2 vertex?)", shown(line_)));
    auto head = tokens(line.substr(0, open));
    if (head.size() != 3) bad_line("expected 'V id status [particles]'");
    RawVertex v;
    v.line = lines_.line_number();
    v.id = need_int(head[1], "the vertex id");
    need_int(head[2], "the vertex status");
    if (v.id >= 0) bad_line(fmt::format("vertex id {}; HepMC3 vertex ids are negative", v.id));
    if (-v.id > declared_vertices_)
      bad_line(fmt::format("vertex {} but event {} declares {} vertices", v.id, number_, declared_vertices_));
    if (vertex_index_.count(v.id)) bad_line(fmt::format("vertex {} appears twice", v.id));
    std::string_view list = line.substr(open + 1, close - open - 1);
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string_view item =
          list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty() || comma != std::string_view::npos) {
        std::int64_t id = need_int(item, "an incoming particle id");
        if (id < 1 || id > declared_particles_)
          bad_line(fmt::format("vertex {} lists particle {}, but event {} has particles 1 to {}", v.id, id, number_,
                               declared_particles_));
        v.in.push_back(id);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    auto rest = tokens(line.substr(close + 1));
    if (!rest.empty()) {
      if (rest[0] != "@" || rest.size() != 5) bad_line("expected '@ x y z t' after the vertex's particle list");
      for (size_t k = 1; k < 5; ++k) need_number(rest[k], "the vertex position");
    }
    vertex_index_[v.id] = vertices_.size();
    vertices_.push_back(std::move(v));
  }

  void finish_event() {
    if (static_cast<std::int64_t>(particles_.size()) != declared_particles_)
      fail_at(path_, event_line_, 0,
              fmt::format("corrupt HepMC3 event {}: it declares {} particles but holds {}", number_,
                          declared_particles_, particles_.size()));
    if (static_cast<std::int64_t>(vertices_.size()) > declared_vertices_)
      fail_at(path_, event_line_, 0,
              fmt::format("corrupt HepMC3 event {}: it declares {} vertices but holds {}", number_, declared_vertices_,
                          vertices_.size()));
    // Each particle ends in at most one vertex.
    end_vertex_.assign(particles_.size(), 0);
    for (const RawVertex& v : vertices_)
      for (std::int64_t id : v.in) {
        auto& slot = end_vertex_[static_cast<size_t>(id - 1)];
        if (slot != 0)
          fail_at(
              path_, v.line, 0,
              fmt::format("corrupt HepMC3 event {}: particle {} enters vertices {} and {}", number_, id, slot, v.id));
        slot = v.id;
      }
    vertex_index_.clear();
  }

  // Same-flavour daughters: the particles produced in this particle's end vertex (a listed
  // vertex, or the implicit one when daughters name it as their mother).
  bool has_same_flavour_daughter(size_t k, bool b) const {
    const std::int64_t id = static_cast<std::int64_t>(k) + 1, end = end_vertex_[k];
    for (const RawParticle& d : particles_)
      if ((d.parent == id || (end != 0 && d.parent == end)) && (b ? is_b_hadron(d.pdg) : is_c_hadron(d.pdg)))
        return true;
    return false;
  }

  void convert(GenEvent& out) {
    out.number = number_;
    out.weight = weight_;
    out.parton_level = false;
    out.final_state.clear();
    out.b_tags.clear();
    out.c_tags.clear();
    out.partons.clear();
    for (size_t k = 0; k < particles_.size(); ++k) {
      const RawParticle& p = particles_[k];
      GenParticle g;
      g.px = p.px * scale_;
      g.py = p.py * scale_;
      g.pz = p.pz * scale_;
      g.e = p.e * scale_;
      double m2 = g.e * g.e - g.px * g.px - g.py * g.py - g.pz * g.pz;
      g.m = m2 > 0 ? std::sqrt(m2) : 0.0;
      g.pdg_id = p.pdg;
      g.status = p.status;
      if (!std::isfinite(g.m))
        fail_at(path_, p.line, 0,
                fmt::format("event {}: particle {} has a momentum too large to square", number_, k + 1));
      if (g.status == 1) out.final_state.push_back(g);
      if (is_flavour_parton(g)) out.partons.push_back(g);
      bool b = is_b_hadron(g.pdg_id), c = !b && is_c_hadron(g.pdg_id);
      if (!b && !c) continue;
      // Keep only the last hadron of each flavour in its decay chain.
      if (has_same_flavour_daughter(k, b)) continue;
      (b ? out.b_tags : out.c_tags).push_back(g);
    }
  }

  detail::LineReader lines_;
  std::string line_;
  bool pending_ = false, done_ = false, weight_seen_ = false;
  std::int64_t event_line_ = 0, number_ = 0, declared_vertices_ = 0, declared_particles_ = 0;
  std::int64_t events_read_ = 0, last_number_ = 0;
  double weight_ = 1.0, scale_ = 1.0;
  std::vector<RawParticle> particles_;
  std::vector<RawVertex> vertices_;
  std::map<std::int64_t, size_t> vertex_index_;
  std::vector<std::int64_t> end_vertex_;
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
    case 12:
    case 14:
    case 16:  // neutrinos
    case 1000012:
    case 1000014:
    case 1000016:  // sneutrinos
    case 1000022:  // lightest neutralino
    case 1000039:  // gravitino
    case 51:
    case 52:  // DMsimp dark-matter candidates (scalar, fermion)
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
    if (i == 0 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    if (line.rfind("HepMC::", 0) == 0) return EventFormat::HepMC3;
    if (line.find("<LesHouchesEvents") != std::string::npos) return EventFormat::LHE;
  }
  throw Error(fmt::format("'{}' is neither a HepMC3 ASCII file (.hepmc, .hepmc3) nor an LHE file (.lhe)", path));
}

std::unique_ptr<EventReader> open_events(const std::string& path) {
  return detect_event_format(path) == EventFormat::HepMC3 ? open_hepmc3(path) : open_lhe(path);
}

}  // namespace unbox::physics
