// Figures for papers: every figure of a report as a Vega-Lite spec, an SVG rendered by Vega in
// Node (report/render_svg.mjs, no native binaries) and a PNG of that SVG drawn by Debian's
// headless Chromium (a fresh profile per run, no sandbox, no GPU).
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "report_internal.hpp"
#include "unbox/core.hpp"
#include "unbox/report.hpp"

namespace unbox {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string d;
  while (std::getline(ss, d, ':'))
    if (!d.empty() && ::access((fs::path(d) / program).c_str(), X_OK) == 0) return true;
  return false;
}

// The width and height attributes of the root <svg> element (Vega writes both in pixels).
std::pair<int, int> svg_size(const std::string& svg) {
  static const std::regex w(R"re(<svg[^>]*\swidth="([0-9.]+)")re"), h(R"re(<svg[^>]*\sheight="([0-9.]+)")re");
  std::smatch m;
  int width = 600, height = 400;
  if (std::regex_search(svg, m, w)) width = static_cast<int>(std::ceil(std::stod(m[1].str())));
  if (std::regex_search(svg, m, h)) height = static_cast<int>(std::ceil(std::stod(m[1].str())));
  return {width, height};
}

// One PNG: a page holding only the SVG, screenshot at the SVG's size, device scale 2.
void svg_to_png(const fs::path& svg, const fs::path& png) {
  const std::string text = report_detail::read_text(svg.string());
  const auto [w, h] = svg_size(text);
  char tmpl[] = "/tmp/unbox-chromium-XXXXXX";
  if (!::mkdtemp(tmpl)) throw Error("cannot create a temporary folder for Chromium's profile");
  const fs::path profile(tmpl);
  const fs::path page = profile / "figure.html";
  {
    std::ofstream out(page);
    out << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>html,body{margin:0;padding:0;"
           "background:#fff}</style></head><body>"
        << text << "</body></html>\n";
  }
  const fs::path shot = profile / "shot.png";
  const std::string cmd = fmt::format(
      "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 "
      "--user-data-dir={} --window-size={},{} --screenshot={} {} >/dev/null 2>&1",
      shell_quote((profile / "profile").string()), w, h, shell_quote(shot.string()),
      shell_quote("file://" + page.string()));
  const int rc = std::system(cmd.c_str());
  const bool ok = rc == 0 && fs::exists(shot);
  if (ok) {
    write_atomically(png.string(),
                     [&](const std::string& tmp) { fs::copy_file(shot, tmp, fs::copy_options::overwrite_existing); });
  }
  std::error_code ec;
  fs::remove_all(profile, ec);
  if (!ok) throw Error(fmt::format("headless Chromium could not draw '{}' as PNG", svg.string()));
}

}  // namespace

FigureExport export_figures(const Report& report, const std::string& dir_text, const std::string& js_dir, bool png) {
  FigureExport ex;
  const fs::path dir(dir_text);
  fs::create_directories(dir);
  const auto figs = report.figures();
  if (figs.empty()) return ex;
  std::string cmd = "node " + shell_quote((fs::path(js_dir).parent_path() / "render_svg.mjs").string());
  nlohmann::ordered_json index = nlohmann::ordered_json::array();
  for (const ReportFigure* f : figs) {
    const std::string spec = (dir / (f->id + ".vl.json")).string();
    write_text_atomically(spec, f->spec.dump(1) + "\n");
    ex.files.push_back(spec);
    cmd += " " + shell_quote(spec) + " " + shell_quote((dir / (f->id + ".svg")).string());
  }
  // render_svg.mjs writes each SVG through a temporary and a rename.
  if (std::system(cmd.c_str()) != 0)
    throw Error(
        fmt::format("rendering the figures to SVG with node failed (the Vega-Lite specs are in '{}')", dir_text));
  const bool chromium = png && on_path("chromium");
  if (png && !chromium) ex.note = "Chromium is not installed: SVG only, no PNG";
  for (const ReportFigure* f : figs) {
    const fs::path svg = dir / (f->id + ".svg");
    ex.files.push_back(svg.string());
    nlohmann::ordered_json e = {{"id", f->id},
                                {"title", f->title},
                                {"caption", f->caption},
                                {"spec", f->id + ".vl.json"},
                                {"svg", f->id + ".svg"}};
    if (chromium) {
      svg_to_png(svg, dir / (f->id + ".png"));
      ex.files.push_back((dir / (f->id + ".png")).string());
      e["png"] = f->id + ".png";
    }
    index.push_back(e);
  }
  write_text_atomically((dir / "figures.json").string(), index.dump(1) + "\n");
  ex.files.push_back((dir / "figures.json").string());
  return ex;
}

}  // namespace unbox
