#include "model/workload.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace c2r {

nlohmann::json WorkloadSpec::to_json() const {
  nlohmann::json j = {{"kind", to_string(kind)},
                      {"seed", seed},
                      {"groups", groups},
                      {"cluster_strength", cluster_strength}};
  if (kind == WorkloadKind::kHot) j["hot_experts"] = hot_experts;
  if (kind == WorkloadKind::kTrace && !trace_file.empty()) j["trace"] = trace_file;
  return j;
}

WorkloadKind parse_workload(const std::string& name) {
  if (name == "random") return WorkloadKind::kRandom;
  if (name == "clustered") return WorkloadKind::kClustered;
  if (name == "trace") return WorkloadKind::kTrace;
  if (name == "hot") return WorkloadKind::kHot;
  throw Error("unknown workload '" + name + "' (known: random, clustered, trace, hot)");
}

std::string to_string(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kRandom:
      return "random";
    case WorkloadKind::kClustered:
      return "clustered";
    case WorkloadKind::kTrace:
      return "trace";
    case WorkloadKind::kHot:
      return "hot";
  }
  return "?";
}

namespace {

void fill_normal(Rng& rng, float* out, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(rng.normal()) * scale;
}

std::vector<float> shared_gate(const ModelConfig& model, uint64_t seed, int layer) {
  std::vector<float> w;
  if (model.shared_ffn == 0) return w;
  w.resize(model.hidden);
  Rng rng(seed, Stream::kSharedGate, 0, layer);
  fill_normal(rng, w.data(), model.hidden, 1.0f / std::sqrt(static_cast<float>(model.hidden)));
  return w;
}

// A batch with its buffers sized and the shared-expert gate (if any) drawn.
TokenBatch empty_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                       int64_t first_token, int64_t tokens) {
  TokenBatch batch;
  batch.first_token = first_token;
  batch.tokens = tokens;
  batch.x.resize(tokens * model.hidden);
  batch.w_router.resize(static_cast<size_t>(model.hidden) * model.experts);
  batch.w_shared_gate = shared_gate(model, spec.seed, layer);
  return batch;
}

int effective_groups(const ModelConfig& model, const WorkloadSpec& spec) {
  int groups = spec.groups > 0 ? spec.groups : std::max(1, model.experts / model.top_k);
  C2R_CHECK(
      groups <= model.experts,
      "clustered workload: " << groups << " groups exceed the number of experts " << model.experts);
  return groups;
}

}  // namespace

std::vector<int> clustered_expert_groups(int experts, int groups, uint64_t seed, int layer) {
  std::vector<int> order(experts);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, Stream::kGroupOfExpert, 0, layer);
  for (int i = experts - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  std::vector<int> group(experts);
  for (int pos = 0; pos < experts; ++pos) group[order[pos]] = pos % groups;
  return group;
}

TokenBatch make_synthetic_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                                int64_t first_token, int64_t tokens) {
  const int hidden = model.hidden;
  const int experts = model.experts;
  TokenBatch batch = empty_batch(model, spec, layer, first_token, tokens);
  const float inv_sqrt_h = 1.0f / std::sqrt(static_cast<float>(hidden));

  // Router columns: w_e = n_e / sqrt(H) (+ a pull towards the expert's group centre).
  // clustered: G centres, experts assigned to groups, each token in one group.
  // hot: one centre that every token leans towards, pulling only experts [0, hot_experts).
  std::vector<float> column(hidden);
  const bool clustered = spec.kind == WorkloadKind::kClustered;
  const bool hot = spec.kind == WorkloadKind::kHot;
  const int groups = clustered ? effective_groups(model, spec) : 1;
  std::vector<std::vector<float>> centres;
  if (clustered || hot) {
    for (int g = 0; g < groups; ++g) {
      centres.emplace_back(hidden);
      Rng rng(spec.seed, Stream::kGroupCenter, g, layer);
      fill_normal(rng, centres.back().data(), hidden, 1.0f);
    }
  }
  if (hot) {
    C2R_CHECK(
        spec.hot_experts >= 1 && spec.hot_experts <= experts,
        "hot workload: the hot experts must be between 1 and the number of experts " << experts);
  }
  const std::vector<int> expert_group =
      clustered ? clustered_expert_groups(experts, groups, spec.seed, layer) : std::vector<int>();
  // With x = (z + c_g) / sqrt(2) and w_e = (n_e + s*sqrt(2/H) * c_group(e)) / sqrt(H), a token's
  // logit for an expert of its own group gains s * |c|^2 / H ~ s standard deviations.
  const double strength = hot ? kHotStrength : spec.cluster_strength;
  const float pull = static_cast<float>(strength) * std::sqrt(2.0f) * inv_sqrt_h;
  for (int e = 0; e < experts; ++e) {
    Rng rng(spec.seed, Stream::kRouter, e, layer);
    fill_normal(rng, column.data(), hidden, 1.0f);
    const std::vector<float>* centre = clustered                     ? &centres[expert_group[e]]
                                       : hot && e < spec.hot_experts ? &centres[0]
                                                                     : nullptr;
    for (int h = 0; h < hidden; ++h) {
      float v = column[h];
      if (centre) v += pull * (*centre)[h];
      batch.w_router[static_cast<size_t>(h) * experts + e] = v * inv_sqrt_h;
    }
  }
  const float half = 1.0f / std::sqrt(2.0f);
  for (int64_t t = 0; t < tokens; ++t) {
    const uint64_t g = static_cast<uint64_t>(first_token + t);
    Rng rng(spec.seed, Stream::kHidden, g, layer);
    float* x = &batch.x[t * hidden];
    fill_normal(rng, x, hidden, 1.0f);
    if (clustered || hot) {
      Rng pick(spec.seed, Stream::kGroupOfToken, g, layer);
      const std::vector<float>& c = centres[pick.below(groups)];
      for (int h = 0; h < hidden; ++h) x[h] = (x[h] + c[h]) * half;
    }
  }
  return batch;
}

namespace {

// Orthonormal columns Q [hidden x experts] by Gram-Schmidt on seeded Gaussian vectors.
std::vector<double> orthonormal_columns(int hidden, int experts, uint64_t seed, int layer) {
  C2R_CHECK(hidden >= experts,
            "the trace workload needs hidden >= experts (one router direction "
            "per expert; hidden "
                << hidden << ", " << experts << " experts)");
  std::vector<double> q(static_cast<size_t>(experts) * hidden);  // column-major: q[e*H + h]
  for (int e = 0; e < experts; ++e) {
    Rng rng(seed, Stream::kRouter, e, layer);
    double* col = &q[static_cast<size_t>(e) * hidden];
    for (int h = 0; h < hidden; ++h) col[h] = rng.normal();
    for (int pass = 0; pass < 2; ++pass) {
      for (int prev = 0; prev < e; ++prev) {
        const double* p = &q[static_cast<size_t>(prev) * hidden];
        double dot = 0.0;
        for (int h = 0; h < hidden; ++h) dot += col[h] * p[h];
        for (int h = 0; h < hidden; ++h) col[h] -= dot * p[h];
      }
    }
    double norm = 0.0;
    for (int h = 0; h < hidden; ++h) norm += col[h] * col[h];
    norm = std::sqrt(norm);
    for (int h = 0; h < hidden; ++h) col[h] /= norm;
  }
  return q;
}

bool in_top_t(const CollaborativeList& list, int first, int second, int top_t) {
  const std::vector<int> allowed = list.top_t(first, top_t);
  return std::find(allowed.begin(), allowed.end(), second) != allowed.end();
}

}  // namespace

std::vector<int32_t> sample_trace_pairs(const ModelConfig& model, const WorkloadSpec& spec,
                                        int layer, const CollaborationMatrix& pairs,
                                        const CollaborativeList* c2r_list, int top_t,
                                        int64_t first_token, int64_t tokens) {
  const int experts = model.experts;
  C2R_CHECK(model.top_k == 2, "the pair trace needs top-k 2 (the model has " << model.top_k << ")");
  C2R_CHECK(pairs.experts == experts,
            "the trace data has " << pairs.experts << " experts, the model has " << experts);
  // Cumulative weights over the upper triangle i < j.
  std::vector<std::pair<int, int>> pair_of;
  std::vector<double> cumulative;
  double total = 0.0;
  for (int i = 0; i < experts; ++i) {
    for (int j = i + 1; j < experts; ++j) {
      if (pairs.at(i, j) <= 0.0) continue;
      total += pairs.at(i, j);
      pair_of.emplace_back(i, j);
      cumulative.push_back(total);
    }
  }
  C2R_CHECK(total > 0.0, "the trace matrix of layer " << layer << " is empty");

  std::vector<int32_t> trace_pair(tokens * 2);
  for (int64_t t = 0; t < tokens; ++t) {
    const uint64_t g = static_cast<uint64_t>(first_token + t);
    Rng draw(spec.seed, Stream::kTracePair, g, layer);
    const double u = draw.uniform() * total;
    const size_t which =
        std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
    auto [a, b] = pair_of[std::min(which, pair_of.size() - 1)];
    bool swap = draw.uniform() < 0.5;
    if (c2r_list) {
      const bool a_first = in_top_t(*c2r_list, a, b, top_t);
      const bool b_first = in_top_t(*c2r_list, b, a, top_t);
      if (a_first != b_first) swap = b_first;
    }
    if (swap) std::swap(a, b);
    trace_pair[t * 2] = a;
    trace_pair[t * 2 + 1] = b;
  }
  return trace_pair;
}

TokenBatch make_trace_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                            const CollaborationMatrix& pairs, const CollaborativeList* c2r_list,
                            int top_t, int64_t first_token, int64_t tokens) {
  std::vector<int32_t> pair =
      sample_trace_pairs(model, spec, layer, pairs, c2r_list, top_t, first_token, tokens);
  TokenBatch batch = make_designed_batch(model, spec, layer, pair, first_token, tokens);
  batch.trace_pair = std::move(pair);
  return batch;
}

TokenBatch make_designed_batch(const ModelConfig& model, const WorkloadSpec& spec, int layer,
                               std::vector<int32_t> experts, int64_t first_token, int64_t tokens) {
  const int hidden = model.hidden;
  const int num_experts = model.experts;
  const int k = model.top_k;
  C2R_CHECK(static_cast<int64_t>(experts.size()) == tokens * k,
            "designed routing: " << experts.size() << " expert ids for " << tokens
                                 << " tokens of top-" << k);
  for (int32_t e : experts) {
    C2R_CHECK(e >= 0 && e < num_experts,
              "designed routing: expert " << e << " is not one of the model's " << num_experts);
  }
  TokenBatch batch = empty_batch(model, spec, layer, first_token, tokens);
  batch.trace_experts = std::move(experts);

  const std::vector<double> q = orthonormal_columns(hidden, num_experts, spec.seed, layer);
  for (int e = 0; e < num_experts; ++e) {
    for (int h = 0; h < hidden; ++h) {
      batch.w_router[static_cast<size_t>(h) * num_experts + e] =
          static_cast<float>(q[static_cast<size_t>(e) * hidden + h]);
    }
  }

  std::vector<double> z(hidden), logit(num_experts);
  for (int64_t t = 0; t < tokens; ++t) {
    const uint64_t g = static_cast<uint64_t>(first_token + t);
    const int32_t* chosen = &batch.trace_experts[t * k];

    // Designed logits: each chosen expert leads the next by >= 0.5, the last leads every other
    // expert by >= 0.5. Drawn last to first, so a pair (k = 2) gets the values it always had.
    Rng rng(spec.seed, Stream::kTraceLogit, g, layer);
    for (int e = 0; e < num_experts; ++e) logit[e] = std::min(0.5 * rng.normal(), 1.5);
    logit[chosen[k - 1]] = 2.0 + 0.5 * rng.uniform();
    for (int j = k - 2; j >= 0; --j) logit[chosen[j]] = logit[chosen[j + 1]] + 0.5 + rng.uniform();

    // x = z - Q Q^T z + Q logit, so x * Q = logit exactly (up to rounding).
    Rng hidden_rng(spec.seed, Stream::kHidden, g, layer);
    for (int h = 0; h < hidden; ++h) z[h] = hidden_rng.normal();
    for (int e = 0; e < num_experts; ++e) {
      const double* col = &q[static_cast<size_t>(e) * hidden];
      double dot = 0.0;
      for (int h = 0; h < hidden; ++h) dot += z[h] * col[h];
      const double shift = logit[e] - dot;
      for (int h = 0; h < hidden; ++h) z[h] += shift * col[h];
    }
    float* x = &batch.x[t * hidden];
    for (int h = 0; h < hidden; ++h) x[h] = static_cast<float>(z[h]);
  }
  return batch;
}

int64_t count_trace_matches(const TokenBatch& batch, const std::vector<int32_t>& expert_ids,
                            int top_k) {
  int64_t matched = 0;
  for (int64_t t = 0; t < batch.tokens; ++t) {
    matched += std::equal(expert_ids.begin() + t * top_k, expert_ids.begin() + (t + 1) * top_k,
                          batch.trace_experts.begin() + t * top_k);
  }
  return matched;
}

}  // namespace c2r
