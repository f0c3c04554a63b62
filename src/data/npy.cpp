// NumPy .npy and .npz reader and writer.
//
// .npy: magic "\x93NUMPY", version, a Python-dict header (descr, fortran_order, shape),
// then the raw array. .npz: a zip archive of .npy members, stored or deflated; we read
// the zip central directory ourselves (including zip64 fields, which numpy's savez
// writes) and inflate with zlib.
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>

#include "data/io_util.hpp"
#include "unbox/data.hpp"

namespace unbox {

static_assert(std::endian::native == std::endian::little, "the .npy/.npz code assumes a little-endian host");

namespace {

// ---------------------------------------------------------------------------------
// .npy parsing

struct NpyArray {
  std::string descr;  // as written, e.g. "<f8"
  char byte_order = '<';
  char kind = 'f';      // f, i, u, b, U, S
  size_t itemsize = 8;  // bytes per element
  bool fortran = false;
  Shape shape;
  const unsigned char* data = nullptr;
  size_t data_bytes = 0;
  size_t data_offset = 0;  // bytes from the start of the file to the values
};

std::uint16_t get16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t get32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t get64(const unsigned char* p) { return get32(p) | (static_cast<std::uint64_t>(get32(p + 4)) << 32); }

// The value text after 'key': in the header dict, or npos.
size_t find_key(std::string_view header, std::string_view key) {
  for (char quote : {'\'', '"'}) {
    std::string quoted = std::string(1, quote) + std::string(key) + quote;
    size_t at = header.find(quoted);
    if (at == std::string_view::npos) continue;
    at = header.find(':', at + quoted.size());
    if (at == std::string_view::npos) return at;
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    return at;
  }
  return std::string_view::npos;
}

std::string dtype_words(const std::string& descr) {
  if (descr.size() >= 2) {
    char kind = descr[1];
    if (kind == 'c') return " (complex numbers)";
    if (kind == 'O') return " (Python objects)";
    if (kind == 'U' || kind == 'S') return " (text)";
    if (kind == 'M' || kind == 'm') return " (dates/times)";
    if (kind == 'V') return " (raw or structured records)";
  }
  return "";
}

[[noreturn]] void unsupported_dtype(const std::string& what, const std::string& descr) {
  throw Error(
      fmt::format("{} has the unsupported dtype '{}'{}; expected float32/float64, int8..int64, "
                  "uint8..uint64 or bool",
                  what, descr, dtype_words(descr)));
}

// `what` names the array in messages: "'x.npy'" or "array 'a' in 'x.npz'".
// With need_data false only the header is parsed (bytes may end after it): `data` stays
// null and data_offset says where the values start.
NpyArray parse_npy(const unsigned char* bytes, size_t size, const std::string& what, bool need_data = true) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(bytes, magic, 6) != 0)
    throw Error(fmt::format("{} is not a NumPy .npy array (expected the magic bytes \\x93NUMPY at the start)", what));
  int major = bytes[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = get16(bytes + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw Error(fmt::format("{} is truncated (incomplete .npy header)", what));
    header_len = get32(bytes + 8);
    header_start = 12;
  } else {
    throw Error(fmt::format("{} has .npy format version {}.{}; expected 1.0, 2.0 or 3.0", what, major, bytes[7]));
  }
  if (header_start + header_len > size) throw Error(fmt::format("{} is truncated (the .npy header is cut off)", what));
  std::string_view header(reinterpret_cast<const char*>(bytes + header_start), header_len);

  NpyArray a;
  auto bad_header = [&](const char* detail) {
    throw Error(fmt::format("{} has a malformed .npy header ({}): {}", what, detail, std::string(header)));
  };
  size_t at = find_key(header, "descr");
  if (at == std::string_view::npos) bad_header("no 'descr'");
  if (header[at] == '[')
    throw Error(
        fmt::format("{} has a structured dtype (record fields), which is not supported; "
                    "save one plain array per column instead",
                    what));
  if (header[at] != '\'' && header[at] != '"') bad_header("'descr' is not a string");
  size_t close = header.find(header[at], at + 1);
  if (close == std::string_view::npos) bad_header("unterminated 'descr'");
  a.descr = std::string(header.substr(at + 1, close - at - 1));

  at = find_key(header, "fortran_order");
  if (at == std::string_view::npos) bad_header("no 'fortran_order'");
  if (header.substr(at, 4) == "True")
    a.fortran = true;
  else if (header.substr(at, 5) == "False")
    a.fortran = false;
  else
    bad_header("'fortran_order' is neither True nor False");

  at = find_key(header, "shape");
  if (at == std::string_view::npos || header[at] != '(') bad_header("no 'shape' tuple");
  close = header.find(')', at);
  if (close == std::string_view::npos) bad_header("unterminated 'shape'");
  for (size_t i = at + 1; i < close;) {
    while (i < close && (header[i] == ' ' || header[i] == ',')) ++i;
    if (i >= close) break;
    Index dim = 0;
    auto [ptr, ec] = std::from_chars(header.data() + i, header.data() + close, dim);
    if (ec != std::errc() || dim < 0) bad_header("'shape' holds something other than sizes");
    // numpy may write Python long literals such as 3L in old files.
    i = static_cast<size_t>(ptr - header.data());
    if (i < close && header[i] == 'L') ++i;
    a.shape.push_back(dim);
  }

  // dtype: byte order, kind, item size ("<f8", "|b1", ">i4", "<U12").
  const std::string& d = a.descr;
  size_t k = 0;
  if (k < d.size() && (d[k] == '<' || d[k] == '>' || d[k] == '|' || d[k] == '=')) a.byte_order = d[k++];
  if (a.byte_order == '=') a.byte_order = '<';
  if (k >= d.size()) unsupported_dtype(what, d);
  a.kind = d[k++];
  size_t item = 0;
  auto [ptr, ec] = std::from_chars(d.data() + k, d.data() + d.size(), item);
  if (ec != std::errc() || ptr != d.data() + d.size()) unsupported_dtype(what, d);
  a.itemsize = item;
  bool ok = (a.kind == 'f' && (item == 4 || item == 8)) ||
            ((a.kind == 'i' || a.kind == 'u') && (item == 1 || item == 2 || item == 4 || item == 8)) ||
            (a.kind == 'b' && item == 1) || (a.kind == 'U' && item > 0) || (a.kind == 'S' && item > 0);
  if (!ok) unsupported_dtype(what, d);
  if (a.kind == 'U') a.itemsize = item * 4;  // UTF-32 code units

  // Size check, guarding the multiplication against absurd headers.
  size_t count = 1;
  for (Index dim : a.shape) {
    if (dim != 0 && count > std::numeric_limits<size_t>::max() / static_cast<size_t>(dim) / a.itemsize)
      bad_header("shape too large");
    count *= static_cast<size_t>(dim);
  }
  size_t need = count * a.itemsize;
  size_t data_start = header_start + header_len;
  a.data_offset = data_start;
  a.data_bytes = need;
  if (!need_data) return a;
  size_t have = size - data_start;
  if (have < need)
    throw Error(fmt::format("{} is truncated: its header promises {} '{}' values ({} bytes) but only {} bytes follow",
                            what, shape_string(a.shape), a.descr, need, have));
  a.data = bytes + data_start;
  a.data_bytes = need;
  return a;
}

bool is_text(const NpyArray& a) { return a.kind == 'U' || a.kind == 'S'; }

template <typename T>
void convert(const unsigned char* src, size_t count, bool swap, double* dst) {
  for (size_t i = 0; i < count; ++i) {
    unsigned char raw[sizeof(T)];
    std::memcpy(raw, src + i * sizeof(T), sizeof(T));
    if (swap) std::reverse(raw, raw + sizeof(T));
    T v;
    std::memcpy(&v, raw, sizeof(T));
    dst[i] = static_cast<double>(v);
  }
}

// The array as doubles in C order.
Tensor to_tensor(const NpyArray& a, const std::string& what) {
  size_t count = static_cast<size_t>(shape_size(a.shape));
  // As doubles the array takes 8 bytes a value (twice that while a Fortran array is reordered).
  check_memory(fmt::format("{} ({} values of shape {} as float64)", what, count, shape_string(a.shape)),
               saturating_product(count, a.fortran && a.shape.size() >= 2 ? 16 : 8));
  std::vector<double> values(count);
  const bool swap = a.byte_order == '>' && a.itemsize > 1;
  switch (a.kind) {
    case 'f':
      if (a.itemsize == 4)
        convert<float>(a.data, count, swap, values.data());
      else
        convert<double>(a.data, count, swap, values.data());
      break;
    case 'i':
      if (a.itemsize == 1)
        convert<std::int8_t>(a.data, count, swap, values.data());
      else if (a.itemsize == 2)
        convert<std::int16_t>(a.data, count, swap, values.data());
      else if (a.itemsize == 4)
        convert<std::int32_t>(a.data, count, swap, values.data());
      else
        convert<std::int64_t>(a.data, count, swap, values.data());
      break;
    case 'u':
      if (a.itemsize == 1)
        convert<std::uint8_t>(a.data, count, swap, values.data());
      else if (a.itemsize == 2)
        convert<std::uint16_t>(a.data, count, swap, values.data());
      else if (a.itemsize == 4)
        convert<std::uint32_t>(a.data, count, swap, values.data());
      else
        convert<std::uint64_t>(a.data, count, swap, values.data());
      break;
    case 'b':
      for (size_t i = 0; i < count; ++i) values[i] = a.data[i] != 0 ? 1.0 : 0.0;
      break;
    default:
      unsupported_dtype(what, a.descr);
  }
  if (a.fortran && a.shape.size() >= 2) {
    // Fortran order: the first index varies fastest. Walk the C-order output with a
    // multi-index counter and the matching Fortran offset.
    const size_t rank = a.shape.size();
    std::vector<Index> stride(rank);
    stride[0] = 1;
    for (size_t d = 1; d < rank; ++d) stride[d] = stride[d - 1] * a.shape[d - 1];
    std::vector<double> c_order(count);
    std::vector<Index> index(rank, 0);
    Index offset = 0;
    for (size_t i = 0; i < count; ++i) {
      c_order[i] = values[static_cast<size_t>(offset)];
      for (size_t d = rank; d-- > 0;) {
        offset += stride[d];
        if (++index[d] < a.shape[d]) break;
        offset -= stride[d] * a.shape[d];
        index[d] = 0;
      }
    }
    values.swap(c_order);
  }
  return Tensor(a.shape, std::move(values));
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A 1-D text array ('<U..' UTF-32 or 'S..' bytes), trailing NULs dropped.
std::vector<std::string> to_strings(const NpyArray& a, const std::string& what) {
  if (a.shape.size() != 1)
    throw Error(fmt::format("{} holds text of shape {}; expected a 1-D list of names", what, shape_string(a.shape)));
  std::vector<std::string> out;
  size_t count = static_cast<size_t>(a.shape[0]);
  for (size_t i = 0; i < count; ++i) {
    const unsigned char* item = a.data + i * a.itemsize;
    std::string s;
    if (a.kind == 'S') {
      size_t n = a.itemsize;
      while (n > 0 && item[n - 1] == 0) --n;
      s.assign(reinterpret_cast<const char*>(item), n);
    } else {
      size_t n = a.itemsize / 4;
      for (size_t c = 0; c < n; ++c) {
        std::uint32_t cp = get32(item + 4 * c);
        if (a.byte_order == '>') cp = __builtin_bswap32(cp);
        if (cp == 0) break;
        append_utf8(s, cp);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Named columns are looked up by name (linear in the column count): a 2-D table is split
// into at most this many (fuzz_npy found 0-row tables of 10^5 and 10^6 columns taking minutes).
constexpr Index kMaxColumns = 10000;

void add_checked(Dataset& out, const std::string& name, Tensor t, const std::string& what, const ReadOptions& options) {
  detail::check_finite(t.data(), t.size(), t.shape(), what, options);
  out.add(name, std::move(t));
}

// A 2-D [events, k] tensor split into k columns.
void add_columns(Dataset& out, const Tensor& t, const std::vector<std::string>& names, const std::string& what,
                 const ReadOptions& options) {
  if (t.dim(1) > kMaxColumns)
    throw Error(fmt::format("{} is a table of {} columns; unbox splits at most {} into named columns", what, t.dim(1),
                            kMaxColumns));
  detail::check_finite(t.data(), t.size(), t.shape(), what, options);
  const Index events = t.dim(0), k = t.dim(1);
  for (Index j = 0; j < k; ++j) {
    Tensor column({events});
    for (Index e = 0; e < events; ++e) column[e] = t[e * k + j];
    out.add(names[static_cast<size_t>(j)], std::move(column));
  }
}

std::vector<std::string> default_names(Index k) {
  std::vector<std::string> names;
  // Each column costs a name and a tensor even with 0 events: (0, 10^18) must not loop forever.
  check_memory(fmt::format("a table of {} columns", k), saturating_product(static_cast<std::uint64_t>(k), 128));
  if (k > kMaxColumns)
    throw Error(
        fmt::format("a table of {} columns: unbox splits at most {} columns into named columns (keep wider "
                    "data as one N-D array in .npz or .h5)",
                    k, kMaxColumns));
  for (Index j = 0; j < k; ++j) names.push_back(fmt::format("c{}", j));
  return names;
}

// ---------------------------------------------------------------------------------
// .npy writing

std::string npy_header(const Shape& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string dict = fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}), }}", dims);
  // Version 1.0 (2-byte length); pad so that the data starts on a 64-byte boundary.
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw Error("array shape too long for a .npy header");
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

// ---------------------------------------------------------------------------------
// zip (npz)

struct ZipEntry {
  std::string name;
  std::uint16_t flags = 0, method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

[[noreturn]] void bad_zip(const std::string& path, const std::string& detail) {
  throw Error(fmt::format("'{}' is not a readable NumPy .npz (zip) archive: {}", path, detail));
}

std::vector<ZipEntry> read_zip_directory(const std::string& bytes, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 22) bad_zip(path, size == 0 ? "the file is empty" : "the file is too short");
  // The end-of-central-directory record sits at the end, before an optional comment.
  size_t eocd = std::string::npos;
  size_t lowest = size >= 22 + 65535 ? size - 22 - 65535 : 0;
  for (size_t i = size - 22 + 1; i-- > lowest;) {
    if (get32(b + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos)
    bad_zip(path, std::memcmp(b, "PK", 2) == 0 ? "no end of central directory (truncated?)" : "no zip signature");
  std::uint64_t entries = get16(b + eocd + 10);
  std::uint64_t cd_size = get32(b + eocd + 12);
  std::uint64_t cd_offset = get32(b + eocd + 16);
  // zip64: the real values live in the zip64 end record, found through its locator.
  if (eocd >= 20 && get32(b + eocd - 20) == 0x07064b50) {
    std::uint64_t z64 = get64(b + eocd - 20 + 8);
    if (z64 > size || size - z64 < 56 || get32(b + z64) != 0x06064b50) bad_zip(path, "broken zip64 end record");
    entries = get64(b + z64 + 32);
    cd_size = get64(b + z64 + 40);
    cd_offset = get64(b + z64 + 48);
  }
  if (cd_offset > size || cd_size > size - cd_offset) bad_zip(path, "central directory outside the file (truncated?)");

  std::vector<ZipEntry> out;
  size_t at = static_cast<size_t>(cd_offset);
  for (std::uint64_t n = 0; n < entries; ++n) {
    if (at + 46 > size || get32(b + at) != 0x02014b50) bad_zip(path, "broken central directory");
    ZipEntry e;
    e.flags = get16(b + at + 8);
    e.method = get16(b + at + 10);
    e.crc = get32(b + at + 16);
    e.compressed = get32(b + at + 20);
    e.uncompressed = get32(b + at + 24);
    size_t name_len = get16(b + at + 28), extra_len = get16(b + at + 30), comment_len = get16(b + at + 32);
    e.local_offset = get32(b + at + 42);
    if (at + 46 + name_len + extra_len + comment_len > size) bad_zip(path, "broken central directory");
    e.name.assign(reinterpret_cast<const char*>(b + at + 46), name_len);
    // zip64 extra field: 64-bit values for exactly those fields that hold 0xFFFFFFFF, in order.
    const unsigned char* x = b + at + 46 + name_len;
    const unsigned char* x_end = x + extra_len;
    while (x + 4 <= x_end) {
      std::uint16_t id = get16(x), len = get16(x + 2);
      const unsigned char* field = x + 4;
      if (field + len > x_end) break;
      if (id == 0x0001) {
        const unsigned char* v = field;
        auto take = [&](std::uint64_t& target) {
          if (target != 0xFFFFFFFFu) return;
          if (v + 8 > field + len) bad_zip(path, "short zip64 extra field");
          target = get64(v);
          v += 8;
        };
        take(e.uncompressed);
        take(e.compressed);
        take(e.local_offset);
      }
      x = field + len;
    }
    out.push_back(std::move(e));
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

// The member's bytes: a view into the archive when stored, inflated into `storage` when deflated.
std::string_view zip_member(const std::string& bytes, const ZipEntry& e, const std::string& path,
                            std::string& storage) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  const std::string what = fmt::format("member '{}'", e.name);
  if (e.flags & 1) bad_zip(path, what + " is encrypted");
  if (e.local_offset > size || size - e.local_offset < 30 || get32(b + e.local_offset) != 0x04034b50)
    bad_zip(path, what + ": broken local header (truncated?)");
  size_t start =
      static_cast<size_t>(e.local_offset) + 30 + get16(b + e.local_offset + 26) + get16(b + e.local_offset + 28);
  if (start > size || e.compressed > size - start) bad_zip(path, what + " is truncated");
  const unsigned char* data = b + start;
  std::string_view result;
  if (e.method == 0) {
    if (e.compressed != e.uncompressed) bad_zip(path, what + ": stored sizes disagree");
    result = std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(e.compressed));
  } else if (e.method == 8) {
    // Deflate expands at most 1032:1: a larger stated size is a lie; check both the claim
    // and the memory budget before allocating.
    if (e.uncompressed / 1032 > e.compressed + 64)
      bad_zip(path, fmt::format("{} claims {} bytes uncompressed from {} compressed bytes, more than deflate can "
                                "produce (corrupt archive)",
                                what, e.uncompressed, e.compressed));
    check_memory(fmt::format("{} of '{}' ({} bytes uncompressed)", what, path, e.uncompressed), e.uncompressed);
    storage.resize(static_cast<size_t>(e.uncompressed));
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) bad_zip(path, "zlib could not start");
    // avail_in/avail_out are 32-bit: feed members larger than 4 GiB in pieces.
    std::uint64_t in_left = e.compressed, out_left = e.uncompressed;
    zs.next_in = const_cast<unsigned char*>(data);
    zs.next_out = reinterpret_cast<unsigned char*>(storage.data());
    int rc;
    do {
      if (zs.avail_in == 0 && in_left > 0) {
        zs.avail_in = static_cast<uInt>(std::min<std::uint64_t>(in_left, 1u << 30));
        in_left -= zs.avail_in;
      }
      if (zs.avail_out == 0 && out_left > 0) {
        zs.avail_out = static_cast<uInt>(std::min<std::uint64_t>(out_left, 1u << 30));
        out_left -= zs.avail_out;
      }
      rc = inflate(&zs, Z_NO_FLUSH);  // Z_BUF_ERROR: input ran out or the output is full
    } while (rc == Z_OK);
    std::uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != e.uncompressed)
      bad_zip(path, what + " does not inflate to its stated size (corrupt or truncated)");
    result = storage;
  } else {
    bad_zip(path, fmt::format("{} uses compression method {}; only stored (0) and deflate (8) are supported", what,
                              e.method));
  }
  uLong crc = result.empty() ? 0 : crc32_z(0, reinterpret_cast<const unsigned char*>(result.data()), result.size());
  if (crc != e.crc) bad_zip(path, what + " fails its CRC check (corrupt)");
  return result;
}

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
void put64(std::string& s, std::uint64_t v) {
  put32(s, static_cast<std::uint32_t>(v));
  put32(s, static_cast<std::uint32_t>(v >> 32));
}

}  // namespace

Dataset read_npy(const std::string& path, const ReadOptions& options) {
  const std::string bytes = detail::read_whole_file(path);
  const std::string what = "'" + path + "'";
  NpyArray a = parse_npy(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), what);
  if (is_text(a)) unsupported_dtype(what, a.descr);
  if (a.shape.empty()) throw Error(fmt::format("{} holds a single number (shape ()), not events", what));
  Dataset out;
  out.source = path;
  Tensor t = to_tensor(a, what);
  if (t.rank() == 2)
    add_columns(out, t, default_names(t.dim(1)), what, options);
  else
    add_checked(out, detail::file_stem(path), std::move(t), what, options);
  return out;
}

Dataset read_npz(const std::string& path, const ReadOptions& options) {
  const std::string bytes = detail::read_whole_file(path);
  std::vector<ZipEntry> entries = read_zip_directory(bytes, path);

  struct Member {
    std::string name;
    std::unique_ptr<std::string> storage;  // inflated bytes; on the heap so `array` can point into them
    NpyArray array;
  };
  std::vector<Member> members;
  std::optional<std::vector<std::string>> column_names;
  for (const ZipEntry& e : entries) {
    if (e.name.size() < 5 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0) continue;  // not an array
    Member m;
    m.name = e.name.substr(0, e.name.size() - 4);
    const std::string what = fmt::format("array '{}' in '{}'", m.name, path);
    m.storage = std::make_unique<std::string>();
    std::string_view data = zip_member(bytes, e, path, *m.storage);
    m.array = parse_npy(reinterpret_cast<const unsigned char*>(data.data()), data.size(), what);
    if (is_text(m.array)) {
      if (m.name != "columns") unsupported_dtype(what, m.array.descr);
      column_names = to_strings(m.array, what);
      continue;
    }
    if (m.name == "columns") throw Error(fmt::format("{} should hold column names (text), not numbers", what));
    members.push_back(std::move(m));
  }
  if (members.empty()) throw Error(fmt::format("'{}' holds no numeric arrays", path));

  // Which 2-D array is split into named columns: the one named by a `columns` array, or
  // the only array of the file. Otherwise 1-D arrays are columns and N-D arrays tensors.
  const Member* split = nullptr;
  if (column_names) {
    std::vector<const Member*> candidates;
    for (const Member& m : members)
      if (m.array.shape.size() == 2 && m.array.shape[1] == static_cast<Index>(column_names->size()))
        candidates.push_back(&m);
    if (candidates.size() != 1)
      throw Error(
          fmt::format("'{}' has a 'columns' array of {} names but {} 2-D arrays with {} columns; "
                      "expected exactly one",
                      path, column_names->size(), candidates.size(), column_names->size()));
    split = candidates[0];
  } else if (members.size() == 1 && members[0].array.shape.size() == 2) {
    split = &members[0];
  }

  Dataset out;
  out.source = path;
  for (const Member& m : members) {
    const std::string what = fmt::format("array '{}' in '{}'", m.name, path);
    if (m.array.shape.empty()) continue;  // a scalar (metadata such as a count): not per-event data
    Tensor t = to_tensor(m.array, what);
    if (&m == split)
      add_columns(out, t, column_names ? *column_names : default_names(t.dim(1)), what, options);
    else
      add_checked(out, m.name, std::move(t), what, options);
  }
  return out;
}

void write_npy(const Dataset& data, const std::string& path) {
  const auto& names = data.names();
  if (names.empty()) throw Error(fmt::format("cannot write '{}': the dataset has no columns", path));
  for (const auto& name : names) {
    const Tensor& t = data.get(name);
    if (t.rank() != 1)
      throw Error(
          fmt::format("cannot write '{}' (shape {}) to '{}': a .npy file holds one 2-D table of 1-D "
                      "columns; write .npz or .h5 to keep N-D arrays",
                      name, shape_string(t.shape()), path));
  }
  const Index events = data.events();
  const Index k = static_cast<Index>(names.size());
  std::vector<const double*> columns;
  for (const auto& name : names) columns.push_back(data.get(name).data());
  write_atomically(path, [&](const std::string& tmp) {
    detail::OutputFile out(tmp, path);
    out.write(npy_header({events, k}));
    // Interleave the columns into rows, a block of events at a time.
    constexpr Index block = 4096;
    std::vector<double> rows(static_cast<size_t>(block * k));
    for (Index e0 = 0; e0 < events; e0 += block) {
      Index n = std::min(block, events - e0);
      for (Index e = 0; e < n; ++e)
        for (Index j = 0; j < k; ++j) rows[static_cast<size_t>(e * k + j)] = columns[static_cast<size_t>(j)][e0 + e];
      out.write(rows.data(), static_cast<size_t>(n * k) * sizeof(double));
    }
    out.close();
  });
}

void write_npz(const Dataset& data, const std::string& path) {
  struct Written {
    std::string name;
    std::uint32_t crc;
    std::uint64_t size, offset;
  };
  write_atomically(path, [&](const std::string& tmp) {
    detail::OutputFile out(tmp, path);
    std::vector<Written> written;
    std::uint64_t offset = 0;
    for (const auto& name : data.names()) {
      const Tensor& t = data.get(name);
      std::string header = npy_header(t.shape());
      const auto* raw = reinterpret_cast<const unsigned char*>(t.data());
      const size_t raw_bytes = static_cast<size_t>(t.size()) * sizeof(double);
      // (zlib returns the initial value, not the running crc, when given a null buffer.)
      uLong running = crc32_z(0, reinterpret_cast<const unsigned char*>(header.data()), header.size());
      if (raw_bytes > 0) running = crc32_z(running, raw, raw_bytes);
      const auto crc = static_cast<std::uint32_t>(running);
      Written w{name + ".npy", crc, header.size() + raw_bytes, offset};
      const bool zip64 = w.size >= 0xFFFFFFFFu;
      std::string local;
      put32(local, 0x04034b50);
      put16(local, zip64 ? 45 : 20);  // version needed
      put16(local, 0x0800);           // flags: UTF-8 names
      put16(local, 0);                // stored
      put16(local, 0);                // time
      put16(local, 0x21);             // date: 1980-01-01
      put32(local, crc);
      put32(local, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(w.size));
      put32(local, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(w.size));
      put16(local, static_cast<std::uint32_t>(w.name.size()));
      put16(local, zip64 ? 20 : 0);
      local += w.name;
      if (zip64) {
        put16(local, 0x0001);
        put16(local, 16);
        put64(local, w.size);
        put64(local, w.size);
      }
      out.write(local);
      out.write(header);
      out.write(raw, raw_bytes);
      offset += local.size() + w.size;
      written.push_back(std::move(w));
    }
    // Central directory: zip64 extras only for the fields that overflow 32 bits.
    const std::uint64_t cd_offset = offset;
    std::string cd;
    for (const Written& w : written) {
      const bool big_size = w.size >= 0xFFFFFFFFu, big_offset = w.offset >= 0xFFFFFFFFu;
      std::string extra;
      if (big_size || big_offset) {
        std::string values;
        if (big_size) {
          put64(values, w.size);
          put64(values, w.size);
        }
        if (big_offset) put64(values, w.offset);
        put16(extra, 0x0001);
        put16(extra, static_cast<std::uint32_t>(values.size()));
        extra += values;
      }
      put32(cd, 0x02014b50);
      put16(cd, 0x031E);  // made by: Unix, 3.0
      put16(cd, extra.empty() ? 20 : 45);
      put16(cd, 0x0800);
      put16(cd, 0);
      put16(cd, 0);
      put16(cd, 0x21);
      put32(cd, w.crc);
      put32(cd, big_size ? 0xFFFFFFFFu : static_cast<std::uint32_t>(w.size));
      put32(cd, big_size ? 0xFFFFFFFFu : static_cast<std::uint32_t>(w.size));
      put16(cd, static_cast<std::uint32_t>(w.name.size()));
      put16(cd, static_cast<std::uint32_t>(extra.size()));
      put16(cd, 0);               // comment
      put16(cd, 0);               // disk
      put16(cd, 0);               // internal attributes
      put32(cd, 0100644u << 16);  // external attributes: a regular file, rw-r--r--
      put32(cd, big_offset ? 0xFFFFFFFFu : static_cast<std::uint32_t>(w.offset));
      cd += w.name;
      cd += extra;
    }
    const std::uint64_t cd_size = cd.size();
    const std::uint64_t count = written.size();
    const bool zip64_end = count >= 0xFFFF || cd_offset >= 0xFFFFFFFFu || cd_size >= 0xFFFFFFFFu;
    std::string end;
    if (zip64_end) {
      const std::uint64_t z64_offset = cd_offset + cd_size;
      put32(end, 0x06064b50);
      put64(end, 44);
      put16(end, 0x031E);
      put16(end, 45);
      put32(end, 0);
      put32(end, 0);
      put64(end, count);
      put64(end, count);
      put64(end, cd_size);
      put64(end, cd_offset);
      put32(end, 0x07064b50);
      put32(end, 0);
      put64(end, z64_offset);
      put32(end, 1);
    }
    put32(end, 0x06054b50);
    put16(end, 0);
    put16(end, 0);
    put16(end, zip64_end ? 0xFFFF : static_cast<std::uint32_t>(count));
    put16(end, zip64_end ? 0xFFFF : static_cast<std::uint32_t>(count));
    put32(end, zip64_end ? 0xFFFFFFFFu : static_cast<std::uint32_t>(cd_size));
    put32(end, zip64_end ? 0xFFFFFFFFu : static_cast<std::uint32_t>(cd_offset));
    put16(end, 0);
    out.write(cd);
    out.write(end);
    out.close();
  });
}

// ---------------------------------------------------------------------------------
// Chunked reading of a C-ordered numeric .npy: rows [position, position + count) are read
// with one seek and one read, then converted as read_npy converts the whole array.
namespace {

class NpyChunks : public ChunkReader::Source {
 public:
  NpyChunks(std::FILE* file, const std::string& path, NpyArray header, const ReadOptions& options)
      : file_(file), path_(path), what_("'" + path + "'"), header_(std::move(header)), options_(options) {
    row_bytes_ = header_.itemsize;
    for (size_t d = 1; d < header_.shape.size(); ++d) row_bytes_ *= static_cast<size_t>(header_.shape[d]);
    if (header_.shape.size() == 2) names_ = default_names(header_.shape[1]);
  }
  ~NpyChunks() override { std::fclose(file_); }
  NpyChunks(const NpyChunks&) = delete;
  NpyChunks& operator=(const NpyChunks&) = delete;

  Index events() override { return header_.shape[0]; }
  Index skip(Index count) override {
    const Index n = std::min(count, header_.shape[0] - position_);
    position_ += n;
    return n;
  }
  Dataset read(Index count) override {
    const Index n = std::min(count, header_.shape[0] - position_);
    NpyArray part = header_;
    part.shape[0] = n;
    buffer_.resize(static_cast<size_t>(n) * row_bytes_);
    const auto offset = static_cast<long>(header_.data_offset + static_cast<size_t>(position_) * row_bytes_);
    if (n > 0 && (std::fseek(file_, offset, SEEK_SET) != 0 ||
                  std::fread(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()))
      throw Error(fmt::format("cannot read rows {}..{} of {}: {}", position_ + 1, position_ + n, what_,
                              std::ferror(file_) ? std::strerror(errno) : "the file is shorter than its header says"));
    part.data = buffer_.data();
    part.data_bytes = buffer_.size();
    position_ += n;
    Dataset out;
    Tensor t = to_tensor(part, what_);
    if (t.rank() == 2)
      add_columns(out, t, names_, what_, options_);
    else
      add_checked(out, detail::file_stem(path_), std::move(t), what_, options_);
    return out;
  }

 private:
  std::FILE* file_;
  std::string path_, what_;
  NpyArray header_;
  ReadOptions options_;
  size_t row_bytes_ = 0;
  Index position_ = 0;
  std::vector<std::string> names_;
  std::vector<unsigned char> buffer_;
};

}  // namespace

namespace detail {
std::unique_ptr<ChunkReader::Source> open_npy_chunks(const std::string& path, const ReadOptions& options) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  unsigned char start[12] = {};
  const size_t got = std::fread(start, 1, sizeof start, f);
  size_t header_end = got;
  if (got >= 10) header_end = start[6] == 1 ? 10 + get16(start + 8) : (got >= 12 ? 12 + get32(start + 8) : got);
  std::vector<unsigned char> head(std::max(header_end, got));
  std::fseek(f, 0, SEEK_SET);
  const size_t have = std::fread(head.data(), 1, head.size(), f);
  const std::string what = "'" + path + "'";
  NpyArray a;
  try {
    a = parse_npy(head.data(), have, what, false);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  if (is_text(a) || a.shape.empty() || (a.fortran && a.shape.size() > 1) || size < 0 ||
      static_cast<size_t>(size) < a.data_offset + a.data_bytes) {
    std::fclose(f);
    return nullptr;  // read whole: read_npy gives the exact message for a truncated file
  }
  return std::make_unique<NpyChunks>(f, path, std::move(a), options);
}
}  // namespace detail

}  // namespace unbox
