// Tensor: an events-first N-D array of doubles, row-major (C order).
// shape[0] is the number of events; the remaining dimensions are the per-event shape.
// A Tensor of shape [N] is one number per event (a column).
// A Tensor owns its values, or borrows them (Tensor::borrow): it then reads memory it does
// not own in place (the Python module's NumPy arrays) and copies it only when written.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "unbox/core.hpp"

namespace unbox {

using Shape = std::vector<Index>;
using MatrixRM = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<MatrixRM>;
using ConstMatrixMap = Eigen::Map<const MatrixRM>;

std::string shape_string(const Shape& s);  // "[4096, 19]"
Index shape_size(const Shape& s);          // product of all dims (1 for [])

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, double fill = 0.0);
  Tensor(Shape shape, std::vector<double> values);  // values.size() must match
  // A Tensor that reads `values` (shape_size(shape) doubles, row-major) in place, without a
  // copy; `keep` keeps that memory alive as long as this Tensor or a copy of it borrows it.
  // Reads (const data(), matrix(), operator[], at, copies, slices) see the memory as is; the
  // first write access (non-const data(), values(), matrix(), operator[], at, resize, fill)
  // copies the values into the Tensor's own storage, so the borrowed memory is never
  // written. values() const copies once (shared by the copies of this Tensor): hot paths
  // read data().
  static Tensor borrow(Shape shape, const double* values, std::shared_ptr<const void> keep);
  // True while the values are borrowed memory (not yet copied by a write access).
  bool borrowed() const { return borrowed_ != nullptr; }

  const Shape& shape() const { return shape_; }
  Index rank() const { return static_cast<Index>(shape_.size()); }
  Index dim(Index i) const { return shape_.at(static_cast<size_t>(i)); }
  Index events() const { return shape_.empty() ? 0 : shape_[0]; }
  // Values per event: product of shape[1..] (1 for a column).
  Index per_event() const;
  Shape event_shape() const { return shape_.empty() ? Shape{} : Shape(shape_.begin() + 1, shape_.end()); }
  Index size() const { return borrowed_ ? borrowed_size_ : static_cast<Index>(data_.size()); }
  bool empty() const { return size() == 0; }

  double* data() { return own().data(); }
  const double* data() const { return borrowed_ ? borrowed_data_ : data_.data(); }
  std::vector<double>& values() { return own(); }
  const std::vector<double>& values() const { return borrowed_ ? borrowed_values() : data_; }
  double& operator[](Index i) { return own()[static_cast<size_t>(i)]; }
  double operator[](Index i) const { return data()[i]; }
  // Element j of event e (flattened per-event index).
  double& at(Index e, Index j) { return own()[static_cast<size_t>(e * per_event() + j)]; }
  double at(Index e, Index j) const { return data()[e * per_event() + j]; }

  // [events, per_event] row-major views for Eigen.
  MatrixMap matrix() { return MatrixMap(data(), events(), per_event()); }
  ConstMatrixMap matrix() const { return ConstMatrixMap(data(), events(), per_event()); }

  // Change the shape, keeping capacity (no reallocation when it shrinks or stays).
  void resize(const Shape& shape);
  // Same number of values, new shape.
  void reshape(const Shape& shape);
  void fill(double v);
  // Copy of events [begin, begin + count).
  Tensor slice_events(Index begin, Index count) const;
  // Copy of the given events, in the given order.
  Tensor gather_events(const std::vector<Index>& rows) const;

  bool operator==(const Tensor& o) const;

 private:
  struct Borrowed;  // the keep-alive handle and the copy values() const makes
  // The own storage, after copying borrowed values into it first.
  std::vector<double>& own() {
    if (borrowed_) copy_borrowed();
    return data_;
  }
  void copy_borrowed();
  const std::vector<double>& borrowed_values() const;

  Shape shape_;
  std::vector<double> data_;
  std::shared_ptr<Borrowed> borrowed_;  // null: the values are data_
  const double* borrowed_data_ = nullptr;
  Index borrowed_size_ = 0;
};

}  // namespace unbox
