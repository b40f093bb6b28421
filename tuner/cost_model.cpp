#include "tuner/cost_model.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"
#include "model/placement.hpp"

namespace c2r {

using nlohmann::json;

std::vector<int64_t> RoutingSample::tokens_per_expert() const {
  std::vector<int64_t> counts(experts, 0);
  for (int32_t e : expert_ids) ++counts[e];
  return counts;
}

CollaborationMatrix RoutingSample::coactivation() const {
  return coactivation_counts(expert_ids, top_k, experts);
}

json PhaseSeconds::to_json() const {
  return {{"gate_us", gate * 1e6},         {"permute_us", permute * 1e6},
          {"dispatch_us", dispatch * 1e6}, {"expert_us", expert * 1e6},
          {"combine_us", combine * 1e6},   {"unpermute_us", unpermute * 1e6},
          {"layer_us", layer() * 1e6}};
}

json Prediction::to_json() const {
  json j = time.to_json();
  j["remote_bytes"] = remote_bytes;
  j["rank_imbalance"] = rank_imbalance;
  j["dropped_fraction"] = dropped_fraction;
  return j;
}

CostModel::CostModel(const ClusterModel& cluster, const ModelConfig& model, int64_t tokens_per_rank,
                     const StrategyDescriptor& strategy, double capacity_factor,
                     int64_t sample_tokens, PayloadType dtype, int overlap)
    : cluster_(cluster),
      model_(model),
      router_experts_(model.experts),
      tokens_per_rank_(tokens_per_rank),
      strategy_(&strategy),
      capacity_factor_(capacity_factor),
      dtype_(dtype),
      overlap_(overlap) {
  C2R_CHECK(overlap >= 1, "a pipelined layer needs at least one token chunk");
  check_experts_divide(model.experts, cluster.ranks);
  C2R_CHECK(model.top_k <= kMaxTopK, "the cost model handles top-k up to " << kMaxTopK);
  C2R_CHECK(tokens_per_rank >= 1, "the cost model needs at least one token per rank");
  C2R_CHECK(sample_tokens >= cluster.ranks, "the routing sample has "
                                                << sample_tokens << " tokens, fewer than the "
                                                << cluster.ranks << " ranks it is spread over");
  C2R_CHECK(cluster.rates.expert_flops_per_s > 0 && cluster.rates.router_flops_per_s > 0 &&
                cluster.rates.copy_Bps > 0 && cluster.intra.bandwidth_Bps > 0 &&
                cluster.inter.bandwidth_Bps > 0,
            "the cluster model " << cluster.name << " lacks a rate or a bandwidth");
  tokens_per_source_ = sample_tokens / cluster.ranks;
  scale_ = static_cast<double>(tokens_per_rank) / tokens_per_source_;
}

CostModel CostModel::for_sample(int64_t sample_tokens) const {
  return CostModel(cluster_, model_, tokens_per_rank_, *strategy_, capacity_factor_, sample_tokens,
                   dtype_, overlap_);
}

CostModel CostModel::with_overlap(int overlap) const {
  CostModel other = *this;
  C2R_CHECK(overlap >= 1, "a pipelined layer needs at least one token chunk");
  other.overlap_ = overlap;
  return other;
}

void CostModel::tally_token(TrafficTally& tally, int source, const int32_t* experts,
                            const std::vector<int>& expert_rank, double sign) const {
  const int k = model_.top_k;
  int destinations[kMaxTopK];
  int count = 0;
  for (int j = 0; j < k; ++j) {
    const int d = expert_rank[experts[j]];
    tally.expert_rows[d] += sign;
    // One row per (token, expert), or one per (token, destination rank).
    if (strategy_->rules.rows == RowRule::kPerDestinationRank &&
        std::find(destinations, destinations + count, d) != destinations + count) {
      continue;
    }
    destinations[count++] = d;
    tally_rows(tally, source, d, sign);
  }
}

std::vector<CostModel::ExchangeParts> CostModel::exchange_parts(
    const std::vector<double>& send_rows, const std::vector<double>& recv_rows,
    double row_bytes) const {
  std::vector<ExchangeParts> parts(ranks());
  for (int r = 0; r < ranks(); ++r) {
    for (int link = 0; link < 2; ++link) {
      const double bytes =
          std::max(send_rows[2 * r + link], recv_rows[2 * r + link]) * scale_ * row_bytes;
      if (bytes <= 0.0) continue;
      const LinkCost& cost = link == 0 ? cluster_.intra : cluster_.inter;
      parts[r].latency[link] = cost.latency_s;
      parts[r].transfer[link] = bytes / cost.bandwidth_Bps;
    }
  }
  return parts;
}

double CostModel::exposed_seconds(const ExchangeParts& parts, double uncovered_inter) const {
  const double n = overlap_;
  // Intra- and inter-node links carry their shares at the same time.
  const double intra = n * parts.latency[0] + parts.transfer[0];
  const double inter =
      n * parts.latency[1] + (n == 1 ? parts.transfer[1] : parts.transfer[1] / n + uncovered_inter);
  return std::max(intra, inter);
}

double CostModel::expert_phase_seconds(const std::vector<double>& expert_rows) const {
  const int R = ranks();
  const double flops_per_row = 6.0 * model_.hidden * model_.ffn;
  const double all = cluster_.rates.expert_flops_per_s;
  const double alone =
      cluster_.rates.expert_alone_flops_per_s > 0 ? cluster_.rates.expert_alone_flops_per_s : all;
  if (alone == all || R == 1) {  // one rate: the busiest rank's rows at it
    return *std::max_element(expert_rows.begin(), expert_rows.end()) * scale_ * flops_per_row / all;
  }
  // Ranks finish in the order of their rows; between the i-th and the (i+1)-th to finish, the
  // remaining R - i ranks compute at once, at a rate between `all` (R of them) and `alone` (1).
  std::vector<double> rows(expert_rows);  // [R], ascending below
  std::sort(rows.begin(), rows.end());
  double seconds = 0.0, done = 0.0;
  for (int i = 0; i < R; ++i) {
    const int active = R - i;
    const double rate = alone + (all - alone) * (active - 1) / (R - 1);
    seconds += (rows[i] * scale_ - done) * flops_per_row / rate;
    done = rows[i] * scale_;
  }
  return seconds;
}

Prediction CostModel::evaluate(const TrafficTally& tally) const {
  const ExchangeRules& rules = strategy_->rules;
  const int R = ranks();
  const double hidden_bytes = static_cast<double>(model_.hidden) * sizeof(float);
  const double dispatch_row_bytes =
      static_cast<double>(rules.dispatch_row_floats(model_.hidden, model_.top_k)) * sizeof(float);
  // What travels: the rows in the payload type (fp32: the floats themselves).
  const double dispatch_wire_bytes =
      static_cast<double>(rules.dispatch_format(model_.hidden, model_.top_k, dtype_).row_bytes());
  const double combine_wire_bytes =
      static_cast<double>(ExchangeRules::combine_format(model_.hidden, dtype_).row_bytes());
  const bool encoded = dtype_ != PayloadType::kFp32;
  // Variable-size exchanges first all2all their row counts; fixed-size ones do not.
  const double counts_latency =
      rules.exchanges_counts() ? std::max(cluster_.intra.latency_s,
                                          cluster_.nodes() > 1 ? cluster_.inter.latency_s : 0.0)
                               : 0.0;
  const double tokens = static_cast<double>(tokens_per_rank_);
  const double pairs = tokens * model_.top_k;
  const double flops_per_row = 6.0 * model_.hidden * model_.ffn;
  // Every rank runs its E/R experts' GEMMs (a balanced placement), each paying the fixed part once
  // per token chunk.
  const double expert_calls_seconds =
      static_cast<double>(model_.experts / R) * cluster_.rates.expert_call_s * overlap_;
  const double shared_seconds =
      tokens * 6.0 * model_.hidden * model_.shared_ffn / cluster_.rates.expert_flops_per_s;

  const double scatter_Bps =
      cluster_.rates.scatter_Bps > 0 ? cluster_.rates.scatter_Bps : cluster_.rates.copy_Bps;

  Prediction p;
  p.time.expert = expert_phase_seconds(tally.expert_rows) + expert_calls_seconds + shared_seconds;
  std::vector<double> dispatch_rank(R), combine_rank(R);
  const std::vector<ExchangeParts> dispatch_parts =
      exchange_parts(tally.send_rows, tally.recv_rows, dispatch_wire_bytes);
  const std::vector<ExchangeParts> combine_parts =
      exchange_parts(tally.recv_rows, tally.send_rows, combine_wire_bytes);
  for (int r = 0; r < R; ++r) {
    // Pipelined: the interior chunks' inter-node transfers, (N-1)/N of both exchanges, hide
    // behind the interior chunks' expert compute, (N-1)/N of the rank's own.
    const double n = overlap_;
    const double inter = dispatch_parts[r].transfer[1] + combine_parts[r].transfer[1];
    const double rank_expert =
        tally.expert_rows[r] * scale_ * flops_per_row / cluster_.rates.expert_flops_per_s;
    const double uncovered = std::max(0.0, (inter - rank_expert) * (n - 1) / n);
    const double share = inter > 0 ? dispatch_parts[r].transfer[1] / inter : 0.0;
    dispatch_rank[r] = exposed_seconds(dispatch_parts[r], uncovered * share);
    combine_rank[r] = exposed_seconds(combine_parts[r], uncovered * (1 - share));
    p.time.dispatch = std::max(p.time.dispatch, dispatch_rank[r]);
    p.time.combine = std::max(p.time.combine, combine_rank[r]);
  }
  // Every chunk all2alls its row counts first (variable-size strategies).
  p.time.dispatch += overlap_ * counts_latency;
  p.time.combine += counts_latency;
  p.time.gate = tokens * 2.0 * model_.hidden * router_experts_ / cluster_.rates.router_flops_per_s;
  double mean_rank_seconds = 0.0, rows_total = 0.0, rows_max = 0.0;
  for (int r = 0; r < R; ++r) {
    const double rows = tally.expert_rows[r] * scale_;
    const double sent = (tally.send_rows[2 * r] + tally.send_rows[2 * r + 1]) * scale_;
    const double expert = expert_calls_seconds +
                          rows * flops_per_row / cluster_.rates.expert_flops_per_s + shared_seconds;
    // Permute and unpermute: the strategy's own copy rules.
    const CopyBytes copies =
        rules.copy_bytes({tokens, pairs, sent, rows, dispatch_row_bytes, hidden_bytes});
    double permute_bytes = copies.permute;
    double unpermute_bytes = copies.unpermute;
    if (encoded) {
      // The CPU packs floats, then encodes them (read floats, write the wire rows); the receiver
      // decodes before it reads. Permute: the dispatch rows both ways; unpermute: the combine
      // rows.
      const double received = rows;  // at most: rows its experts compute
      permute_bytes += (sent + received) * (dispatch_row_bytes + dispatch_wire_bytes);
      unpermute_bytes += (received + sent) * (hidden_bytes + combine_wire_bytes);
    }
    if (model_.shared_ffn > 0) unpermute_bytes += tokens * hidden_bytes;
    p.time.permute = std::max(p.time.permute, permute_bytes / cluster_.rates.copy_Bps);
    p.time.unpermute = std::max(p.time.unpermute, unpermute_bytes / scatter_Bps);
    mean_rank_seconds += (dispatch_rank[r] + expert + combine_rank[r]) / R;
    rows_total += rows;
    rows_max = std::max(rows_max, rows);
  }
  p.remote_bytes = tally.remote_rows * scale_ * (dispatch_wire_bytes + combine_wire_bytes);
  p.rank_imbalance = rows_total > 0 ? rows_max / (rows_total / R) : 0.0;
  p.objective = p.time.layer() + 1e-3 * mean_rank_seconds;
  return p;
}

Prediction CostModel::predict_capacity_slots(const RoutingSample& sample) const {
  const int R = ranks();
  const int E = model_.experts;
  const int k = model_.top_k;
  // Pairs per (source rank, expert), scaled to the deployment's tokens.
  std::vector<double> pairs_from(static_cast<size_t>(R) * E, 0.0);
  const int64_t used = tokens_per_source_ * R;
  for (int64_t t = 0; t < used; ++t) {
    for (int j = 0; j < k; ++j) pairs_from[source_rank(t) * E + sample.expert_ids[t * k + j]] += 1;
  }
  // A pipelined layer sizes each token chunk's capacity on its own, and drops within the chunk:
  // a chunk gets its share of each (source, expert)'s pairs.
  int64_t capacity = 0;
  double dropped = 0.0;
  for (int c = 0; c < overlap_; ++c) {
    const int64_t chunk_tokens = token_chunk(tokens_per_rank_, overlap_, c).count;
    const int64_t chunk_capacity = padded_capacity(capacity_factor_, chunk_tokens, k, E);
    const double share = static_cast<double>(chunk_tokens) / tokens_per_rank_;
    for (double pairs : pairs_from)
      dropped += std::max(0.0, pairs * scale_ * share - chunk_capacity);
    capacity += chunk_capacity;
  }

  // Every (source, expert) sends `capacity` rows, used or not: the same rows to every rank.
  TrafficTally tally(R);
  const double slots = static_cast<double>(capacity) * (E / R) / scale_;  // at sample scale
  for (int s = 0; s < R; ++s) {
    for (int d = 0; d < R; ++d) {
      tally_rows(tally, s, d, slots);
      tally.expert_rows[d] += slots;
    }
  }
  // Slots are computed in full, padding included; the placement changes nothing.
  Prediction p = evaluate(tally);
  p.dropped_fraction = dropped / (static_cast<double>(tokens_per_rank_) * R * k);
  return p;
}

Prediction CostModel::predict(const RoutingSample& sample,
                              const std::vector<int>& expert_rank) const {
  C2R_CHECK(sample.experts == model_.experts && sample.top_k == model_.top_k,
            "the routing sample does not match the model");
  C2R_CHECK(static_cast<int>(expert_rank.size()) == model_.experts,
            "the placement does not match the model's experts");
  if (strategy_->rules.capacity_limited()) return predict_capacity_slots(sample);
  TrafficTally tally(ranks());
  const int64_t used = tokens_per_source_ * ranks();
  for (int64_t t = 0; t < used; ++t) {
    tally_token(tally, source_rank(t), &sample.expert_ids[t * model_.top_k], expert_rank, 1.0);
  }
  return evaluate(tally);
}

Prediction CostModel::predict(const RoutingSample& sample, const Placement& placement) const {
  if (!placement.replicated()) return predict(sample, placement.expert_rank());
  C2R_CHECK(sample.experts == model_.experts && placement.experts() == model_.experts &&
                placement.ranks() == ranks(),
            "the placement does not match the model's experts and the cluster's ranks");
  // Each rank's block of the sample routes its pairs to slots as `run` does on that rank.
  const int k = model_.top_k;
  const int64_t block_pairs = tokens_per_source_ * k;
  RoutingSample slots{placement.slots(), k, std::vector<int32_t>(block_pairs * ranks())};
  for (int s = 0; s < ranks(); ++s) {
    placement.route_to_slots(&sample.expert_ids[s * block_pairs], block_pairs, s,
                             &slots.expert_ids[s * block_pairs]);
  }
  CostModel slot_model = *this;
  slot_model.model_.experts = placement.slots();
  return slot_model.predict(slots, placement.slot_placement().expert_rank());
}

}  // namespace c2r
