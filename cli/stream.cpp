#include "stream.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <CLI/CLI.hpp>

#include "merge_methods.hpp"
#include "unbox/data_stream.hpp"
#include "unbox/dist.hpp"
#include "unbox/explain/activation_difference.hpp"
#include "unbox/explain/taylor.hpp"

namespace unbox::cli {

void add_chunk_option(CLI::App* c, Index& chunk, const std::string& keeps) {
  c->add_option("--chunk", chunk,
                "Read and process at most N events at a time (0: each file whole); memory: N events plus " + keeps)
      ->capture_default_str();
}

bool streamed_run(Index chunk) { return chunk > 0 || dist::size() > 1; }

Index for_each_chunk(const EventArgs& a, Index chunk, const std::function<void(Dataset&&)>& f) {
  if (a.data.empty()) throw Error("--data is required");
  if (chunk < 0) throw Error(fmt::format("--chunk must be >= 0, got {}", chunk));
  if (a.events < 0) throw Error(fmt::format("--events must be >= 0, got {}", a.events));
  ReadOptions ro;
  ro.allow_nan = a.allow_nan;
  DataStream stream(expand_data_files(a.data), ro);
  if (dist::size() > 1) {
    // Every file's event count, once, at rank 0 (a CSV file is scanned for it), for all ranks.
    std::string counted;
    if (dist::root()) {
      try {
        counted = "ok:" + nlohmann::json(stream.counts()).dump();
      } catch (const Error& e) {
        counted = std::string("error:") + e.what();
      }
    }
    counted = dist::broadcast(counted);
    if (counted.rfind("ok:", 0) != 0) throw Error(counted.substr(6));
    if (!dist::root()) stream.set_counts(nlohmann::json::parse(counted.substr(3)).get<std::vector<Index>>());
  }
  if (dist::size() > 1 || a.events > 0) {
    Index total = dist::size() > 1 ? stream.events() : std::numeric_limits<Index>::max();
    if (a.events > 0) total = std::min(total, a.events);
    const dist::Range r = dist::split(total, dist::rank(), dist::size());
    if (dist::size() > 1)
      stream.restrict(r.begin, r.end);
    else
      stream.restrict(0, total);
  }
  const Index max = chunk > 0 ? chunk : std::numeric_limits<Index>::max();
  Index seen = 0;
  Dataset d;
  while (stream.next(max, d)) {
    set_label_and_weight(d, a.label, a.weight, a.default_label);
    // --define/--cut act row by row, so per chunk equals on the whole (--events counts rows read).
    apply_data_transforms(d, a.transforms);
    seen += d.events();
    f(std::move(d));
    d = Dataset();
  }
  return seen;
}

SampleShare sample_share(const EventArgs& a, const std::string& method) {
  if (a.data.empty()) throw Error("--data is required");
  if (a.events < 0) throw Error(fmt::format("--events must be >= 0, got {}", a.events));
  if (!a.transforms.cuts.empty())
    throw Error(
        fmt::format("{} picks events by their position in the sample, which --cut moves: with --chunk or "
                    "across ranks, write the cut sample first (or run in one process without --chunk)",
                    method));
  DataStream stream(expand_data_files(a.data));
  SampleShare s;
  s.total = stream.events();
  if (a.events > 0) s.total = std::min(s.total, a.events);
  const dist::Range r = dist::split(s.total, dist::rank(), dist::size());
  s.begin = r.begin;
  s.end = r.end;
  return s;
}

void for_each_chunk_in(const EventArgs& a, Index chunk, Index begin, Index end,
                       const std::function<void(Dataset&&, Index first)>& f) {
  if (chunk < 0) throw Error(fmt::format("--chunk must be >= 0, got {}", chunk));
  ReadOptions ro;
  ro.allow_nan = a.allow_nan;
  DataStream stream(expand_data_files(a.data), ro);
  stream.restrict(begin, end);
  const Index max = chunk > 0 ? chunk : std::numeric_limits<Index>::max();
  Index at = begin;
  Dataset d;
  while (stream.next(max, d)) {
    set_label_and_weight(d, a.label, a.weight, a.default_label);
    apply_data_transforms(d, a.transforms);  // --define only (sample_share refuses --cut)
    const Index n = d.events();
    f(std::move(d), at);
    at += n;
    d = Dataset();
  }
}

namespace {

// What kind of result a JSON without a merge state is, for the message.
std::string result_kind(const nlohmann::json& j) {
  if (j.contains("method") && j["method"].is_string()) return j["method"].get<std::string>();
  if (j.contains("auc")) return "eval";
  if (j.contains("ranking")) return "ad";
  if (j.contains("features") && j.contains("convention")) return "taylor";
  return "unknown";
}

// The parts' shared key (what must agree), checked: Error naming the first difference.
void check_keys(const std::vector<nlohmann::json>& results, const std::vector<std::string>& names) {
  const nlohmann::json& key = results[0]["state"]["key"];
  for (size_t i = 1; i < results.size(); ++i) {
    const nlohmann::json& other = results[i]["state"]["key"];
    if (other == key) continue;
    for (auto it = key.begin(); it != key.end(); ++it)
      if (!other.contains(it.key()) || other[it.key()] != it.value())
        throw Error(fmt::format("{} and {} differ in '{}' ({} vs {}): only results of the same model and options merge",
                                names[0], names[i], it.key(), it.value().dump(),
                                other.contains(it.key()) ? other[it.key()].dump() : "absent"));
    throw Error(fmt::format("{} and {} differ in their merge keys", names[0], names[i]));
  }
}

}  // namespace

nlohmann::json merge_results(const std::vector<nlohmann::json>& results, const std::vector<std::string>& names) {
  if (results.empty()) throw Error("nothing to merge");
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& j = results[i];
    if (!j.is_object() || !j.contains("state") || !j["state"].is_object() || !j["state"].contains("method"))
      throw Error(fmt::format(
          "{}: a '{}' result cannot be merged (no merge state; mergeable: taylor, ad, eval, lrp, attribute)", names[i],
          j.is_object() ? result_kind(j) : "non-object"));
  }
  const std::string method = results[0]["state"]["method"].get<std::string>();
  for (size_t i = 1; i < results.size(); ++i)
    if (results[i]["state"]["method"] != method)
      throw Error(fmt::format("{} is a '{}' result, {} a '{}' result: only results of one method merge", names[0],
                              method, names[i], results[i]["state"]["method"].get<std::string>()));
  check_keys(results, names);
  nlohmann::json out;
  if (method == "taylor") {
    TaylorResult r = TaylorResult::from_json(results[0]);
    for (size_t i = 1; i < results.size(); ++i) merge(r, TaylorResult::from_json(results[i]));
    out = r.to_json();
  } else if (method == "ad") {
    ActivationDifferenceResult r = ActivationDifferenceResult::from_json(results[0]);
    for (size_t i = 1; i < results.size(); ++i) merge(r, ActivationDifferenceResult::from_json(results[i]));
    out = r.to_json();
  } else if (auto merged = merge_method_results(method, results)) {
    out = std::move(*merged);
  } else {
    throw Error(fmt::format("{}: '{}' results cannot be merged (mergeable: taylor, ad, eval, lrp, attribute)", names[0],
                            method));
  }
  return out;
}

std::string rank_part(const std::string& out, int rank) { return fmt::format("{}.rank{}", out, rank); }

Index join_rank_parts(const std::string& out, const std::string& status, Index events, int header_lines) {
  auto all = dist::gather(status + "|" + std::to_string(events));
  if (!dist::root()) {
    if (status != "ok") throw Error(status.substr(6));
    return -1;
  }
  const int n = dist::size();
  auto remove_parts = [&] {
    std::error_code ec;
    for (int r = 0; r < n; ++r) std::filesystem::remove(rank_part(out, r), ec);
  };
  Index total = 0;
  for (int r = 0; r < n; ++r) {
    const std::string& s = all[static_cast<size_t>(r)];
    const size_t bar = s.rfind('|');
    if (s.rfind("ok|", 0) != 0) {
      remove_parts();
      throw Error(fmt::format("rank {}: {}", r, s.substr(6, bar - 6)));
    }
    total += std::stoll(s.substr(bar + 1));
  }
  write_atomically(out, [&](const std::string& tmp) {
    std::ofstream o(tmp, std::ios::binary);
    bool have_header = false;
    for (int r = 0; r < n; ++r) {
      std::ifstream in(rank_part(out, r), std::ios::binary);
      if (!in)
        throw Error(fmt::format("cannot read '{}' (written by rank {}: is it on a file system every rank sees?)",
                                rank_part(out, r), r));
      std::string line;
      int k = 0;
      while (std::getline(in, line)) {
        if (k++ < header_lines && have_header) continue;
        o << line << '\n';
      }
      if (k > 0) have_header = true;
    }
    o.close();
    if (!o) throw Error(fmt::format("cannot write '{}' (disk full?)", out));
  });
  remove_parts();
  return total;
}

std::string result_table(const nlohmann::json& result) {
  const std::string method = result["state"]["method"].get<std::string>();
  if (method == "taylor") return TaylorResult::from_json(result).table();
  if (method == "ad") return ActivationDifferenceResult::from_json(result).table();
  if (auto table = method_result_table(result)) return *table;
  return result.dump(2) + "\n";
}

std::string reduce_across_ranks(const std::function<std::string()>& mine,
                                const std::function<std::string(const std::vector<std::string>&)>& reduce) {
  if (dist::size() == 1) return reduce({mine()});
  std::string message;
  try {
    message = "ok:" + mine();
  } catch (const Error& e) {
    message = std::string("error:") + e.what();
  } catch (const std::bad_alloc&) {
    message = "error:out of memory";
  }
  auto parts = dist::gather(message);
  std::string result;
  if (dist::root()) {
    std::vector<std::string> texts;
    for (size_t r = 0; r < parts.size() && result.empty(); ++r) {
      if (parts[r].rfind("error:", 0) == 0) result = fmt::format("error:rank {}: {}", r, parts[r].substr(6));
      texts.push_back(parts[r].size() > 3 ? parts[r].substr(3) : "");
    }
    if (result.empty()) {
      try {
        result = "ok:" + reduce(texts);
      } catch (const Error& e) {
        result = std::string("error:") + e.what();
      }
    }
  }
  result = dist::broadcast(result);
  if (result.rfind("ok:", 0) != 0) throw Error(result.substr(6));
  return result.substr(3);
}

std::optional<nlohmann::json> run_distributed(const std::function<std::optional<nlohmann::json>()>& part) {
  if (dist::size() == 1) {
    auto mine = part();
    if (!mine) throw Error("no events");
    return merge_results({*mine}, {"the result"});
  }
  std::string message;
  try {
    auto mine = part();
    message = mine ? "ok:" + mine->dump() : std::string("empty:");
  } catch (const Error& e) {
    message = std::string("error:") + e.what();
  } catch (const std::bad_alloc&) {
    message = "error:out of memory";
  }
  auto parts = dist::gather(message);
  if (!dist::root()) {
    if (message.rfind("error:", 0) == 0) throw Error(message.substr(6));  // exit 2 on this rank too
    return std::nullopt;
  }
  std::vector<nlohmann::json> results;
  std::vector<std::string> names;
  for (size_t r = 0; r < parts.size(); ++r) {
    const std::string& p = parts[r];
    if (p.rfind("error:", 0) == 0) throw Error(fmt::format("rank {}: {}", r, p.substr(6)));
    if (p.rfind("ok:", 0) != 0) continue;
    results.push_back(nlohmann::json::parse(p.substr(3)));
    names.push_back(fmt::format("rank {}", r));
  }
  if (results.empty()) throw Error("no events on any rank");
  return merge_results(results, names);
}

void refuse_whole_sample_outputs(const std::string& profile, const std::string& per_event) {
  if (!profile.empty())
    throw Error(
        "--profile: profiles need quantiles of the whole sample and are not computed chunk by chunk or across ranks "
        "(drop --chunk, run one process)");
  if (!per_event.empty())
    throw Error("--per-event keeps every event: it is not streamed (drop --chunk, run on one rank)");
}

}  // namespace unbox::cli
