// Derived variables and cuts: expressions over a Dataset's 1-D columns, evaluated with
// muParser (Debian's libmuparser-dev) in bulk over all events.
//
// Every 1-D column whose name is an identifier ([A-Za-z_][A-Za-z0-9_.]*) is a variable.
// Functions: sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh, log (natural),
// ln, log2, log10, exp, sqrt, abs, sign, rint, atan2(y, x), min/max/sum/avg (any number of
// arguments); operators + - * / ^ (power), unary minus, comparisons < <= > >= == !=,
// && || (true is 1, false 0) and the ternary a ? b : c; constants _pi and _e.
#pragma once

#include <string>

#include "unbox/data.hpp"

namespace unbox {

// The values of `expression` for every event of `data` (one per event). A malformed
// expression or an unknown name throws Error naming the expression, the 1-based character
// position and the offending token (an unknown name lists the columns).
Tensor evaluate_expression(const Dataset& data, const std::string& expression);

// "NAME=EXPRESSION": evaluates EXPRESSION and adds it as column NAME (an identifier not
// already in `data`).
void add_defined_column(Dataset& data, const std::string& definition);

struct CutResult {
  Dataset data;  // the passing events, in their order (same names, label, weight)
  Index passed = 0;
  Index total = 0;
};

// Events where `expression` is non-zero (NaN fails the cut).
CutResult apply_cut(const Dataset& data, const std::string& expression);

}  // namespace unbox
