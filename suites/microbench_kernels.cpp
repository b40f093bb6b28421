// NAME     c2rbench_kernels - node-local microbenchmarks of the CPU MoE kernels
// PURPOSE  Times the gate (router GEMM + top-k / C2R selection), the permute (bucket order + row
//          gather) and unpermute, and the grouped SwiGLU expert FFN against dense GEMMs of the same
//          FLOPs, on one core, at the llama-moe-3.5b and qwen1.5-moe-a2.7b shapes.
// USAGE    c2rbench_kernels [--benchmark_filter=REGEX] [--benchmark_format=json]
//                           [--benchmark_out=FILE --benchmark_out_format=json]
// NOTES    Google Benchmark picks iteration counts adaptively, so this binary never runs MPI
//          collectives; the MoE layer itself is timed by `c2rbench run` with fixed iterations.
//          One BLAS thread: numbers are per core.

#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "common/rng.hpp"
#include "kernels/cpu/blas.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/gating.hpp"
#include "kernels/cpu/permute.hpp"
#include "model/collaboration.hpp"

namespace c2r {
namespace {

constexpr uint64_t kSeed = 7;

std::vector<float> normal_vector(size_t n, uint64_t index, float scale = 1.0f) {
  std::vector<float> v(n);
  Rng rng(kSeed, Stream::kHidden, index);
  for (auto& x : v) x = static_cast<float>(rng.normal()) * scale;
  return v;
}

struct Shape {
  int experts, top_k, hidden;
};
const Shape kLlama{8, 2, 4096};
const Shape kQwen{60, 4, 2048};

// Gate: router GEMM + selection for `tokens` tokens. range(0): 0 = llama, 1 = qwen; range(1): C2R.
void BM_Gate(benchmark::State& state) {
  const Shape s = state.range(0) == 0 ? kLlama : kQwen;
  const bool c2r = state.range(1) != 0;
  const int64_t tokens = 2048;
  const auto x = normal_vector(tokens * s.hidden, 1);
  const auto w = normal_vector(static_cast<size_t>(s.hidden) * s.experts, 2, 0.02f);
  CollaborationMatrix m(s.experts);
  Rng rng(kSeed, Stream::kRouter, 3);
  for (int i = 0; i < s.experts; ++i) {
    for (int j = 0; j < i; ++j) m.at(i, j) = m.at(j, i) = rng.uniform();
  }
  const int top_t = s.experts == 8 ? 1 : 30;
  const GateSpec spec =
      c2r ? GateSpec::c2r(s.experts, s.top_k, top_t, GateWeights::kSoftmaxOverChosen,
                          collaborative_list_from(m))
          : GateSpec::vanilla(s.experts, s.top_k, GateWeights::kSoftmaxOverChosen);
  std::vector<float> logits(tokens * s.experts), weights(tokens * s.top_k);
  std::vector<int32_t> ids(tokens * s.top_k);
  for (auto _ : state) {
    router_logits(x.data(), tokens, s.hidden, w.data(), s.experts, logits.data());
    select_experts(logits.data(), tokens, spec, ids.data(), weights.data());
    benchmark::DoNotOptimize(ids.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * tokens);
  state.SetLabel(std::string(state.range(0) == 0 ? "llama" : "qwen") + (c2r ? " c2r" : " vanilla"));
}
BENCHMARK(BM_Gate)
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.2);

// Permute: bucket (token, expert) pairs by destination slot and gather their rows (llama shape).
void BM_Permute(benchmark::State& state) {
  const int64_t tokens = 2048, k = 2, hidden = 4096, slots = 8;
  const auto x = normal_vector(tokens * hidden, 4);
  std::vector<int32_t> keys(tokens * k);
  Rng rng(kSeed, Stream::kTracePair, 5);
  for (auto& key : keys) key = static_cast<int32_t>(rng.below(slots));
  std::vector<int64_t> offsets(slots + 1), order(tokens * k), source_row(tokens * k);
  std::vector<float> send(tokens * k * hidden);
  for (auto _ : state) {
    stable_bucket_order(keys.data(), tokens * k, slots, offsets.data(), order.data());
    for (int64_t i = 0; i < tokens * k; ++i) source_row[i] = order[i] / k;
    gather_rows(x.data(), hidden, source_row.data(), tokens * k, hidden, send.data(), hidden);
    benchmark::DoNotOptimize(send.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * tokens * k * hidden * sizeof(float));
}
BENCHMARK(BM_Permute)->Unit(benchmark::kMicrosecond)->MinTime(0.2);

// Unpermute: y_t = sum_j w_tj * returned[row_tj] (llama shape).
void BM_Unpermute(benchmark::State& state) {
  const int64_t tokens = 2048, k = 2, hidden = 4096;
  const auto returned = normal_vector(tokens * k * hidden, 6);
  const auto weights = normal_vector(tokens * k, 7);
  std::vector<int64_t> position(tokens * k);
  std::iota(position.begin(), position.end(), 0);
  Rng rng(kSeed, Stream::kTracePair, 8);
  for (int64_t i = tokens * k - 1; i > 0; --i) std::swap(position[i], position[rng.below(i + 1)]);
  std::vector<float> y(tokens * hidden);
  for (auto _ : state) {
    weighted_unpermute(returned.data(), hidden, position.data(), weights.data(), tokens, k, hidden,
                       y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * tokens * k * hidden * sizeof(float));
}
BENCHMARK(BM_Unpermute)->Unit(benchmark::kMicrosecond)->MinTime(0.2);

// Grouped SwiGLU FFN over 4 experts with uneven groups (1024 rows in all, llama shape), and the
// dense GEMMs of the same FLOPs (range(0) = 1) as its ceiling.
void BM_ExpertFfn(benchmark::State& state) {
  const bool dense = state.range(0) != 0;
  const int hidden = 4096, ffn = 1376, experts = 4;
  const int64_t group_rows[experts] = {384, 256, 224, 160};
  const int64_t rows = 1024;
  std::vector<FfnWeights> weights;
  for (int e = 0; e < experts; ++e)
    weights.push_back(make_ffn_weights(kSeed, Stream::kExpert, e, hidden, ffn));
  const auto x = normal_vector(rows * hidden, 9);
  std::vector<float> out(rows * hidden), scratch(ffn_scratch_floats(ffn));
  std::vector<ExpertGroup> groups(experts);
  int64_t begin = 0;
  for (int e = 0; e < experts; ++e) {
    groups[e].weights = &weights[e];
    groups[e].blocks.push_back(
        RowBlock{&x[begin * hidden], hidden, &out[begin * hidden], hidden, group_rows[e]});
    begin += group_rows[e];
  }
  for (auto _ : state) {
    if (dense) {
      dense_ffn_gemms(weights[0], x.data(), rows, scratch.data(), out.data());
    } else {
      grouped_swiglu_ffn(groups, scratch.data());
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["GFLOPS"] = benchmark::Counter(rows * weights[0].flops_per_row() * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(dense ? "dense ceiling" : "grouped");
}
BENCHMARK(BM_ExpertFfn)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(0.5);

}  // namespace
}  // namespace c2r

int main(int argc, char** argv) {
  c2r::set_blas_threads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
