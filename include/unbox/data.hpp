// Dataset: named events-first arrays (1-D columns and N-D tensors), with optional
// label and weight columns, and its readers and writers (CSV, .npy/.npz, HDF5).
// `data` knows nothing of networks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "unbox/tensor.hpp"

namespace unbox {

class Dataset {
 public:
  Dataset() = default;

  // Number of events (0 for an empty dataset).
  Index events() const { return events_; }
  // Append an array; its shape[0] must equal events() unless the dataset is empty.
  // A name already present is an error.
  void add(const std::string& name, Tensor values);
  // Replace (or add) an array.
  void set(const std::string& name, Tensor values);
  bool has(const std::string& name) const;
  // Throws Error("no column 'x' in <source>; it has: a, b, c") when missing.
  const Tensor& get(const std::string& name) const;
  Tensor& get(const std::string& name);
  void remove(const std::string& name);
  // Names in insertion order.
  const std::vector<std::string>& names() const { return names_; }

  // Where the data came from (file name), used in error messages.
  std::string source;
  // Label and weight column names, when the user named them.
  std::optional<std::string> label_column;
  std::optional<std::string> weight_column;

  // 1-D columns that are neither the label nor the weight column, in order.
  std::vector<std::string> feature_columns() const;
  // Gather 1-D columns into an [events, k] tensor (in the given order).
  Tensor columns_matrix(const std::vector<std::string>& cols) const;
  // Label values (0/1 checked by the caller), weights (1 when no weight column).
  std::vector<double> labels() const;
  std::vector<double> weights() const;
  // A new dataset with the given events in the given order (same names, label, weight).
  Dataset subset(const std::vector<Index>& rows) const;

 private:
  Index events_ = 0;
  std::vector<std::string> names_;
  std::vector<Tensor> arrays_;
};

struct ReadOptions {
  // Accept NaN and +-Inf in numeric cells. Off: they are an error naming file, line, column.
  bool allow_nan = false;
};

// Read by extension: .csv/.tsv/.txt (CSV), .npy, .npz, .h5/.hdf5/.hdf (HDF5).
// A file without events (only a header, a 0-row array) is an error naming the file
// (read_csv, read_npz, ... themselves return such a file as 0 events).
// Sizes a file claims are checked against the file and memory_budget() before allocating.
// For HDF5, "file.h5:/path" selects a dataset or group inside the file.
Dataset read_dataset(const std::string& spec, const ReadOptions& options = {});
// Write by extension, atomically (temporary file, then rename). HDF5 is written
// h5py-style: one 1-D (or N-D) dataset per column at the root (or under ":/group").
void write_dataset(const Dataset& data, const std::string& spec);

// Individual formats.
Dataset read_csv(const std::string& path, const ReadOptions& options = {});
void write_csv(const Dataset& data, const std::string& path);
Dataset read_npy(const std::string& path, const ReadOptions& options = {});
Dataset read_npz(const std::string& path, const ReadOptions& options = {});
void write_npy(const Dataset& data, const std::string& path);  // 2-D float64 of the 1-D columns
void write_npz(const Dataset& data, const std::string& path);  // one array per column
Dataset read_hdf5(const std::string& path, const std::string& object, const ReadOptions& options = {});
void write_hdf5(const Dataset& data, const std::string& path, const std::string& group = "/");

// Checks that `data` can train a two-class classifier on `columns`: at least two events,
// both classes present in the label column (0/1), every value of `columns` finite and small
// enough to be squared (|x| < 1e150), and finite weights with a positive sum (negative weights, as NLO generators
// write, pass). Errors name the file and the event, counted from 1 (the first event of a file is event 1).
void check_training_data(const Dataset& data, const std::vector<std::string>& columns);

// Shortest decimal text that reads back to the same double (std::to_chars).
std::string format_double(double v);

}  // namespace unbox
