// build/unbox makes OpenMP threads wait passively unless the user chose otherwise
// (cli/wait_policy.cpp). libgomp prints the settings it starts with under OMP_DISPLAY_ENV
// (once per start: the re-executed process prints the final ones last); passive waiting is a
// spin count of 0.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

std::string run(const std::string& env) {
  const std::string cmd = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose " + env + " " +
                          std::string(UNBOX_CLI) + " --version 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The spin count libgomp ended up with (the last one printed).
std::string spin_count(const std::string& out) {
  const std::string key = "GOMP_SPINCOUNT = '";
  const auto at = out.rfind(key);
  if (at == std::string::npos) return "?";
  return out.substr(at + key.size(), out.find('\'', at + key.size()) - at - key.size());
}

TEST(CliWaitPolicy, PassiveByDefaultUserSettingWins) {
  EXPECT_EQ(spin_count(run("")), "0") << run("");
  EXPECT_EQ(spin_count(run("OMP_WAIT_POLICY=active")), "30000000000");
  EXPECT_EQ(spin_count(run("GOMP_SPINCOUNT=1000")), "1000");
  EXPECT_EQ(spin_count(run("OMP_WAIT_POLICY=passive")), "0");
}

}  // namespace
