#include "unbox/tensor.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace unbox {

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Index shape_size(const Shape& s) {
  Index n = 1;
  for (Index d : s) n *= d;
  return n;
}

Tensor::Tensor(Shape shape, double fill)
    : shape_(std::move(shape)), data_(static_cast<size_t>(shape_size(shape_)), fill) {}

Tensor::Tensor(Shape shape, std::vector<double> values) : shape_(std::move(shape)), data_(std::move(values)) {
  if (static_cast<Index>(data_.size()) != shape_size(shape_))
    throw std::logic_error(fmt::format("Tensor: {} values for shape {}", data_.size(), shape_string(shape_)));
}

Index Tensor::per_event() const {
  Index n = 1;
  for (size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
  return n;
}

void Tensor::resize(const Shape& shape) {
  shape_ = shape;
  data_.resize(static_cast<size_t>(shape_size(shape_)));
}

void Tensor::reshape(const Shape& shape) {
  if (shape_size(shape) != size())
    throw std::logic_error(fmt::format("Tensor: cannot reshape {} to {}", shape_string(shape_), shape_string(shape)));
  shape_ = shape;
}

void Tensor::fill(double v) { std::fill(data_.begin(), data_.end(), v); }

Tensor Tensor::slice_events(Index begin, Index count) const {
  Shape s = shape_;
  s[0] = count;
  Index pe = per_event();
  Tensor out(s);
  std::copy_n(data_.begin() + begin * pe, count * pe, out.data_.begin());
  return out;
}

Tensor Tensor::gather_events(const std::vector<Index>& rows) const {
  Shape s = shape_;
  s[0] = static_cast<Index>(rows.size());
  Index pe = per_event();
  Tensor out(s);
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy_n(data_.begin() + rows[r] * pe, pe, out.data_.begin() + static_cast<Index>(r) * pe);
  return out;
}

}  // namespace unbox
