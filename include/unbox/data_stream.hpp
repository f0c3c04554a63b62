// Many data files read as one sequence of events, in chunks of bounded size.
//
// A file list is comma-separated; each entry is a path or a glob (* ? [...]) whose matches
// are sorted by name (byte order), so the event order is the same on every machine. An
// HDF5 object suffix ("run*.h5:/events") applies to every match.
//
// Chunked reading holds at most the requested number of events of one file at a time:
// CSV/TSV is read block by block (line by line from the file), .npy by row ranges
// (seek), HDF5 datasets of numbers (the h5py layout unbox writes: one dataset per column
// or an N-D array) by hyperslabs. Other layouts (.npz, pandas or compound HDF5 tables,
// Fortran-ordered .npy) are read whole and then served in chunks: their memory is that of
// the file. A chunk never spans two files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "unbox/data.hpp"

namespace unbox {

// The files a list names, in order: entries in the given order, each glob's matches sorted.
// A glob matching nothing, or an empty list: Error naming the entry.
std::vector<std::string> expand_data_files(const std::string& list);
// The entries of a comma-separated list, blanks around each trimmed, empty ones dropped.
std::vector<std::string> split_commas(const std::string& text);
// True when `list` names more than one entry or holds a glob character.
bool is_file_list(const std::string& list);

// Reads one file's events in consecutive chunks.
class ChunkReader {
 public:
  explicit ChunkReader(const std::string& spec, const ReadOptions& options = {});
  ~ChunkReader();
  ChunkReader(ChunkReader&&) noexcept;
  ChunkReader& operator=(ChunkReader&&) noexcept;
  // Events in the file (a CSV file is scanned once for it).
  Index events();
  // True when chunks come from the file piece by piece (false: the file is held whole).
  bool streamed() const;
  // Skip the next `count` events.
  void skip(Index count);
  // The next at most `count` events (`count` >= 1); a dataset of 0 events at the end.
  // Its `source` names the file and the events it holds ("f.csv (events 1001..2000)"),
  // so messages about an event point into the file.
  Dataset next(Index count);
  struct Source;

 private:
  std::string spec_;
  ReadOptions options_;
  std::unique_ptr<Source> source_;
  Index position_ = 0, events_ = -1;
};

// Several files as one sequence of events (their concatenation), read in chunks.
class DataStream {
 public:
  DataStream(std::vector<std::string> files, const ReadOptions& options = {});
  const std::vector<std::string>& files() const { return files_; }
  // Events per file and in all (every file's header is read; CSV files are scanned).
  const std::vector<Index>& counts();
  // Events per file counted elsewhere (MPI: by rank 0, broadcast), so they are not counted
  // again here; one per file, each >= 1 (Error otherwise).
  void set_counts(std::vector<Index> counts);
  Index events();
  // Only events [begin, end) of the concatenation (counted from 0); call before next().
  void restrict(Index begin, Index end);
  // The next chunk of at most `max` events (never across a file boundary): false at the end.
  bool next(Index max, Dataset& out);

 private:
  std::vector<std::string> files_;
  ReadOptions options_;
  std::vector<Index> counts_;
  Index begin_ = 0, end_ = -1, position_ = 0;  // global event positions
  size_t file_ = 0;
  Index read_in_file_ = 0;
  std::unique_ptr<ChunkReader> reader_;
};

// A CSV/TSV file written chunk by chunk, for a writer inside write_atomically: the header
// comes from the first chunk's column names, every chunk must have the same 1-D columns.
class CsvAppender {
 public:
  CsvAppender(const std::string& tmp_path, const std::string& final_path);
  ~CsvAppender();
  CsvAppender(const CsvAppender&) = delete;
  CsvAppender& operator=(const CsvAppender&) = delete;
  void append(const Dataset& chunk);
  void close();  // flushes; Error on a write failure
  Index events() const { return events_; }
  struct File;

 private:
  std::unique_ptr<File> file_;
  std::string path_;
  std::vector<std::string> names_;
  char delim_ = ',';
  Index events_ = 0;
};

// All events of the files, concatenated in order into one dataset (the arrays of every
// file must have the same names and per-event shapes; Error naming the file otherwise).
Dataset read_datasets(const std::vector<std::string>& files, const ReadOptions& options = {});
// Append `more`'s events to `data` (same names and per-event shapes).
void append_events(Dataset& data, const Dataset& more);

}  // namespace unbox
