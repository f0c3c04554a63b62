// Derived variables and cuts with muParser: the columns are bound as variables in place
// (muParser's bulk mode reads variable k of event i at pointer + i), so an expression over
// N events costs one output array and no copies of the inputs.
#include "unbox/expressions.hpp"

#include <fmt/format.h>
#include <muParser.h>

#include <cctype>
#include <cmath>
#include <limits>

#include "unbox/core.hpp"

namespace unbox {
namespace {

bool is_identifier(const std::string& s, bool allow_dot) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (allow_dot && c == '.'))) return false;
  return true;
}

std::string column_list(const Dataset& data) {
  std::string out;
  for (const auto& n : data.names()) {
    if (data.get(n).per_event() != 1 || data.get(n).shape().size() != 1) continue;
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

[[noreturn]] void rethrow(const mu::ParserError& e, const Dataset& data, const std::string& expression) {
  const int pos = e.GetPos();
  const std::string where = pos >= 0 ? fmt::format(" at character {}", pos + 1) : std::string();
  if (e.GetCode() == mu::ecUNASSIGNABLE_TOKEN && is_identifier(e.GetToken(), true))
    throw Error(fmt::format("expression '{}': unknown column '{}'{}; {} has: {}", expression, e.GetToken(), where,
                            data.source.empty() ? "the data" : data.source, column_list(data)));
  std::string msg = e.GetMsg();
  while (!msg.empty() && (msg.back() == '.' || msg.back() == ' ')) msg.pop_back();
  if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
  // muParser's messages often already say "at position N" (0-based): keep ours only.
  const auto at = msg.find(" found at position");
  if (at != std::string::npos) msg = msg.substr(0, at) + " found";
  throw Error(fmt::format("expression '{}': {}{}", expression, msg, where));
}

}  // namespace

Tensor evaluate_expression(const Dataset& data, const std::string& expression) {
  const Index n = data.events();
  if (n > std::numeric_limits<int>::max())
    throw Error(fmt::format("expression '{}': {} events are more than muParser evaluates at once", expression, n));
  Tensor out({n});
  try {
    mu::Parser p;
    double empty_value = 0.0;  // what the variables point to when there are no events
    p.DefineNameChars("0123456789_.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    for (const auto& name : data.names()) {
      const Tensor& t = data.get(name);
      if (t.shape().size() != 1 || !is_identifier(name, true)) continue;
      // Bulk mode reads event i at pointer + i; muParser wants a non-const pointer but
      // only reads variables.
      try {
        p.DefineVar(name, n == 0 ? &empty_value : const_cast<double*>(t.data()));
      } catch (const mu::ParserError&) {
        // A column named like a function or constant (exp, _pi) is not addressable.
      }
    }
    p.SetExpr(expression);
    if (n == 0) {
      p.Eval();  // still reject malformed expressions on empty data
      return out;
    }
    // muParser's bulk evaluation (OpenMP inside the library) sets the process-wide thread
    // count to min(threads, 16): keep ours.
    struct KeepThreads {
      int n = thread_count();
      ~KeepThreads() { set_thread_count(n); }
    } keep;
    p.Eval(out.data(), static_cast<int>(n));
    if (p.GetNumResults() != 1)
      throw Error(fmt::format("expression '{}': gives {} values per event (a comma separates them); one is needed",
                              expression, p.GetNumResults()));
  } catch (const mu::ParserError& e) {
    rethrow(e, data, expression);
  }
  return out;
}

void add_defined_column(Dataset& data, const std::string& definition) {
  const auto eq = definition.find('=');
  std::string name = eq == std::string::npos ? std::string() : definition.substr(0, eq);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  while (!name.empty() && name.front() == ' ') name.erase(0, 1);
  if (eq == std::string::npos || !is_identifier(name, false) ||
      (eq + 1 < definition.size() && definition[eq + 1] == '='))
    throw Error(
        fmt::format("definition '{}': expected NAME=EXPRESSION with NAME a letter or _ followed by letters, "
                    "digits or _",
                    definition));
  if (data.has(name))
    throw Error(fmt::format("definition '{}': {} already has a column '{}'", definition,
                            data.source.empty() ? "the data" : data.source, name));
  const std::string expr = definition.substr(eq + 1);
  Tensor values = evaluate_expression(data, expr);
  data.add(name, std::move(values));
}

CutResult apply_cut(const Dataset& data, const std::string& expression) {
  const Tensor pass = evaluate_expression(data, expression);
  std::vector<Index> rows;
  rows.reserve(static_cast<size_t>(data.events()));
  for (Index e = 0; e < data.events(); ++e)
    if (pass[e] != 0.0 && !std::isnan(pass[e])) rows.push_back(e);
  CutResult r;
  r.total = data.events();
  r.passed = static_cast<Index>(rows.size());
  r.data = r.passed == r.total ? data : data.subset(rows);
  return r;
}

}  // namespace unbox
