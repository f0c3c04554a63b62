#include "unbox/tensor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

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

// What a borrowing Tensor and its copies share: the owner's keep-alive handle, and the one
// copy values() const makes (once, thread-safe) for code that wants a std::vector.
struct Tensor::Borrowed {
  std::shared_ptr<const void> keep;
  std::once_flag copied;
  std::vector<double> copy;
};

Tensor Tensor::borrow(Shape shape, const double* values, std::shared_ptr<const void> keep) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.borrowed_ = std::make_shared<Borrowed>();
  t.borrowed_->keep = std::move(keep);
  t.borrowed_data_ = values;
  t.borrowed_size_ = shape_size(t.shape_);
  return t;
}

void Tensor::copy_borrowed() {
  data_.assign(borrowed_data_, borrowed_data_ + borrowed_size_);
  borrowed_.reset();
  borrowed_data_ = nullptr;
  borrowed_size_ = 0;
}

const std::vector<double>& Tensor::borrowed_values() const {
  Borrowed& b = *borrowed_;
  std::call_once(b.copied, [&] { b.copy.assign(borrowed_data_, borrowed_data_ + borrowed_size_); });
  return b.copy;
}

bool Tensor::operator==(const Tensor& o) const {
  return shape_ == o.shape_ && size() == o.size() && std::equal(data(), data() + size(), o.data());
}

Index Tensor::per_event() const {
  Index n = 1;
  for (size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
  return n;
}

void Tensor::resize(const Shape& shape) {
  own();
  shape_ = shape;
  data_.resize(static_cast<size_t>(shape_size(shape_)));
}

void Tensor::reshape(const Shape& shape) {
  if (shape_size(shape) != size())
    throw std::logic_error(fmt::format("Tensor: cannot reshape {} to {}", shape_string(shape_), shape_string(shape)));
  shape_ = shape;
}

void Tensor::fill(double v) {
  if (borrowed_) {  // every value is replaced: nothing to copy
    data_.assign(static_cast<size_t>(borrowed_size_), v);
    borrowed_.reset();
    borrowed_data_ = nullptr;
    borrowed_size_ = 0;
    return;
  }
  std::fill(data_.begin(), data_.end(), v);
}

Tensor Tensor::slice_events(Index begin, Index count) const {
  Shape s = shape_;
  s[0] = count;
  Index pe = per_event();
  Tensor out(s);
  std::copy_n(data() + begin * pe, count * pe, out.data_.begin());
  return out;
}

Tensor Tensor::gather_events(const std::vector<Index>& rows) const {
  Shape s = shape_;
  s[0] = static_cast<Index>(rows.size());
  Index pe = per_event();
  Tensor out(s);
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy_n(data() + rows[r] * pe, pe, out.data_.begin() + static_cast<Index>(r) * pe);
  return out;
}

}  // namespace unbox
