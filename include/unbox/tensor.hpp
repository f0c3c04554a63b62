// Tensor: an events-first N-D array of doubles, row-major (C order).
// shape[0] is the number of events; the remaining dimensions are the per-event shape.
// A Tensor of shape [N] is one number per event (a column).
#pragma once

#include <Eigen/Core>
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

  const Shape& shape() const { return shape_; }
  Index rank() const { return static_cast<Index>(shape_.size()); }
  Index dim(Index i) const { return shape_.at(static_cast<size_t>(i)); }
  Index events() const { return shape_.empty() ? 0 : shape_[0]; }
  // Values per event: product of shape[1..] (1 for a column).
  Index per_event() const;
  Shape event_shape() const { return shape_.empty() ? Shape{} : Shape(shape_.begin() + 1, shape_.end()); }
  Index size() const { return static_cast<Index>(data_.size()); }
  bool empty() const { return data_.empty(); }

  double* data() { return data_.data(); }
  const double* data() const { return data_.data(); }
  std::vector<double>& values() { return data_; }
  const std::vector<double>& values() const { return data_; }
  double& operator[](Index i) { return data_[static_cast<size_t>(i)]; }
  double operator[](Index i) const { return data_[static_cast<size_t>(i)]; }
  // Element j of event e (flattened per-event index).
  double& at(Index e, Index j) { return data_[static_cast<size_t>(e * per_event() + j)]; }
  double at(Index e, Index j) const { return data_[static_cast<size_t>(e * per_event() + j)]; }

  // [events, per_event] row-major views for Eigen.
  MatrixMap matrix() { return MatrixMap(data_.data(), events(), per_event()); }
  ConstMatrixMap matrix() const { return ConstMatrixMap(data_.data(), events(), per_event()); }

  // Change the shape, keeping capacity (no reallocation when it shrinks or stays).
  void resize(const Shape& shape);
  // Same number of values, new shape.
  void reshape(const Shape& shape);
  void fill(double v);
  // Copy of events [begin, begin + count).
  Tensor slice_events(Index begin, Index count) const;
  // Copy of the given events, in the given order.
  Tensor gather_events(const std::vector<Index>& rows) const;

  bool operator==(const Tensor& o) const { return shape_ == o.shape_ && data_ == o.data_; }

 private:
  Shape shape_;
  std::vector<double> data_;
};

}  // namespace unbox
