#include "tuner/search.hpp"

#include <metis.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "model/placement.hpp"

namespace c2r {

namespace {

// Ranks of every node, in rank order; empty when nodes hold different numbers of ranks.
std::vector<std::vector<int>> ranks_by_node(const ClusterModel& cluster) {
  std::vector<std::vector<int>> by_node(cluster.nodes());
  for (int r = 0; r < cluster.ranks; ++r) by_node[cluster.node_of_rank[r]].push_back(r);
  for (const auto& node : by_node) {
    if (node.size() != by_node.front().size()) return {};
  }
  return by_node;
}

}  // namespace

double balanced_placement_count(int experts, int ranks) {
  return std::exp(std::lgamma(experts + 1.0) - ranks * std::lgamma(experts / ranks + 1.0));
}

void for_each_balanced_placement(int experts, int ranks,
                                 const std::function<void(const std::vector<int>&)>& visit) {
  check_experts_divide(experts, ranks);
  const int per_rank = experts / ranks;
  std::vector<int> owner(experts), count(ranks, 0);
  std::function<void(int)> place = [&](int e) {
    if (e == experts) {
      visit(owner);
      return;
    }
    for (int r = 0; r < ranks; ++r) {
      if (count[r] == per_rank) continue;
      owner[e] = r;
      ++count[r];
      place(e + 1);
      --count[r];
    }
  };
  place(0);
}

namespace {

// Moves experts from over-full to under-full parts until every part has `size`, each time the
// move that loses the least co-activation with the expert's part and gains the most elsewhere.
void repair_sizes(std::vector<int>& part, const std::vector<int>& experts, int parts, int size,
                  const CollaborationMatrix& m) {
  std::vector<int> count(parts, 0);
  for (int p : part) ++count[p];
  for (;;) {
    double best_gain = -INFINITY;
    int best_item = -1, best_to = -1;
    for (size_t i = 0; i < experts.size(); ++i) {
      if (count[part[i]] <= size) continue;
      std::vector<double> affinity(parts, 0.0);
      for (size_t j = 0; j < experts.size(); ++j) {
        if (j != i) affinity[part[j]] += m.at(experts[i], experts[j]);
      }
      for (int to = 0; to < parts; ++to) {
        if (count[to] >= size) continue;
        const double gain = affinity[to] - affinity[part[i]];
        if (gain > best_gain) {
          best_gain = gain;
          best_item = static_cast<int>(i);
          best_to = to;
        }
      }
    }
    if (best_item < 0) return;
    --count[part[best_item]];
    ++count[best_to];
    part[best_item] = best_to;
  }
}

const char* metis_status_name(int status) {
  switch (status) {
    case METIS_ERROR_INPUT:
      return "METIS_ERROR_INPUT";
    case METIS_ERROR_MEMORY:
      return "METIS_ERROR_MEMORY";
    case METIS_ERROR:
      return "METIS_ERROR";
    default:
      return "an unknown METIS status";
  }
}

// METIS k-way partition of the sub-graph on `experts` into `parts` parts of equal size, balancing
// both the expert count and the load. Returns the part of each listed expert. When METIS declines,
// the parts are round-robin and `failure` says so (left alone otherwise).
std::vector<int> partition_experts(const std::vector<int>& experts, int parts,
                                   const CollaborationMatrix& m, const std::vector<int64_t>& load,
                                   uint64_t seed, std::string& failure) {
  const int n = static_cast<int>(experts.size());
  std::vector<int> part(n, 0);
  if (parts == 1) return part;
  std::vector<idx_t> xadj{0}, adjncy, adjwgt, vwgt;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const double w = m.at(experts[i], experts[j]);
      if (i == j || w <= 0.0) continue;
      adjncy.push_back(j);
      adjwgt.push_back(static_cast<idx_t>(std::max(1.0, std::round(w))));
    }
    xadj.push_back(static_cast<idx_t>(adjncy.size()));
    vwgt.push_back(1);
    vwgt.push_back(static_cast<idx_t>(std::max<int64_t>(1, load[experts[i]])));
  }
  idx_t vertices = n, constraints = 2, nparts = parts, cut = 0;
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = static_cast<idx_t>(seed % 1000003);
  options[METIS_OPTION_NUMBERING] = 0;
  std::vector<idx_t> result(n, 0);
  const int status =
      METIS_PartGraphKway(&vertices, &constraints, xadj.data(), adjncy.data(), vwgt.data(), nullptr,
                          adjwgt.data(), &nparts, nullptr, nullptr, options, &cut, result.data());
  if (status == METIS_OK) {
    for (int i = 0; i < n; ++i) part[i] = static_cast<int>(result[i]);
  } else {
    for (int i = 0; i < n; ++i) part[i] = i % parts;  // METIS declined: start round-robin
    if (!failure.empty()) failure += "; ";
    failure += "METIS_PartGraphKway returned " + std::string(metis_status_name(status)) +
               " partitioning " + std::to_string(n) + " experts into " + std::to_string(parts) +
               " parts";
  }
  repair_sizes(part, experts, parts, n / parts, m);
  return part;
}

}  // namespace

std::vector<int> metis_placement(const CollaborationMatrix& coactivation,
                                 const std::vector<int64_t>& tokens_per_expert,
                                 const ClusterModel& cluster, uint64_t seed, std::string* failure) {
  const int experts = coactivation.experts;
  std::string failures;
  check_experts_divide(experts, cluster.ranks);
  std::vector<std::vector<int>> by_node = ranks_by_node(cluster);
  if (by_node.empty()) {  // uneven nodes: one flat level over all ranks
    by_node.assign(1, std::vector<int>(cluster.ranks));
    std::iota(by_node[0].begin(), by_node[0].end(), 0);
  }
  std::vector<int> all(experts);
  std::iota(all.begin(), all.end(), 0);
  const int nodes = static_cast<int>(by_node.size());
  const std::vector<int> node_part =
      partition_experts(all, nodes, coactivation, tokens_per_expert, seed, failures);
  std::vector<int> owner(experts, -1);
  for (int node = 0; node < nodes; ++node) {
    std::vector<int> members;
    for (int e = 0; e < experts; ++e) {
      if (node_part[e] == node) members.push_back(e);
    }
    const int per_node = static_cast<int>(by_node[node].size());
    const std::vector<int> rank_part = partition_experts(
        members, per_node, coactivation, tokens_per_expert, seed + node + 1, failures);
    for (size_t i = 0; i < members.size(); ++i) owner[members[i]] = by_node[node][rank_part[i]];
  }
  if (failure) *failure = failures;
  return owner;
}

namespace {

// The cost model's tally of one placement, updated as experts swap ranks.
class SwapState {
 public:
  SwapState(const CostModel& model, const RoutingSample& sample, std::vector<int> owner)
      : model_(model), sample_(sample), owner_(std::move(owner)), tally_(model.ranks()) {
    const int k = sample.top_k;
    used_tokens_ = sample.tokens() / model.ranks() * model.ranks();
    tokens_of_.resize(sample.experts);
    for (int64_t t = 0; t < used_tokens_; ++t) {
      model.tally_token(tally_, model.source_rank(t), &sample.expert_ids[t * k], owner_, 1.0);
      for (int j = 0; j < k; ++j) tokens_of_[sample.expert_ids[t * k + j]].push_back(t);
    }
  }

  const std::vector<int>& owner() const { return owner_; }
  double objective() const { return model_.evaluate(tally_).objective; }
  // The tally is a few numbers per rank: trial swaps are undone by restoring a copy.
  const TrafficTally& tally() const { return tally_; }
  void restore(const TrafficTally& saved, int a, int b) {
    tally_ = saved;
    std::swap(owner_[a], owner_[b]);
  }

  // Swaps the ranks of experts a and b, updating the tally.
  void swap(int a, int b) {
    const int ra = owner_[a], rb = owner_[b];
    move(a, b, ra, rb);
    move(b, a, rb, ra);
    std::swap(owner_[a], owner_[b]);
  }

 private:
  // Expert e moves from rank `from` to rank `to` in every token that has e but not `partner`
  // (a token with both keeps one row to each rank either way).
  void move(int e, int partner, int from, int to) {
    const int k = sample_.top_k;
    const bool per_rank = model_.strategy().rules.rows == RowRule::kPerDestinationRank;
    for (int64_t t : tokens_of_[e]) {
      const int32_t* experts = &sample_.expert_ids[t * k];
      bool has_partner = false, other_on_from = false, other_on_to = false;
      for (int j = 0; j < k; ++j) {
        if (experts[j] == partner) has_partner = true;
        if (experts[j] == e || experts[j] == partner) continue;
        other_on_from |= owner_[experts[j]] == from;
        other_on_to |= owner_[experts[j]] == to;
      }
      if (has_partner) continue;
      const int source = model_.source_rank(t);
      tally_.expert_rows[from] -= 1;
      tally_.expert_rows[to] += 1;
      if (!per_rank || !other_on_from) model_.tally_rows(tally_, source, from, -1.0);
      if (!per_rank || !other_on_to) model_.tally_rows(tally_, source, to, 1.0);
    }
  }

  const CostModel& model_;
  const RoutingSample& sample_;
  std::vector<int> owner_;
  TrafficTally tally_;
  int64_t used_tokens_ = 0;
  std::vector<std::vector<int64_t>>
      tokens_of_;  // [experts] tokens (of the used blocks) routed to e
};

}  // namespace

std::vector<int> swap_search(const CostModel& model, const RoutingSample& sample,
                             std::vector<int> start, int direction, const SearchOptions& options,
                             double* candidates) {
  const auto started = std::chrono::steady_clock::now();
  C2R_CHECK(model.strategy().rules.placement_sensitive(),
            "the placement search cannot optimise strategy '"
                << model.strategy().name << "': its traffic does not depend on the placement");
  SwapState state(model, sample, std::move(start));
  const int experts = sample.experts;
  double current = direction * state.objective();
  TrafficTally saved = state.tally();
  for (int pass = 0; pass < options.max_passes; ++pass) {
    bool improved = false;
    for (int a = 0; a < experts; ++a) {
      for (int b = a + 1; b < experts; ++b) {
        if (state.owner()[a] == state.owner()[b]) continue;
        saved = state.tally();
        state.swap(a, b);
        if (candidates) *candidates += 1;
        const double trial = direction * state.objective();
        // A relative margin keeps rounding noise from cycling between equal placements.
        if (trial < current - 1e-12 * std::abs(current)) {
          current = trial;
          improved = true;
        } else {
          state.restore(saved, a, b);
        }
      }
    }
    const std::chrono::duration<double> spent = std::chrono::steady_clock::now() - started;
    if (!improved || spent.count() > options.time_limit_s) break;
  }
  return state.owner();
}

RoutingSample subsample_by_source(const RoutingSample& sample, int ranks,
                                  int64_t tokens_per_source) {
  const int64_t block = sample.tokens() / ranks;
  C2R_CHECK(tokens_per_source >= 1 && tokens_per_source <= block,
            "cannot take " << tokens_per_source << " tokens from blocks of " << block);
  RoutingSample sub;
  sub.experts = sample.experts;
  sub.top_k = sample.top_k;
  const int k = sample.top_k;
  for (int r = 0; r < ranks; ++r) {
    const auto first = sample.expert_ids.begin() + r * block * k;
    sub.expert_ids.insert(sub.expert_ids.end(), first, first + tokens_per_source * k);
  }
  return sub;
}

std::vector<int> random_placement(int experts, int ranks, uint64_t seed) {
  check_experts_divide(experts, ranks);
  std::vector<int> order(experts);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, Stream::kPlacement, 0);
  for (int i = experts - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  std::vector<int> owner(experts);
  for (int pos = 0; pos < experts; ++pos) owner[order[pos]] = pos / (experts / ranks);
  return owner;
}

SearchResult search_placement(const CostModel& model, const RoutingSample& sample,
                              const SearchOptions& options) {
  const int experts = sample.experts;
  const ClusterModel& cluster = model.cluster();
  SearchResult result;
  if (balanced_placement_count(experts, cluster.ranks) <= options.max_exhaustive) {
    result.method = "exhaustive";
    double best = INFINITY;
    for_each_balanced_placement(experts, cluster.ranks, [&](const std::vector<int>& owner) {
      result.candidates += 1;
      const double objective = model.predict(sample, owner).objective;
      if (objective < best) {
        best = objective;
        result.expert_rank = owner;
      }
    });
  } else {
    std::string failure;
    std::vector<int> seed = metis_placement(sample.coactivation(), sample.tokens_per_expert(),
                                            cluster, options.seed, &failure);
    // The method names the start the swaps really had.
    result.method = failure.empty() ? "metis+swap" : "round-robin+swap";
    if (!failure.empty()) {
      result.warning = failure + "; the swap search started from round-robin there";
    }
    result.seed_objective = model.predict(sample, seed).objective;
    // Swaps are tried on a subsample (each trial visits the tokens of two experts); the result
    // is judged on the whole sample and never kept if worse than its seed.
    const int ranks = model.ranks();
    const int64_t per_source =
        std::min(sample.tokens() / ranks, std::max<int64_t>(1, options.max_swap_tokens / ranks));
    const RoutingSample sub = subsample_by_source(sample, ranks, per_source);
    std::vector<int> swapped =
        swap_search(model.for_sample(sub.tokens()), sub, seed, +1, options, &result.candidates);
    result.expert_rank = model.predict(sample, swapped).objective <= result.seed_objective
                             ? std::move(swapped)
                             : std::move(seed);
  }
  result.prediction = model.predict(sample, result.expert_rank);
  return result;
}

}  // namespace c2r
