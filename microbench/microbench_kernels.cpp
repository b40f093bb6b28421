// clang-format off
// NAME     c2rbench_kernels - node-local microbenchmarks of the CPU MoE kernels
// PURPOSE  Times, on one core, the kernels one MoE layer runs between its exchanges:
//            gate/<preset>/<routing>    router GEMM + expert selection, 2048 tokens
//            select/<preset>/<routing>  the selection alone (the GEMM hides C2R's extra work)
//            permute/pack               bucket order by expert + row gather, 2048 tokens x k=2
//            permute/unpermute          gate-weighted sum of the k returned rows of every token
//            ffn/grouped                SwiGLU FFN over 4 experts, seeded uneven groups, 1024 rows
//            ffn/dense                  the same GEMMs on the same rows, one weight set (ceiling)
//          at the llama-moe-3.5b (E=8, k=2, H=4096, F=1376, T=1) and qwen1.5-moe-a2.7b
//          (E=60, k=4, H=2048, T=30) presets; routing is `vanilla` (top-k) or `c2r`.
// USAGE    c2rbench_kernels [--benchmark_filter=REGEX] [--benchmark_format=console|json|csv]
//                           [--benchmark_out=FILE [--benchmark_out_format=json]]
//                           [--benchmark_repetitions=N] [--benchmark_list_tests]
// NOTES    Google Benchmark picks iteration counts adaptively per process, so this binary runs no
//          MPI collectives (and never initialises MPI); the MoE layer itself is timed by
//          `c2rbench run` with fixed iterations. One BLAS thread: numbers are per core.
//          Inputs are seeded (seed 7, the named streams of common/rng.hpp), never zeros. Each
//          benchmark builds its inputs on its first run, runs the kernel once and checks the
//          result against a reference or a closed form before any timing; a failed check skips
//          that benchmark with ERROR OCCURRED and makes the exit status 1.
//          Rates: gate/select items = tokens; permute bytes = the pairs' rows read (pairs x H x 4
//          B; the console prints them in binary units, the JSON in B/s); ffn items = rows and
//          GFLOPS = GEMM FLOPs (FfnWeights::flops_per_row, SwiGLU activation not counted) / 1e9 /
//          s.
// clang-format on

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/rng.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/gating.hpp"
#include "kernels/cpu/permute.hpp"
#include "model/collaboration.hpp"
#include "model/model_config.hpp"

namespace c2r {
namespace {

constexpr uint64_t kSeed = 7;
constexpr int64_t kTokens = 2048;    // gate and permute batch
constexpr int64_t kFfnRows = 1024;   // rows through the expert FFN, all groups together
constexpr int kFfnExperts = 4;       // groups in ffn/grouped
constexpr double kMinTime = 0.2;     // seconds per benchmark
constexpr double kFfnMinTime = 0.5;  // an FFN iteration is ~0.3 s: take a few of them
const char* const kLlama = "llama-moe-3.5b";
const char* const kQwen = "qwen1.5-moe-a2.7b";

// ---------------------------------------------------------------------------------------------
// Inputs built and checked once per benchmark.

// Input sets whose check failed (or that could not be built); main exits 1 when non-zero.
struct Checks {
  int failed = 0;
};

// Inputs a benchmark builds on its first run and keeps for the rest: Google Benchmark calls a
// benchmark function once per trial iteration count, and drawing 4 experts' weights
// (4 x 17 M normals) takes a while.
// T has a `std::string wrong`: the first failed check, empty when the kernel's output was right.
template <typename T>
class Built {
 public:
  explicit Built(std::function<void(T&)> build) : build_(std::move(build)) {}

  // The inputs, or null (the benchmark then skipped with the error) when building or checking
  // them failed.
  T* get(benchmark::State& state, Checks& checks) {
    if (!tried_) {
      tried_ = true;
      try {
        value_ = std::make_unique<T>();
        build_(*value_);
        error_ = value_->wrong;
      } catch (const std::exception& e) {
        error_ = e.what();
      }
      if (!error_.empty()) ++checks.failed;
    }
    if (!error_.empty()) {
      state.SkipWithError(error_.c_str());
      return nullptr;
    }
    return value_.get();
  }

 private:
  std::function<void(T&)> build_;
  std::unique_ptr<T> value_;
  bool tried_ = false;
  std::string error_;
};

std::vector<float> normals(size_t n, Stream stream, uint64_t index, float scale) {
  std::vector<float> v(n);
  Rng rng(kSeed, stream, index);
  for (auto& x : v) x = static_cast<float>(rng.normal()) * scale;
  return v;
}

// ||a - b|| / ||b|| over n values.
double relative_error(const float* a, const double* b, size_t n) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

template <typename... Parts>
std::string text(const Parts&... parts) {
  std::ostringstream out;
  out.precision(9);
  (out << ... << parts);
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// Gate: router_logits + select_experts.

struct GateCase {
  ModelConfig model;
  RoutingMode mode = RoutingMode::kVanilla;
  CollaborativeList list;  // C2R only
  GateSpec spec;
  std::vector<float> x;             // [tokens x hidden]
  std::vector<float> w_router;      // [hidden x experts]
  std::vector<float> logits;        // [tokens x experts]
  std::vector<int32_t> expert_ids;  // [tokens x top_k]
  std::vector<float> weights;       // [tokens x top_k]
  std::string wrong;
};

// A random symmetric co-activation matrix: what C2R's Top-T lists are read from.
CollaborationMatrix random_collaboration(int experts) {
  CollaborationMatrix m(experts);
  Rng rng(kSeed, Stream::kRouter, 1);
  for (int i = 0; i < experts; ++i) {
    for (int j = 0; j < i; ++j) m.at(i, j) = m.at(j, i) = static_cast<double>(rng.below(1000));
  }
  return m;
}

// a outranks b: higher logit, or the same logit and a lower id (the kernel's documented order).
bool outranks(const float* logit, int a, int b) {
  return logit[a] > logit[b] || (logit[a] == logit[b] && a < b);
}

// Router logits of a few tokens against double sums, then every token's experts and weights
// against a sort of its candidates.
std::string check_gate(const GateCase& c) {
  const int hidden = c.model.hidden, experts = c.model.experts, k = c.model.top_k;
  for (int64_t t : {int64_t{0}, kTokens / 3, 2 * kTokens / 3, kTokens - 1}) {
    for (int e = 0; e < experts; ++e) {
      double sum = 0.0, magnitude = 0.0;
      for (int h = 0; h < hidden; ++h) {
        const double term = static_cast<double>(c.x[t * hidden + h]) * c.w_router[h * experts + e];
        sum += term;
        magnitude += std::abs(term);
      }
      if (std::abs(c.logits[t * experts + e] - sum) > 1e-4 * magnitude + 1e-6)
        return text("router_logits: token ", t, " expert ", e, ": ", c.logits[t * experts + e],
                    ", expected ", sum);
    }
  }
  std::vector<int> candidates, expected;
  for (int64_t t = 0; t < kTokens; ++t) {
    const float* logit = &c.logits[t * experts];
    const auto by_rank = [&](int a, int b) { return outranks(logit, a, b); };
    expected.clear();
    candidates.clear();
    if (c.mode == RoutingMode::kVanilla) {
      for (int e = 0; e < experts; ++e) candidates.push_back(e);
    } else {
      int first = 0;
      for (int e = 1; e < experts; ++e) {
        if (outranks(logit, e, first)) first = e;
      }
      expected.push_back(first);
      candidates = c.list.top_t(first, c.spec.top_t);
    }
    std::sort(candidates.begin(), candidates.end(), by_rank);
    for (int e : candidates) {
      if (static_cast<int>(expected.size()) < k) expected.push_back(e);
    }
    const double top = logit[expected[0]];
    double denominator = 0.0;
    if (c.model.gate_weights == GateWeights::kSoftmaxOverChosen) {
      for (int e : expected) denominator += std::exp(logit[e] - top);
    } else {
      for (int e = 0; e < experts; ++e) denominator += std::exp(logit[e] - top);
    }
    for (int j = 0; j < k; ++j) {
      if (c.expert_ids[t * k + j] != expected[j])
        return text("select_experts: token ", t, " choice ", j, ": expert ",
                    c.expert_ids[t * k + j], ", expected ", expected[j]);
      const double weight = std::exp(logit[expected[j]] - top) / denominator;
      if (std::abs(c.weights[t * k + j] - weight) > 1e-5 * weight)
        return text("select_experts: token ", t, " weight ", j, ": ", c.weights[t * k + j],
                    ", expected ", weight);
    }
  }
  return "";
}

void build_gate(GateCase& c, const std::string& preset, RoutingMode mode) {
  c.model = make_model(preset, {});
  c.mode = mode;
  const ModelConfig& m = c.model;
  if (mode == RoutingMode::kVanilla) {
    c.spec = GateSpec::vanilla(m.experts, m.top_k, m.gate_weights);
  } else {
    c.list = collaborative_list_from(random_collaboration(m.experts));
    c.spec = GateSpec::c2r(m.experts, m.top_k, m.default_top_t, m.gate_weights, c.list);
  }
  c.x = normals(kTokens * m.hidden, Stream::kHidden, 0, 1.0f);
  // N(0, 1/H) router weights give O(1) logits, as a trained router does.
  c.w_router = normals(static_cast<size_t>(m.hidden) * m.experts, Stream::kRouter, 0,
                       1.0f / std::sqrt(static_cast<float>(m.hidden)));
  c.logits.resize(kTokens * m.experts);
  c.expert_ids.resize(kTokens * m.top_k);
  c.weights.resize(kTokens * m.top_k);
  router_logits(c.x.data(), kTokens, m.hidden, c.w_router.data(), m.experts, c.logits.data());
  select_experts(c.logits.data(), kTokens, c.spec, c.expert_ids.data(), c.weights.data());
  c.wrong = check_gate(c);
}

std::string gate_label(const GateCase& c) {
  const ModelConfig& m = c.model;
  std::string label = text("E=", m.experts, " k=", m.top_k, " H=", m.hidden);
  if (c.mode == RoutingMode::kC2R) label += text(" T=", c.spec.top_t);
  return label + text(" tokens=", kTokens);
}

void run_gate(benchmark::State& state, Built<GateCase>& built, Checks& checks, bool with_router) {
  GateCase* c = built.get(state, checks);
  if (!c) return;
  const ModelConfig& m = c->model;
  for (auto _ : state) {
    if (with_router)
      router_logits(c->x.data(), kTokens, m.hidden, c->w_router.data(), m.experts,
                    c->logits.data());
    select_experts(c->logits.data(), kTokens, c->spec, c->expert_ids.data(), c->weights.data());
    benchmark::DoNotOptimize(c->expert_ids.data());
    benchmark::DoNotOptimize(c->weights.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kTokens);
  state.SetLabel(gate_label(*c));
}

// ---------------------------------------------------------------------------------------------
// Permute: the pack step (bucket order + gather) and the weighted unpermute, llama shape.

struct RowCase {
  int experts = 0, top_k = 0, hidden = 0;
  int64_t pairs = 0;
  std::vector<float> x;                 // [tokens x hidden]
  std::vector<int32_t> expert_of_pair;  // [tokens x top_k]: the bucket key of (token, choice)
  std::vector<float> gate_weight;       // [tokens x top_k]
  std::vector<int64_t> offsets;         // [experts + 1]: first packed row of each expert
  std::vector<int64_t> pair_order;      // [pairs]: the pair each packed row holds
  std::vector<int64_t> source_row;      // [pairs]: the token row each packed row is copied from
  std::vector<int64_t> row_of_pair;     // [pairs]: the packed row of each pair
  std::vector<float> packed;            // [pairs x hidden]
  std::vector<float> y;                 // [tokens x hidden]
  std::string wrong;
};

// What a strategy's pack does before the dispatch (as in collectives/dropless.cpp).
void pack(RowCase& c) {
  stable_bucket_order(c.expert_of_pair.data(), c.pairs, c.experts, c.offsets.data(),
                      c.pair_order.data());
  for (int64_t row = 0; row < c.pairs; ++row) {
    const int64_t p = c.pair_order[row];
    c.source_row[row] = p / c.top_k;
    c.row_of_pair[p] = row;
  }
  gather_rows(c.x.data(), c.hidden, c.source_row.data(), c.pairs, c.hidden, c.packed.data(),
              c.hidden);
}

void unpermute(RowCase& c) {
  weighted_unpermute(c.packed.data(), c.hidden, c.row_of_pair.data(), c.gate_weight.data(), kTokens,
                     c.top_k, c.hidden, c.y.data());
}

// The packed rows come straight back (an identity expert), so y[t] = (sum_j w_tj) * x[t].
std::string check_rows(const RowCase& c) {
  if (c.offsets[0] != 0 || c.offsets[c.experts] != c.pairs)
    return text("stable_bucket_order: offsets span [", c.offsets[0], ", ", c.offsets[c.experts],
                "), expected [0, ", c.pairs, ")");
  for (int e = 0; e < c.experts; ++e) {
    for (int64_t row = c.offsets[e]; row < c.offsets[e + 1]; ++row) {
      const int64_t p = c.pair_order[row];
      if (c.expert_of_pair[p] != e || (row > c.offsets[e] && p <= c.pair_order[row - 1]))
        return text("stable_bucket_order: packed row ", row, " holds pair ", p, " of expert ",
                    c.expert_of_pair[p], " in bucket ", e, " (out of bucket or out of order)");
    }
  }
  const size_t row_bytes = static_cast<size_t>(c.hidden) * sizeof(float);
  for (int64_t row = 0; row < c.pairs; ++row) {
    if (std::memcmp(&c.packed[row * c.hidden], &c.x[c.source_row[row] * c.hidden], row_bytes) != 0)
      return text("gather_rows: packed row ", row, " is not token row ", c.source_row[row]);
  }
  for (int64_t t = 0; t < kTokens; ++t) {
    double weight_sum = 0.0, weight_magnitude = 0.0;
    for (int j = 0; j < c.top_k; ++j) {
      weight_sum += c.gate_weight[t * c.top_k + j];
      weight_magnitude += std::abs(c.gate_weight[t * c.top_k + j]);
    }
    for (int h = 0; h < c.hidden; ++h) {
      const double x = c.x[t * c.hidden + h];
      if (std::abs(c.y[t * c.hidden + h] - weight_sum * x) > 1e-6 * weight_magnitude * std::abs(x))
        return text("weighted_unpermute: token ", t, " column ", h, ": ", c.y[t * c.hidden + h],
                    ", expected ", weight_sum * x);
    }
  }
  return "";
}

void build_rows(RowCase& c) {
  const ModelConfig m = make_model(kLlama, {});
  c.experts = m.experts;
  c.top_k = m.top_k;
  c.hidden = m.hidden;
  c.pairs = kTokens * m.top_k;
  c.x = normals(kTokens * m.hidden, Stream::kHidden, 0, 1.0f);
  // Route the tokens with the real gate so the buckets have a router's sizes.
  const auto w_router = normals(static_cast<size_t>(m.hidden) * m.experts, Stream::kRouter, 0,
                                1.0f / std::sqrt(static_cast<float>(m.hidden)));
  std::vector<float> logits(kTokens * m.experts);
  router_logits(c.x.data(), kTokens, m.hidden, w_router.data(), m.experts, logits.data());
  c.expert_of_pair.resize(c.pairs);
  c.gate_weight.resize(c.pairs);
  select_experts(logits.data(), kTokens, GateSpec::vanilla(m.experts, m.top_k, m.gate_weights),
                 c.expert_of_pair.data(), c.gate_weight.data());
  c.offsets.resize(m.experts + 1);
  c.pair_order.resize(c.pairs);
  c.source_row.resize(c.pairs);
  c.row_of_pair.resize(c.pairs);
  c.packed.resize(c.pairs * m.hidden);
  c.y.resize(kTokens * m.hidden);
  pack(c);
  unpermute(c);
  c.wrong = check_rows(c);
}

void run_rows(benchmark::State& state, Built<RowCase>& built, Checks& checks, bool is_pack) {
  RowCase* c = built.get(state, checks);
  if (!c) return;
  for (auto _ : state) {
    if (is_pack) {
      pack(*c);
      benchmark::DoNotOptimize(c->packed.data());
    } else {
      unpermute(*c);
      benchmark::DoNotOptimize(c->y.data());
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * c->pairs * c->hidden *
                          static_cast<int64_t>(sizeof(float)));
  state.SetLabel(text("H=", c->hidden, " rows=", c->pairs, " (", kTokens, " tokens x k=", c->top_k,
                      ", E=", c->experts, ")"));
}

// ---------------------------------------------------------------------------------------------
// Expert FFN: grouped SwiGLU over uneven groups, and dense GEMMs on the same rows as its ceiling.

struct FfnCase {
  bool dense = false;
  std::vector<FfnWeights> weights;  // one per group (ffn/dense: one)
  std::vector<int64_t> group_rows;  // [groups], summing to kFfnRows
  std::vector<float> x;             // [kFfnRows x hidden], group g's rows after group g-1's
  std::vector<float> out;           // [kFfnRows x hidden]
  std::vector<float> scratch;       // ffn_scratch_floats(ffn)
  std::vector<ExpertGroup> groups;
  std::string wrong;
};

// Seeded uneven shares of `rows` over `groups` (each share 0.25 .. 1.25 before normalising).
std::vector<int64_t> uneven_groups(int64_t rows, int groups) {
  Rng rng(kSeed, Stream::kExpert, 1000);
  std::vector<double> share(groups);
  double total = 0.0;
  for (auto& s : share) total += (s = 0.25 + rng.uniform());
  std::vector<int64_t> sizes(groups);
  int64_t assigned = 0;
  for (int g = 0; g + 1 < groups; ++g) assigned += sizes[g] = std::llround(rows * share[g] / total);
  sizes[groups - 1] = rows - assigned;
  return sizes;
}

// out row of the dense ceiling: (x * W_gate) * W_down, no activation, in double.
std::vector<double> dense_row_reference(const FfnWeights& w, const float* x) {
  std::vector<double> g(w.ffn, 0.0), out(w.hidden, 0.0);
  for (int h = 0; h < w.hidden; ++h) {
    const float* row = &w.gate_up[static_cast<size_t>(h) * 2 * w.ffn];
    for (int f = 0; f < w.ffn; ++f) g[f] += static_cast<double>(x[h]) * row[f];
  }
  for (int f = 0; f < w.ffn; ++f) {
    const float* row = &w.down[static_cast<size_t>(f) * w.hidden];
    for (int h = 0; h < w.hidden; ++h) out[h] += g[f] * row[h];
  }
  return out;
}

// The first and last row of every group against the naive loops.
std::string check_ffn(const FfnCase& c) {
  const int hidden = c.weights[0].hidden;
  std::vector<float> naive(hidden);
  std::vector<double> expected(hidden);
  int64_t begin = 0;
  for (size_t g = 0; g < c.group_rows.size(); ++g) {
    const int64_t end = begin + c.group_rows[g];
    for (int64_t r : {begin, end - 1}) {
      const float* x = &c.x[r * hidden];
      if (c.dense) {
        expected = dense_row_reference(c.weights[0], x);
      } else {
        swiglu_ffn_naive(c.weights[g], x, 1, naive.data());
        std::copy(naive.begin(), naive.end(), expected.begin());
      }
      const double error = relative_error(&c.out[r * hidden], expected.data(), hidden);
      if (!(error < 1e-4))
        return text(c.dense ? "dense_ffn_gemms" : "grouped_swiglu_ffn", ": row ", r, " (group ", g,
                    ") relative error ", error);
    }
    begin = end;
  }
  return "";
}

void run_ffn_once(FfnCase& c) {
  if (c.dense) {
    dense_ffn_gemms(c.weights[0], c.x.data(), kFfnRows, c.scratch.data(), c.out.data());
  } else {
    grouped_swiglu_ffn(c.groups, c.scratch.data());
  }
}

void build_ffn(FfnCase& c, bool dense) {
  const ModelConfig m = make_model(kLlama, {});
  c.dense = dense;
  c.group_rows = uneven_groups(kFfnRows, kFfnExperts);
  for (int e = 0; e < (dense ? 1 : kFfnExperts); ++e)
    c.weights.push_back(make_ffn_weights(kSeed, Stream::kExpert, e, m.hidden, m.ffn));
  c.x = normals(kFfnRows * m.hidden, Stream::kHidden, 1, 1.0f);
  c.out.resize(kFfnRows * m.hidden);
  c.scratch.resize(ffn_scratch_floats(m.ffn));
  if (!dense) {
    int64_t begin = 0;
    for (int e = 0; e < kFfnExperts; ++e) {
      ExpertGroup group;
      group.weights = &c.weights[e];
      group.blocks.push_back(RowBlock{&c.x[begin * m.hidden], m.hidden, &c.out[begin * m.hidden],
                                      m.hidden, c.group_rows[e]});
      c.groups.push_back(group);
      begin += c.group_rows[e];
    }
  }
  run_ffn_once(c);
  c.wrong = check_ffn(c);
}

void run_ffn(benchmark::State& state, Built<FfnCase>& built, Checks& checks) {
  FfnCase* c = built.get(state, checks);
  if (!c) return;
  for (auto _ : state) {
    run_ffn_once(*c);
    benchmark::DoNotOptimize(c->out.data());
    benchmark::ClobberMemory();
  }
  const FfnWeights& w = c->weights[0];
  state.SetItemsProcessed(state.iterations() * kFfnRows);
  state.counters["GFLOPS"] =
      benchmark::Counter(static_cast<double>(kFfnRows) * w.flops_per_row() * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
  std::string groups;
  for (int64_t rows : c->group_rows) groups += (groups.empty() ? "" : "+") + std::to_string(rows);
  state.SetLabel(
      text("H=", w.hidden, " F=", w.ffn, " rows=", c->dense ? std::to_string(kFfnRows) : groups));
}

// ---------------------------------------------------------------------------------------------
// Registration.

// Every benchmark's inputs; they live in main, so no benchmark state is global.
struct Suite {
  Checks checks;
  Built<GateCase> gate_llama{[](GateCase& c) { build_gate(c, kLlama, RoutingMode::kVanilla); }};
  Built<GateCase> gate_llama_c2r{[](GateCase& c) { build_gate(c, kLlama, RoutingMode::kC2R); }};
  Built<GateCase> gate_qwen{[](GateCase& c) { build_gate(c, kQwen, RoutingMode::kVanilla); }};
  Built<GateCase> gate_qwen_c2r{[](GateCase& c) { build_gate(c, kQwen, RoutingMode::kC2R); }};
  Built<RowCase> rows{build_rows};
  Built<FfnCase> ffn_grouped{[](FfnCase& c) { build_ffn(c, /*dense=*/false); }};
  Built<FfnCase> ffn_dense{[](FfnCase& c) { build_ffn(c, /*dense=*/true); }};
};

void register_benchmarks(Suite& s) {
  const struct {
    const char* preset;
    const char* routing;
    Built<GateCase>* built;
  } gates[] = {{kLlama, "vanilla", &s.gate_llama},
               {kLlama, "c2r", &s.gate_llama_c2r},
               {kQwen, "vanilla", &s.gate_qwen},
               {kQwen, "c2r", &s.gate_qwen_c2r}};
  for (const auto& g : gates) {
    for (bool with_router : {true, false}) {
      const std::string name = text(with_router ? "gate/" : "select/", g.preset, "/", g.routing);
      Built<GateCase>* built = g.built;
      benchmark::RegisterBenchmark(name.c_str(),
                                   [&s, built, with_router](benchmark::State& state) {
                                     run_gate(state, *built, s.checks, with_router);
                                   })
          ->Unit(benchmark::kMicrosecond)
          ->MinTime(kMinTime);
    }
  }
  benchmark::RegisterBenchmark(
      "permute/pack",
      [&s](benchmark::State& state) { run_rows(state, s.rows, s.checks, /*is_pack=*/true); })
      ->Unit(benchmark::kMicrosecond)
      ->MinTime(kMinTime);
  benchmark::RegisterBenchmark(
      "permute/unpermute",
      [&s](benchmark::State& state) { run_rows(state, s.rows, s.checks, /*is_pack=*/false); })
      ->Unit(benchmark::kMicrosecond)
      ->MinTime(kMinTime);
  benchmark::RegisterBenchmark(
      "ffn/grouped", [&s](benchmark::State& state) { run_ffn(state, s.ffn_grouped, s.checks); })
      ->Unit(benchmark::kMicrosecond)
      ->MinTime(kFfnMinTime);
  benchmark::RegisterBenchmark(
      "ffn/dense", [&s](benchmark::State& state) { run_ffn(state, s.ffn_dense, s.checks); })
      ->Unit(benchmark::kMicrosecond)
      ->MinTime(kFfnMinTime);
}

}  // namespace
}  // namespace c2r

int main(int argc, char** argv) {
  // Before any kernel runs: every GEMM on one thread, so the rates are per core.
  c2r::set_blas_threads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Echoed into the console header and the JSON "context".
  benchmark::AddCustomContext("c2rbench_version", C2R_VERSION);
  benchmark::AddCustomContext("c2rbench_git_sha", C2R_GIT_SHA);
  benchmark::AddCustomContext("blas", c2r::blas_version());
  benchmark::AddCustomContext("blas_threads", "1");
  benchmark::AddCustomContext("seed", std::to_string(c2r::kSeed));

  c2r::Suite suite;
  c2r::register_benchmarks(suite);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (suite.checks.failed > 0) {
    std::cerr << "c2rbench_kernels: " << suite.checks.failed
              << " kernel check(s) failed (ERROR OCCURRED above)\n";
    return 1;
  }
  return 0;
}
