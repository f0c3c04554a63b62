// HDF5 reader and writer (HDF5 C API).
//
// Reads the layouts physicists meet in practice: a 2-D numeric dataset, a compound-type
// table, an h5py-style group of per-column datasets, and pandas' to_hdf(format='fixed')
// frames. Writes h5py style: one float64 dataset per column, in a group that tracks link
// creation order so the columns read back in the order they were written.
#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "data/io_util.hpp"
#include "unbox/data.hpp"

namespace unbox {

namespace {

// HDF5 prints its error stack to stderr by default; we report failures ourselves.
void silence_hdf5() {
  static bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// An HDF5 identifier that closes itself.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Close now and report failure (a file's close is where buffered writes can fail).
  bool close() {
    herr_t rc = id_ >= 0 && close_ ? close_(id_) : 0;
    id_ = -1;
    return rc >= 0;
  }

 private:
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

std::string join_path(const std::string& base, const std::string& name) {
  return base == "/" ? "/" + name : base + "/" + name;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Link names of a group, in creation order when the group tracks it, else by name
// (h5py's default), which is how h5py itself lists them.
std::vector<std::string> member_names(hid_t group) {
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) return {};
  H5_index_t index = H5_INDEX_NAME;
  Handle gcpl(H5Gget_create_plist(group), H5Pclose);
  unsigned order_flags = 0;
  if (gcpl.valid() && H5Pget_link_creation_order(gcpl.get(), &order_flags) >= 0 &&
      (order_flags & H5P_CRT_ORDER_TRACKED))
    index = H5_INDEX_CRT_ORDER;
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0 && index == H5_INDEX_CRT_ORDER) {
      // Tracked but not indexed: fall back to name order.
      index = H5_INDEX_NAME;
      names.clear();
      i = static_cast<hsize_t>(-1);
      continue;
    }
    if (len < 0) continue;
    std::string name(static_cast<size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(len));
    names.push_back(std::move(name));
  }
  return names;
}

Shape dataspace_shape(hid_t dataset) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return {};
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Shape shape;
  // Extents beyond 2^62 cannot be held in memory anyway; clamp so the budget check sees them
  // (as a huge size) instead of a negative Index.
  for (hsize_t d : dims) shape.push_back(static_cast<Index>(std::min<hsize_t>(d, hsize_t{1} << 62)));
  return shape;
}

// The bytes `values` doubles of this shape take, saturating instead of overflowing.
std::uint64_t double_bytes(const Shape& shape) {
  std::uint64_t n = 8;
  for (Index d : shape) n = saturating_product(n, static_cast<std::uint64_t>(d));
  return n;
}

const char* class_words(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integers";
    case H5T_FLOAT:
      return "floating-point numbers";
    case H5T_STRING:
      return "text";
    case H5T_COMPOUND:
      return "a compound table";
    case H5T_ENUM:
      return "enumerated values (h5py booleans?)";
    case H5T_BITFIELD:
      return "bit fields";
    case H5T_OPAQUE:
      return "opaque bytes";
    case H5T_REFERENCE:
      return "references";
    case H5T_VLEN:
      return "variable-length sequences";
    case H5T_ARRAY:
      return "fixed-size arrays per element";
    default:
      return "an unknown type";
  }
}

H5T_class_t dataset_class(hid_t dataset) {
  Handle type(H5Dget_type(dataset), H5Tclose);
  return H5Tget_class(type.get());
}

bool is_numeric(H5T_class_t c) { return c == H5T_INTEGER || c == H5T_FLOAT; }

// A short description of what a group holds, for "no such path" messages.
std::string describe_members(hid_t group) {
  std::string out;
  for (const std::string& name : member_names(group)) {
    H5O_type_t type = H5O_TYPE_UNKNOWN;
    Handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
    std::string item;
    if (object.valid() && H5Iget_type(object.get()) == H5I_GROUP) {
      item = fmt::format("group '{}'", name);
    } else if (object.valid() && H5Iget_type(object.get()) == H5I_DATASET) {
      item = fmt::format("dataset '{}' {}", name, shape_string(dataspace_shape(object.get())));
    } else {
      item = fmt::format("'{}'", name);
    }
    (void)type;
    out += (out.empty() ? "" : ", ") + item;
  }
  return out.empty() ? std::string("nothing") : out;
}

// Strings from a dataset or attribute (fixed-length or variable-length).
std::vector<std::string> read_strings(hid_t object, bool attribute, const std::string& what) {
  Handle type(attribute ? H5Aget_type(object) : H5Dget_type(object), H5Tclose);
  Handle space(attribute ? H5Aget_space(object) : H5Dget_space(object), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw Error(
        fmt::format("{} should hold text (column names) but holds {}", what, class_words(H5Tget_class(type.get()))));
  hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<std::string> out;
  if (count <= 0) return out;
  check_memory(fmt::format("{} ({} strings)", what, count),
               saturating_product(static_cast<std::uint64_t>(count), 64 + H5Tget_size(type.get())));
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    H5Tset_cset(memtype.get(), H5Tget_cset(type.get()));
    std::vector<char*> raw(static_cast<size_t>(count), nullptr);
    herr_t rc = attribute ? H5Aread(object, memtype.get(), raw.data())
                          : H5Dread(object, memtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
    if (rc < 0) throw Error(fmt::format("cannot read the text in {}", what));
    for (char* s : raw) out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(memtype.get(), space.get(), H5P_DEFAULT, raw.data());
  } else {
    size_t size = H5Tget_size(type.get());
    Handle memtype(H5Tcopy(type.get()), H5Tclose);
    std::vector<char> raw(size * static_cast<size_t>(count));
    herr_t rc = attribute ? H5Aread(object, memtype.get(), raw.data())
                          : H5Dread(object, memtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
    if (rc < 0) throw Error(fmt::format("cannot read the text in {}", what));
    for (hssize_t i = 0; i < count; ++i) {
      std::string s(raw.data() + static_cast<size_t>(i) * size, size);
      s.resize(std::min(s.find('\0'), s.size()));
      while (!s.empty() && s.back() == ' ') s.pop_back();  // space-padded strings
      out.push_back(std::move(s));
    }
  }
  return out;
}

// Every value of a numeric dataset as doubles (HDF5 converts integers and floats).
Tensor read_numeric(hid_t dataset, const std::string& what) {
  Shape shape = dataspace_shape(dataset);
  H5T_class_t c = dataset_class(dataset);
  if (!is_numeric(c)) throw Error(fmt::format("{} holds {}, not numbers", what, class_words(c)));
  if (shape.empty()) throw Error(fmt::format("{} holds a single number, not events", what));
  {
    // libhdf5 converts through a buffer of (values x the larger element size): a crafted
    // element size of gigabytes would make it allocate that much (found by fuzz_hdf5).
    Handle type(H5Dget_type(dataset), H5Tclose);
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || size > 16)
      throw Error(fmt::format("{} holds numbers of {} bytes each; unbox reads integers and floats of 1 to 16 bytes",
                              what, size));
  }
  check_memory(fmt::format("{} (shape {} as float64)", what, shape_string(shape)),
               saturating_product(double_bytes(shape), 2));
  Tensor t(shape);
  if (t.size() > 0 && H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0)
    throw Error(fmt::format("cannot read {} (corrupt file?)", what));
  return t;
}

void add_checked(Dataset& out, const std::string& name, Tensor t, const std::string& what, const ReadOptions& options) {
  detail::check_finite(t.data(), t.size(), t.shape(), what, options);
  out.add(name, std::move(t));
}

// A compound-type table: one column per numeric member, in member order.
void read_compound(Dataset& out, hid_t dataset, const std::string& what, const ReadOptions& options) {
  Shape shape = dataspace_shape(dataset);
  if (shape.size() != 1)
    throw Error(fmt::format("{} is a compound table of shape {}; expected one record per event (1-D)", what,
                            shape_string(shape)));
  Handle type(H5Dget_type(dataset), H5Tclose);
  int members = H5Tget_nmembers(type.get());
  // libhdf5 reads whole records to pick a member out: the record size counts too.
  check_memory(fmt::format("a column of {} ({} records of {} bytes)", what, shape[0], H5Tget_size(type.get())),
               saturating_product(double_bytes({shape[0]}), 1 + H5Tget_size(type.get())));
  std::vector<std::string> skipped;
  for (int i = 0; i < members; ++i) {
    char* raw_name = H5Tget_member_name(type.get(), static_cast<unsigned>(i));
    std::string name = raw_name ? raw_name : "";
    H5free_memory(raw_name);
    H5T_class_t member_class = H5Tget_member_class(type.get(), static_cast<unsigned>(i));
    if (!is_numeric(member_class)) {  // text, arrays, ...: said, not silently dropped
      skipped.push_back(fmt::format("'{}' ({})", name, class_words(member_class)));
      continue;
    }
    // A memory type holding just this member as a double: HDF5 picks it out by name.
    Handle memtype(H5Tcreate(H5T_COMPOUND, sizeof(double)), H5Tclose);
    H5Tinsert(memtype.get(), name.c_str(), 0, H5T_NATIVE_DOUBLE);
    Tensor column({shape[0]});
    if (column.size() > 0 && H5Dread(dataset, memtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, column.data()) < 0)
      throw Error(fmt::format("cannot read member '{}' of {}", name, what));
    add_checked(out, name, std::move(column), fmt::format("column '{}' of {}", name, what), options);
  }
  if (out.names().empty()) throw Error(fmt::format("{} is a compound table without numeric members", what));
  if (!skipped.empty()) {
    std::string list;
    for (const auto& item : skipped) list += (list.empty() ? "" : ", ") + item;
    warn(fmt::format("{}: member(s) {} are not numbers and are left out", what, list));
  }
}

void add_columns(Dataset& out, const Tensor& t, const std::vector<std::string>& names, const std::string& what,
                 const ReadOptions& options) {
  detail::check_finite(t.data(), t.size(), t.shape(), what, options);
  const Index events = t.dim(0), k = t.dim(1);
  for (Index j = 0; j < k; ++j) {
    Tensor column({events});
    for (Index e = 0; e < events; ++e) column[e] = t[e * k + j];
    out.add(names[static_cast<size_t>(j)], std::move(column));
  }
}

// A single dataset: compound table, 2-D table, 1-D column or N-D tensor.
void read_dataset_object(Dataset& out, hid_t dataset, const std::string& object_path, const std::string& what,
                         const ReadOptions& options) {
  if (dataset_class(dataset) == H5T_COMPOUND) return read_compound(out, dataset, what, options);
  Tensor t = read_numeric(dataset, what);
  if (t.rank() != 2) return add_checked(out, base_name(object_path), std::move(t), what, options);
  // Each column costs a name and a tensor even with 0 events.
  check_memory(fmt::format("{} ({} columns)", what, t.dim(1)),
               saturating_product(static_cast<std::uint64_t>(t.dim(1)), 128));
  if (t.dim(1) > 10000)  // columns are looked up by name, linearly: as for .npy
    throw Error(
        fmt::format("{} is a table of {} columns; unbox splits at most 10000 into named columns", what, t.dim(1)));
  std::vector<std::string> names;
  if (H5Aexists(dataset, "columns") > 0) {
    Handle attribute(H5Aopen(dataset, "columns", H5P_DEFAULT), H5Aclose);
    names = read_strings(attribute.get(), true, "the 'columns' attribute of " + what);
    if (static_cast<Index>(names.size()) != t.dim(1))
      throw Error(fmt::format("the 'columns' attribute of {} names {} columns but the table has {}", what, names.size(),
                              t.dim(1)));
  } else {
    for (Index j = 0; j < t.dim(1); ++j) names.push_back(fmt::format("c{}", j));
  }
  add_columns(out, t, names, what, options);
}

bool link_exists(hid_t location, const std::string& name) { return H5Lexists(location, name.c_str(), H5P_DEFAULT) > 0; }

bool is_pandas_frame(hid_t group) {
  return link_exists(group, "axis0") && link_exists(group, "block0_items") && link_exists(group, "block0_values");
}

// pandas' DataFrame.to_hdf(format='fixed'): axis0 = column names, axis1 = row index, and
// per dtype a block of values [rows, items] whose items say which columns it holds.
void read_pandas(Dataset& out, hid_t group, const std::string& what, const ReadOptions& options) {
  Handle axis0(H5Dopen2(group, "axis0", H5P_DEFAULT), H5Dclose);
  std::vector<std::string> columns = read_strings(axis0.get(), false, "the column names (axis0) of " + what);
  Index rows = -1;
  if (link_exists(group, "axis1")) {
    Handle axis1(H5Dopen2(group, "axis1", H5P_DEFAULT), H5Dclose);
    Shape s = dataspace_shape(axis1.get());
    if (s.size() == 1) rows = s[0];
  }
  std::vector<std::optional<Tensor>> placed(columns.size());
  for (int k = 0; link_exists(group, fmt::format("block{}_items", k)); ++k) {
    std::string items_name = fmt::format("block{}_items", k), values_name = fmt::format("block{}_values", k);
    Handle items_set(H5Dopen2(group, items_name.c_str(), H5P_DEFAULT), H5Dclose);
    std::vector<std::string> items = read_strings(items_set.get(), false, fmt::format("{} of {}", items_name, what));
    if (!link_exists(group, values_name))
      throw Error(fmt::format("{} has {} but no {}", what, items_name, values_name));
    Handle values_set(H5Dopen2(group, values_name.c_str(), H5P_DEFAULT), H5Dclose);
    H5T_class_t c = dataset_class(values_set.get());
    const std::string block_what = fmt::format("{} of {}", values_name, what);
    if (!is_numeric(c)) {
      std::string names;
      for (const auto& item : items) names += (names.empty() ? "'" : ", '") + item + "'";
      throw Error(fmt::format("column(s) {} of {} hold {} (pandas object/text block), not numbers", names, what,
                              c == H5T_VLEN ? "Python objects" : class_words(c)));
    }
    Tensor values = read_numeric(values_set.get(), block_what);
    const Index n = static_cast<Index>(items.size());
    if (rows < 0) rows = values.dim(0);
    // pandas writes blocks transposed to [rows, items]; accept [items, rows] as well.
    bool rows_first;
    if (values.rank() == 2 && values.dim(0) == rows && values.dim(1) == n)
      rows_first = true;
    else if (values.rank() == 2 && values.dim(0) == n && values.dim(1) == rows)
      rows_first = false;
    else
      throw Error(fmt::format("{} has shape {}; expected [{}, {}] ({} rows, {} items)", block_what,
                              shape_string(values.shape()), rows, n, rows, n));
    for (Index j = 0; j < n; ++j) {
      const std::string& item = items[static_cast<size_t>(j)];
      auto at = std::find(columns.begin(), columns.end(), item);
      if (at == columns.end())
        throw Error(fmt::format("{} names column '{}', which is not in axis0 of {}", items_name, item, what));
      Tensor column({rows});
      for (Index e = 0; e < rows; ++e) column[e] = rows_first ? values[e * n + j] : values[j * rows + e];
      placed[static_cast<size_t>(at - columns.begin())] = std::move(column);
    }
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!placed[i]) throw Error(fmt::format("column '{}' of {} is in no block", columns[i], what));
    add_checked(out, columns[i], std::move(*placed[i]), fmt::format("column '{}' of {}", columns[i], what), options);
  }
}

// An h5py-style group: 1-D numeric datasets are columns, N-D ones tensors. Subgroups,
// text and scalars are not per-event data and are passed over.
void read_group(Dataset& out, hid_t group, const std::string& group_path, const std::string& file,
                const ReadOptions& options) {
  const std::string what = fmt::format("'{}:{}'", file, group_path);
  if (is_pandas_frame(group)) return read_pandas(out, group, what, options);
  std::vector<std::string> skipped;
  for (const std::string& name : member_names(group)) {
    Handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!object.valid() || H5Iget_type(object.get()) != H5I_DATASET) continue;
    Shape shape = dataspace_shape(object.get());
    if (shape.empty()) continue;
    if (H5T_class_t c = dataset_class(object.get()); !is_numeric(c)) {
      // Per-event text (sample names, ...) cannot feed a network; say so rather than drop it.
      skipped.push_back(fmt::format("'{}' ({})", name, class_words(c)));
      continue;
    }
    const std::string path = join_path(group_path, name);
    add_checked(out, name, read_numeric(object.get(), fmt::format("'{}:{}'", file, path)),
                fmt::format("'{}:{}'", file, path), options);
  }
  if (out.names().empty())
    throw Error(fmt::format("{} holds no numeric datasets; it holds: {}{}", what, describe_members(group),
                            " (select a table with file.h5:/path)"));
  if (!skipped.empty()) {
    std::string list;
    for (const auto& item : skipped) list += (list.empty() ? "" : ", ") + item;
    warn(fmt::format("{}: dataset(s) {} are not numbers and are left out", what, list));
  }
}

// Is this top-level object a table on its own (compound, 2-D numeric, a pandas frame or a group)?
bool is_table(hid_t object) {
  H5I_type_t type = H5Iget_type(object);
  if (type == H5I_GROUP) return true;
  if (type != H5I_DATASET) return false;
  H5T_class_t c = dataset_class(object);
  return c == H5T_COMPOUND || (is_numeric(c) && dataspace_shape(object).size() == 2);
}

void check_hdf5_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::fclose(f);
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error(fmt::format("'{}' is not an HDF5 file (no HDF5 signature found)", path));
}

}  // namespace

Dataset read_hdf5(const std::string& path, const std::string& object, const ReadOptions& options) {
  silence_hdf5();
  check_hdf5_file(path);
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) throw Error(fmt::format("cannot open '{}' as HDF5 (corrupt or locked?)", path));

  Dataset out;
  out.source = path;
  // Walk the path one link at a time so a missing piece can be reported with what is there.
  std::string current = "/";
  size_t start = 0;
  while (start <= object.size()) {
    size_t slash = object.find('/', start);
    if (slash == std::string::npos) slash = object.size();
    std::string part = object.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    Handle here(H5Oopen(file.get(), current.c_str(), H5P_DEFAULT), H5Oclose);
    std::string next = join_path(current, part);
    if (H5Iget_type(here.get()) != H5I_GROUP)
      throw Error(fmt::format("no '{}' in '{}': '{}' is a dataset, not a group", next, path, current));
    if (!link_exists(here.get(), part))
      throw Error(fmt::format("no '{}' in '{}'; '{}' holds: {}", next, path, current, describe_members(here.get())));
    current = next;
  }

  Handle target(H5Oopen(file.get(), current.c_str(), H5P_DEFAULT), H5Oclose);
  if (!target.valid()) throw Error(fmt::format("cannot open '{}' in '{}' (a dangling link?)", current, path));
  const std::string what = fmt::format("'{}:{}'", path, current);
  if (H5Iget_type(target.get()) == H5I_DATASET) {
    read_dataset_object(out, target.get(), current, what, options);
    return out;
  }
  if (current == "/") {
    // No path given: a file holding exactly one table (pandas key, compound table,
    // 2-D dataset, or a single group) means that table; otherwise the root is the group.
    std::vector<std::string> names = member_names(target.get());
    if (names.size() == 1) {
      Handle only(H5Oopen(target.get(), names[0].c_str(), H5P_DEFAULT), H5Oclose);
      if (only.valid() && is_table(only.get())) {
        std::string only_path = "/" + names[0];
        if (H5Iget_type(only.get()) == H5I_GROUP)
          read_group(out, only.get(), only_path, path, options);
        else
          read_dataset_object(out, only.get(), only_path, fmt::format("'{}:{}'", path, only_path), options);
        return out;
      }
    }
  }
  read_group(out, target.get(), current, path, options);
  return out;
}

void write_hdf5(const Dataset& data, const std::string& path, const std::string& group) {
  silence_hdf5();
  for (const auto& name : data.names())
    if (name.empty() || name == "." || name.find('/') != std::string::npos)
      throw Error(fmt::format("cannot write '{}': column name '{}' cannot be an HDF5 dataset name", path, name));
  write_atomically(path, [&](const std::string& tmp) {
    auto fail = [&](const std::string& detail) { throw Error(fmt::format("cannot write '{}': {}", path, detail)); };
    // Track link creation order (root and group) so readers list the columns in our order.
    Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), H5Fclose);
    if (!file.valid()) fail("HDF5 could not create the file");
    Handle target;
    hid_t location = file.get();
    bool root = group.empty() || group.find_first_not_of('/') == std::string::npos;
    if (!root) {
      Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
      H5Pset_create_intermediate_group(lcpl.get(), 1);
      Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
      H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
      target = Handle(H5Gcreate2(file.get(), group.c_str(), lcpl.get(), gcpl.get(), H5P_DEFAULT), H5Gclose);
      if (!target.valid()) fail(fmt::format("cannot create the group '{}'", group));
      location = target.get();
    }
    for (const auto& name : data.names()) {
      const Tensor& t = data.get(name);
      std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
      Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
      Handle set(H5Dcreate2(location, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
      if (!set.valid()) fail(fmt::format("cannot create the dataset '{}'", name));
      if (t.size() > 0 && H5Dwrite(set.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0)
        fail(fmt::format("cannot write the dataset '{}' (disk full?)", name));
      if (!set.close()) fail(fmt::format("cannot write the dataset '{}' (disk full?)", name));
    }
    target.close();
    if (!file.close()) fail("HDF5 could not finish the file (disk full?)");
  });
}

// ---------------------------------------------------------------------------------
// Chunked reading: the numeric datasets of an h5py-style group (or one N-D dataset that is
// not a 2-D table), rows [position, position + count) read by hyperslab.
namespace {

class Hdf5Chunks : public ChunkReader::Source {
 public:
  struct Column {
    std::string name, what;
    Handle dataset;
    Shape shape;
  };
  Hdf5Chunks(Handle file, std::vector<Column> columns, const ReadOptions& options)
      : file_(std::move(file)), columns_(std::move(columns)), options_(options) {}
  Index events() override { return columns_.front().shape[0]; }
  Index skip(Index count) override {
    const Index n = std::min(count, events() - position_);
    position_ += n;
    return n;
  }
  Dataset read(Index count) override {
    const Index n = std::min(count, events() - position_);
    Dataset out;
    for (Column& c : columns_) {
      Shape shape = c.shape;
      shape[0] = n;
      Tensor t(shape);
      if (n > 0) {
        std::vector<hsize_t> start(shape.size(), 0), extent(shape.begin(), shape.end());
        start[0] = static_cast<hsize_t>(position_);
        Handle file_space(H5Dget_space(c.dataset.get()), H5Sclose);
        Handle memory_space(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose);
        if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr) < 0 ||
            H5Dread(c.dataset.get(), H5T_NATIVE_DOUBLE, memory_space.get(), file_space.get(), H5P_DEFAULT, t.data()) <
                0)
          throw Error(
              fmt::format("cannot read events {}..{} of {} (corrupt file?)", position_ + 1, position_ + n, c.what));
      }
      add_checked(out, c.name, std::move(t), c.what, options_);
    }
    position_ += n;
    return out;
  }

 private:
  Handle file_;
  std::vector<Column> columns_;
  ReadOptions options_;
  Index position_ = 0;
};

}  // namespace

namespace detail {
std::unique_ptr<ChunkReader::Source> open_hdf5_chunks(const std::string& path, const std::string& object,
                                                      const ReadOptions& options) {
  silence_hdf5();
  check_hdf5_file(path);
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) return nullptr;
  std::string current = object.empty() ? "/" : (object.front() == '/' ? object : "/" + object);
  if (current.size() > 1 && current.back() == '/') current.pop_back();
  if (current != "/" && H5Lexists(file.get(), current.c_str(), H5P_DEFAULT) <= 0) return nullptr;
  Handle target(H5Oopen(file.get(), current.c_str(), H5P_DEFAULT), H5Oclose);
  if (!target.valid()) return nullptr;
  std::vector<Hdf5Chunks::Column> columns;
  auto add = [&](const std::string& name, const std::string& at) -> bool {
    Handle d(H5Dopen2(file.get(), at.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) return false;
    Shape shape = dataspace_shape(d.get());
    if (shape.empty()) return true;  // scalars are passed over, as read_group does
    H5T_class_t c = dataset_class(d.get());
    if (!is_numeric(c)) return false;  // read whole: read_group warns about text
    Handle type(H5Dget_type(d.get()), H5Tclose);
    const size_t size = H5Tget_size(type.get());
    if (size == 0 || size > 16) return false;
    columns.push_back({name, fmt::format("'{}:{}'", path, at), std::move(d), std::move(shape)});
    return true;
  };
  if (H5Iget_type(target.get()) == H5I_DATASET) {
    if (dataset_class(target.get()) == H5T_COMPOUND || dataspace_shape(target.get()).size() == 2) return nullptr;
    if (!add(base_name(current), current)) return nullptr;
  } else {
    std::vector<std::string> names = member_names(target.get());
    if (current == "/" && names.size() == 1) return nullptr;  // a single table: read_hdf5 decides
    if (is_pandas_frame(target.get())) return nullptr;
    for (const std::string& name : names) {
      Handle member(H5Oopen(target.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
      if (!member.valid() || H5Iget_type(member.get()) != H5I_DATASET) continue;
      if (!add(name, join_path(current, name))) return nullptr;
    }
  }
  if (columns.empty()) return nullptr;
  for (const auto& c : columns)
    if (c.shape[0] != columns.front().shape[0]) return nullptr;  // read whole: the reader's message
  return std::make_unique<Hdf5Chunks>(std::move(file), std::move(columns), options);
}
}  // namespace detail

}  // namespace unbox
