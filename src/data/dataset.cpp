#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "unbox/data.hpp"

namespace unbox {

namespace {
std::string where(const Dataset& d) { return d.source.empty() ? std::string("the data") : "'" + d.source + "'"; }
std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}
}  // namespace

void Dataset::add(const std::string& name, Tensor values) {
  if (has(name)) throw Error(fmt::format("column '{}' appears twice in {}", name, where(*this)));
  if (values.rank() == 0) throw Error(fmt::format("column '{}' in {} has no event dimension", name, where(*this)));
  if (!names_.empty() && values.events() != events_)
    throw Error(
        fmt::format("column '{}' in {} has {} events, the others {}", name, where(*this), values.events(), events_));
  if (names_.empty()) events_ = values.events();
  names_.push_back(name);
  arrays_.push_back(std::move(values));
}

void Dataset::set(const std::string& name, Tensor values) {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) return add(name, std::move(values));
  if (names_.size() > 1 && values.events() != events_)
    throw Error(
        fmt::format("column '{}' in {} has {} events, the others {}", name, where(*this), values.events(), events_));
  if (names_.size() == 1) events_ = values.events();
  arrays_[static_cast<size_t>(it - names_.begin())] = std::move(values);
}

bool Dataset::has(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

const Tensor& Dataset::get(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end())
    throw Error(fmt::format("no column '{}' in {}; it has: {}", name, where(*this), joined(names_)));
  return arrays_[static_cast<size_t>(it - names_.begin())];
}

Tensor& Dataset::get(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const Dataset&>(*this).get(name));
}

void Dataset::remove(const std::string& name) {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) return;
  auto i = it - names_.begin();
  names_.erase(it);
  arrays_.erase(arrays_.begin() + i);
  if (names_.empty()) events_ = 0;
}

std::vector<std::string> Dataset::feature_columns() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (arrays_[i].rank() != 1) continue;
    if (label_column && names_[i] == *label_column) continue;
    if (weight_column && names_[i] == *weight_column) continue;
    out.push_back(names_[i]);
  }
  return out;
}

Tensor Dataset::columns_matrix(const std::vector<std::string>& cols) const {
  Index k = static_cast<Index>(cols.size());
  Tensor out({events_, k});
  for (Index j = 0; j < k; ++j) {
    const Tensor& c = get(cols[static_cast<size_t>(j)]);
    if (c.rank() != 1)
      throw Error(fmt::format("'{}' in {} is an array of shape {}, not a column", cols[static_cast<size_t>(j)],
                              where(*this), shape_string(c.shape())));
    double* o = out.data() + j;
    const double* s = c.data();
    for (Index e = 0; e < events_; ++e) o[e * k] = s[e];
  }
  return out;
}

std::vector<double> Dataset::labels() const {
  if (!label_column) throw Error(fmt::format("no label column given for {}", where(*this)));
  const Tensor& t = get(*label_column);
  return std::vector<double>(t.data(), t.data() + t.size());  // data(): a borrowed column is read in place
}

std::vector<double> Dataset::weights() const {
  if (!weight_column) return std::vector<double>(static_cast<size_t>(events_), 1.0);
  const Tensor& t = get(*weight_column);
  return std::vector<double>(t.data(), t.data() + t.size());
}

Dataset Dataset::subset(const std::vector<Index>& rows) const {
  Dataset out;
  out.source = source;
  out.label_column = label_column;
  out.weight_column = weight_column;
  for (size_t i = 0; i < names_.size(); ++i) out.add(names_[i], arrays_[i].gather_events(rows));
  return out;
}

}  // namespace unbox

namespace unbox {

void check_training_data(const Dataset& data, const std::vector<std::string>& columns) {
  const std::string file = where(data);
  const Index n = data.events();
  if (n < 2)
    throw Error(fmt::format("{} holds {} event{}; training needs at least two (one of each class)", file, n,
                            n == 1 ? "" : "s"));
  // Beyond 1e150 a square overflows: standardization and the loss would turn it into Inf/NaN.
  constexpr double kLargest = 1e150;
  for (const auto& name : columns) {
    const Tensor& t = data.get(name);
    const Index per = std::max<Index>(1, t.per_event());
    for (Index i = 0; i < t.size(); ++i) {
      const double v = t[i];
      if (!std::isfinite(v))
        throw Error(fmt::format("{}: column '{}' holds {} at event {}; training needs finite values", file, name,
                                format_double(v), i / per + 1));
      if (std::abs(v) >= kLargest)
        throw Error(
            fmt::format("{}: column '{}' holds {} at event {}; training needs values below 1e150 in "
                        "magnitude (their squares must stay finite)",
                        file, name, format_double(v), i / per + 1));
    }
  }
  if (data.label_column) {
    const Tensor& y = data.get(*data.label_column);
    Index signal = 0;
    for (Index e = 0; e < y.size(); ++e) {
      if (y[e] != 0.0 && y[e] != 1.0)
        throw Error(fmt::format("{}: label column '{}' must hold 0 (background) or 1 (signal); event {} has {}", file,
                                *data.label_column, e + 1, format_double(y[e])));
      signal += y[e] == 1.0;
    }
    if (signal == 0 || signal == y.size())
      throw Error(
          fmt::format("{}: label column '{}' holds only one class ({} events, all {}); training a "
                      "classifier needs signal (1) and background (0) events",
                      file, *data.label_column, y.size(), signal == 0 ? "background (0)" : "signal (1)"));
  }
  if (data.weight_column) {
    const Tensor& w = data.get(*data.weight_column);
    double sum = 0.0;
    for (Index e = 0; e < w.size(); ++e) {
      if (!std::isfinite(w[e]))
        throw Error(fmt::format("{}: weight column '{}' holds {} at event {}; weights must be finite", file,
                                *data.weight_column, format_double(w[e]), e + 1));
      sum += w[e];
    }
    if (!(sum > 0.0))
      throw Error(fmt::format("{}: the weights in column '{}' sum to {}; training needs a positive total", file,
                              *data.weight_column, format_double(sum)));
  }
}

}  // namespace unbox
