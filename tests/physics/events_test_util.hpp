// Helpers for the event-input tests: a temporary directory, running the CLI, and building
// generator events (unbox::physics::GenEvent) by hand.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "unbox/physics/reader.hpp"

namespace unbox::test_events {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "unbox-events-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs `unbox ARGS` with stdout and stderr captured in files of `dir`.
inline RunResult run_unbox(const TempDir& dir, const std::string& args) {
  std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  std::string cmd = std::string(UNBOX_CLI) + " " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

inline physics::GenParticle particle(int pdg, double pt, double eta, double phi, double m = 0, int status = 1) {
  physics::GenParticle p;
  p.px = pt * std::cos(phi);
  p.py = pt * std::sin(phi);
  p.pz = pt * std::sinh(eta);
  p.e = std::sqrt(p.px * p.px + p.py * p.py + p.pz * p.pz + m * m);
  p.m = m;
  p.pdg_id = pdg;
  p.status = status;
  return p;
}

}  // namespace unbox::test_events
