// Streamed and distributed runs of the accumulating subcommands: --data lists and globs,
// --chunk N, ranks under mpirun, and the one merge of result states (unbox merge and the
// gathering at rank 0 use the same code, in the same order).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"

namespace CLI {
class App;
}

namespace unbox::cli {

// --chunk N: read and process at most N events at a time. `keeps` says what the method
// holds beyond the chunk (for --help).
void add_chunk_option(CLI::App* c, Index& chunk, const std::string& keeps);
// A run goes chunk by chunk when --chunk is given or when it runs on several ranks.
bool streamed_run(Index chunk);
// This rank's share of the events of `a` (every file of the list, in order; --events N
// keeps the first N of all), read in chunks of at most `chunk` events (0: one chunk per
// file), each with its label and weight columns attached. Returns the events seen.
Index for_each_chunk(const EventArgs& a, Index chunk, const std::function<void(Dataset&&)>& f);

// For methods that place events by their position in the whole sample (ad's sampled events
// and donors): the sample's size (every file, --events applied) and this rank's contiguous
// share [begin, end). --cut is refused (it would move the positions). Collective-free: every
// rank counts the same files.
struct SampleShare {
  Index total = 0, begin = 0, end = 0;
};
SampleShare sample_share(const EventArgs& a, const std::string& method);
// Events [begin, end) of the sample in chunks of at most `chunk` (0: one per file), each with
// its label and weight columns and --define applied; f gets the chunk and the position of
// its first event in the sample.
void for_each_chunk_in(const EventArgs& a, Index chunk, Index begin, Index end,
                       const std::function<void(Dataset&&, Index first)>& f);

// Runs `part` (this rank's result JSON; nullopt: no events here) on every rank, gathers the
// results at rank 0 and merges them in rank order; an error of any rank is rethrown at rank
// 0 naming the rank. Returns the merged result at rank 0, nullopt on the other ranks.
std::optional<nlohmann::json> run_distributed(const std::function<std::optional<nlohmann::json>()>& part);
// Result JSONs of one method merged in order (`names` label them in messages): Error for a
// result without a merge state (naming its type when it can) or for states that disagree.
nlohmann::json merge_results(const std::vector<nlohmann::json>& results, const std::vector<std::string>& names);
// Per-event output across ranks: every rank wrote OUT.rankR (`status` "ok" or "error:...",
// `events` rows); rank 0 joins the parts in rank order into OUT, atomically (the first
// `header_lines` lines taken once, from the first non-empty part), and removes them. An error
// of any rank is rethrown at rank 0 naming it. Returns the events in OUT at rank 0, -1 elsewhere.
Index join_rank_parts(const std::string& out, const std::string& status, Index events, int header_lines);
// The name of this rank's part of OUT.
std::string rank_part(const std::string& out, int rank);

// A first pass across ranks: every rank's text (`mine`), at rank 0 in rank order, reduced by
// `reduce` to one text that every rank returns. An error of any rank (or of the reduction) is
// thrown on every rank, naming the rank at rank 0. With one rank: reduce({mine()}). Collective.
std::string reduce_across_ranks(const std::function<std::string()>& mine,
                                const std::function<std::string(const std::vector<std::string>&)>& reduce);

// lrp and attribute chunk by chunk or across ranks: Error for --profile (quantiles of the whole
// sample) and --per-event (every event kept), which need the events whole.
void refuse_whole_sample_outputs(const std::string& profile, const std::string& per_event);

// One streamed pass of a per-model method (lrp, attribute) on every rank: each chunk of the
// events goes through `part(k, chunk)` for every model k (its result labeled with files[k]),
// the models' parts of a chunk are combined (combine), and the chunks' results merged in order
// (merge); run_distributed then merges the ranks'. R is the method's result type.
template <class R, class Part>
std::optional<nlohmann::json> stream_per_model(const EventArgs& data, Index chunk,
                                               const std::vector<std::string>& files, Part&& part) {
  return run_distributed([&]() -> std::optional<nlohmann::json> {
    std::optional<R> total;
    for_each_chunk(data, chunk, [&](Dataset&& d) {
      std::vector<R> parts;
      for (size_t k = 0; k < files.size(); ++k) {
        parts.push_back(part(k, d));
        parts.back().models = {files[k]};
      }
      R r = combine(std::move(parts));
      if (total)
        merge(*total, r);
      else
        total = std::move(r);
    });
    if (!total) return std::nullopt;
    return total->to_json();
  });
}

// The terminal table of a merged result.
std::string result_table(const nlohmann::json& result);

}  // namespace unbox::cli
