// The CUDA kernels against the CPU kernels on seeded random data: router GEMM and top-k / C2R
// selection (identical experts, weights to float rounding), the stable pair sort, row gathers and
// the weighted unpermute (exact or to rounding), and the grouped SwiGLU FFN (relative 1e-4).
// Every test skips, saying so, where no CUDA device is present (fails with C2R_REQUIRE_GPU=1).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/rng.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/gating.hpp"
#include "kernels/cpu/permute.hpp"
#include "kernels/cuda/dedup.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/expert_ffn.hpp"
#include "kernels/cuda/gating.hpp"
#include "kernels/cuda/permute.hpp"
#include "require_device.hpp"

namespace c2r {
namespace {

std::vector<float> normal_values(size_t n, uint64_t seed, float scale = 1.0f) {
  std::vector<float> v(n);
  Rng rng(seed, Stream::kHidden, 0, 77);
  for (auto& x : v) x = static_cast<float>(rng.normal()) * scale;
  return v;
}

double max_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
    norm = std::max(norm, std::abs(static_cast<double>(b[i])));
  }
  return norm > 0 ? worst / norm : worst;
}

TEST(CudaDevice, CountsDevicesWithoutFailing) {
  EXPECT_GE(cuda::device_count(), 0);
  C2R_REQUIRE_DEVICE("GPU kernels");
  EXPECT_FALSE(cuda::device_description().empty());
}

TEST(CudaGate, MatchesTheCpuGateForVanillaAndC2R) {
  C2R_REQUIRE_DEVICE("GPU kernels");
  const int tokens = 1000, hidden = 96, experts = 24;
  const std::vector<float> x = normal_values(tokens * hidden, 1);
  const std::vector<float> w = normal_values(hidden * experts, 2, 1.0f / std::sqrt(96.0f));
  std::vector<float> logits(tokens * experts);
  router_logits(x.data(), tokens, hidden, w.data(), experts, logits.data());

  cuda::Blas blas;
  cuda::DeviceBuffer<float> d_x(x), d_w(w), d_logits(tokens * experts);
  cuda::router_logits(blas, d_x.data(), tokens, hidden, d_w.data(), experts, d_logits.data());
  EXPECT_LT(max_relative_difference(d_logits.download(), logits), 1e-5);

  // Selection on identical logits (the CPU's), so ties and order must match exactly.
  cuda::DeviceBuffer<float> cpu_logits(logits);
  CollaborationMatrix counts(experts);
  Rng rng(3, Stream::kTracePair, 0);
  for (int i = 0; i < experts; ++i) {
    for (int j = i + 1; j < experts; ++j) counts.at(i, j) = counts.at(j, i) = rng.below(100);
  }
  const CollaborativeList list = collaborative_list_from(counts);
  for (int k : {1, 2, 4, 8}) {
    for (GateWeights mode : {GateWeights::kSoftmaxOverChosen, GateWeights::kFullSoftmax}) {
      std::vector<GateSpec> specs = {GateSpec::vanilla(experts, k, mode)};
      if (k > 1) specs.push_back(GateSpec::c2r(experts, k, std::max(k - 1, 5), mode, list));
      for (const GateSpec& spec : specs) {
        std::vector<int32_t> ids(tokens * k);
        std::vector<float> weights(tokens * k);
        select_experts(logits.data(), tokens, spec, ids.data(), weights.data());
        const cuda::DeviceGateSpec device = cuda::make_device_gate(spec);
        cuda::DeviceBuffer<int32_t> d_ids(tokens * k);
        cuda::DeviceBuffer<float> d_weights(tokens * k);
        cuda::select_experts(cpu_logits.data(), tokens, device, d_ids.data(), d_weights.data());
        EXPECT_EQ(d_ids.download(), ids) << "k=" << k << " c2r=" << device.c2r;
        EXPECT_LT(max_relative_difference(d_weights.download(), weights), 1e-5);
      }
    }
  }
}

TEST(CudaPermute, StableSortGatherAndUnpermuteMatchTheCpu) {
  C2R_REQUIRE_DEVICE("GPU kernels");
  const int tokens = 777, k = 3, experts = 13, width = 40;
  const int64_t pairs = tokens * k;
  std::vector<int32_t> keys(pairs);
  Rng rng(5, Stream::kTracePair, 1);
  for (auto& key : keys) key = static_cast<int32_t>(rng.below(experts - 2));  // 2 experts empty
  std::vector<int64_t> offsets(experts + 1), order(pairs);
  stable_bucket_order(keys.data(), pairs, experts, offsets.data(), order.data());

  cuda::PairSorter sorter;
  cuda::DeviceBuffer<int32_t> d_keys(keys);
  cuda::DeviceBuffer<int64_t> d_offsets(experts + 1), d_order(pairs), d_position(pairs);
  sorter.sort(d_keys.data(), pairs, experts, d_offsets.data(), d_order.data(), d_position.data());
  EXPECT_EQ(d_offsets.download(), offsets);
  EXPECT_EQ(d_order.download(), order);
  const std::vector<int64_t> position = d_position.download();
  for (int64_t i = 0; i < pairs; ++i) ASSERT_EQ(position[order[i]], i);

  // Permute token rows into expert order, then sum them back with weights.
  const std::vector<float> x = normal_values(tokens * width, 6);
  const std::vector<float> weights = normal_values(pairs, 7);
  std::vector<float> permuted(pairs * width);
  std::vector<int64_t> token_of(pairs);
  for (int64_t i = 0; i < pairs; ++i) token_of[i] = order[i] / k;
  gather_rows(x.data(), width, token_of.data(), pairs, width, permuted.data(), width);
  cuda::DeviceBuffer<float> d_x(x), d_permuted(pairs * width), d_weights(weights),
      d_y(tokens * width);
  cuda::gather_rows(d_x.data(), width, d_order.data(), pairs, k, width, d_permuted.data(), width);
  EXPECT_EQ(d_permuted.download(), permuted);

  std::vector<float> y(tokens * width);
  weighted_unpermute(permuted.data(), width, position.data(), weights.data(), tokens, k, width,
                     y.data());
  cuda::weighted_unpermute(d_permuted.data(), width, d_position.data(), d_weights.data(), tokens, k,
                           width, d_y.data());
  EXPECT_LT(max_relative_difference(d_y.download(), y), 1e-6);
}

TEST(CudaExpertFfn, GroupedSwigluMatchesTheCpu) {
  C2R_REQUIRE_DEVICE("GPU kernels");
  const int hidden = 64, ffn = 48, experts = 5;
  const std::vector<int64_t> offsets = {0, 37, 37, 100, 101, 160};  // one empty group
  const int64_t rows = offsets.back();
  const std::vector<float> x = normal_values(rows * hidden, 8);
  std::vector<FfnWeights> weights;
  std::vector<cuda::DeviceFfnWeights> device;
  for (int e = 0; e < experts; ++e) {
    weights.push_back(make_ffn_weights(9, Stream::kExpert, e, hidden, ffn));
    device.push_back(cuda::upload_ffn_weights(weights.back(), /*with_bf16=*/true));
  }
  std::vector<float> expected(rows * hidden, 0.0f), scratch(ffn_scratch_floats(ffn));
  for (int e = 0; e < experts; ++e) {
    const int64_t n = offsets[e + 1] - offsets[e];
    if (n == 0) continue;
    swiglu_ffn(weights[e],
               RowBlock{&x[offsets[e] * hidden], hidden, &expected[offsets[e] * hidden], hidden, n},
               scratch.data());
  }
  cuda::Blas blas;
  std::vector<const cuda::DeviceFfnWeights*> bank;
  for (const auto& w : device) bank.push_back(&w);
  cuda::DeviceBuffer<float> d_x(x), d_out(rows * hidden),
      d_scratch(cuda::ffn_scratch_floats(63, ffn));
  cuda::grouped_swiglu_ffn(blas, bank, offsets, d_x.data(), d_out.data(), d_scratch.data());
  EXPECT_LT(max_relative_difference(d_out.download(), expected), 1e-4);

  // bf16 inputs, fp32 accumulation: within bf16's rounding (8 significant bits) of fp32.
  std::vector<uint16_t> x_bf16(x.size());
  for (size_t i = 0; i < x.size(); ++i) x_bf16[i] = cuda::to_bf16(x[i]);
  cuda::DeviceBuffer<uint16_t> d_x_bf16(x_bf16);
  cuda::DeviceBuffer<float> d_out_bf16(rows * hidden);
  cuda::grouped_swiglu_ffn_bf16(blas, bank, offsets, d_x_bf16.data(), d_out_bf16.data(),
                                d_scratch.data());
  const double error = max_relative_difference(d_out_bf16.download(), expected);
  EXPECT_LT(error, 3e-2);
  EXPECT_GT(error, 0.0);  // it really ran in bf16
}

TEST(CudaStrategyKernels, PaddedScatterKeepsTokenOrderAndDropsOverflow) {
  C2R_REQUIRE_DEVICE("GPU kernels");
  const int tokens = 300, k = 2, slots = 6, width = 8;
  const int64_t pairs = tokens * k, capacity = 70;  // 600 pairs over 6 slots: some overflow
  std::vector<int32_t> slot(pairs);
  Rng rng(21, Stream::kTracePair, 2);
  for (auto& s : slot) s = static_cast<int32_t>(rng.below(slots) * rng.below(2));  // slot 0 hot
  std::vector<int64_t> offsets(slots + 1), order(pairs);
  stable_bucket_order(slot.data(), pairs, slots, offsets.data(), order.data());
  const std::vector<float> x = normal_values(tokens * width, 22);
  std::vector<float> expected(slots * capacity * width, 0.0f);
  std::vector<int64_t> expected_position(pairs, -1);
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t rank_in_slot = i - offsets[slot[order[i]]];
    if (rank_in_slot >= capacity) continue;
    const int64_t row = slot[order[i]] * capacity + rank_in_slot;
    expected_position[order[i]] = row;
    std::copy_n(&x[(order[i] / k) * width], width, &expected[row * width]);
  }
  cuda::DeviceBuffer<float> d_x(x), d_send(std::vector<float>(expected.size(), 0.0f));
  cuda::DeviceBuffer<int32_t> d_slot(slot);
  cuda::DeviceBuffer<int64_t> d_offsets(offsets), d_order(order), d_position(pairs);
  cuda::padded_scatter(d_x.data(), width, d_order.data(), d_slot.data(), d_offsets.data(), pairs, k,
                       capacity, d_send.data(), d_position.data());
  EXPECT_EQ(d_send.download(), expected);
  EXPECT_EQ(d_position.download(), expected_position);
  EXPECT_GT(std::count(expected_position.begin(), expected_position.end(), -1), 0);

  // The slot table lookup and the counts of a sorted layout.
  const std::vector<int32_t> table = {5, 4, 3, 2, 1, 0};
  cuda::DeviceBuffer<int32_t> d_table(table), d_mapped(pairs);
  cuda::map_keys(d_slot.data(), pairs, d_table.data(), d_mapped.data());
  const std::vector<int32_t> mapped = d_mapped.download();
  for (int64_t p = 0; p < pairs; ++p) ASSERT_EQ(mapped[p], table[slot[p]]);
  cuda::DeviceBuffer<int64_t> d_counts(slots);
  cuda::counts_from_offsets(d_offsets.data(), slots, d_counts.data());
  const std::vector<int64_t> counts = d_counts.download();
  for (int s = 0; s < slots; ++s) EXPECT_EQ(counts[s], offsets[s + 1] - offsets[s]);
}

TEST(CudaStrategyKernels, DedupRowsCarryEachDestinationsSlots) {
  C2R_REQUIRE_DEVICE("GPU kernels");
  const int tokens = 200, k = 4, experts = 12, ranks = 3, hidden = 16;
  const int64_t pairs = tokens * k;
  std::vector<int32_t> rank_of(experts), local_of(experts);
  for (int e = 0; e < experts; ++e) {
    rank_of[e] = e % ranks;
    local_of[e] = e / ranks;
  }
  std::vector<int32_t> ids(pairs);
  Rng rng(31, Stream::kTracePair, 3);
  for (int t = 0; t < tokens; ++t) {  // k distinct experts per token
    std::vector<int> all(experts);
    std::iota(all.begin(), all.end(), 0);
    for (int j = 0; j < k; ++j) {
      std::swap(all[j], all[j + rng.below(experts - j)]);
      ids[t * k + j] = all[j];
    }
  }
  const std::vector<float> x = normal_values(tokens * hidden, 32);
  const std::vector<float> weights = normal_values(pairs, 33);
  // Host expectation: the leading slot of each (token, destination) gets the destination's key.
  std::vector<int32_t> keys(pairs);
  for (int t = 0; t < tokens; ++t) {
    for (int j = 0; j < k; ++j) {
      bool seen = false;
      for (int u = 0; u < j; ++u) seen |= rank_of[ids[t * k + u]] == rank_of[ids[t * k + j]];
      keys[t * k + j] = seen ? ranks : rank_of[ids[t * k + j]];
    }
  }
  cuda::DeviceBuffer<int32_t> d_ids(ids), d_rank(rank_of), d_local(local_of), d_keys(pairs);
  cuda::dedup_row_keys(d_ids.data(), tokens, k, d_rank.data(), ranks, d_keys.data());
  ASSERT_EQ(d_keys.download(), keys);

  std::vector<int64_t> offsets(ranks + 2), order(pairs);
  stable_bucket_order(keys.data(), pairs, ranks + 1, offsets.data(), order.data());
  const int64_t rows = offsets[ranks];
  const int stride = hidden + 2 * k;
  cuda::DeviceBuffer<float> d_x(x), d_weights(weights), d_send(rows * stride);
  cuda::DeviceBuffer<int64_t> d_order(order);
  cuda::dedup_pack(d_x.data(), hidden, d_ids.data(), d_weights.data(), k, d_rank.data(),
                   d_local.data(), d_order.data(), d_keys.data(), rows, d_send.data());
  const int local = experts / ranks;
  cuda::DeviceBuffer<int32_t> d_slot_keys(rows * k);
  cuda::DeviceBuffer<float> d_slot_weights(rows * k);
  cuda::dedup_unpack_slots(d_send.data(), rows, hidden, k, local, d_slot_keys.data(),
                           d_slot_weights.data());
  const std::vector<float> send = d_send.download();
  const std::vector<int32_t> slot_keys = d_slot_keys.download();
  const std::vector<float> slot_weights = d_slot_weights.download();
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = order[i] / k;
    const int dest = keys[order[i]];
    ASSERT_TRUE(std::equal(&send[i * stride], &send[i * stride] + hidden, &x[t * hidden]));
    for (int j = 0; j < k; ++j) {
      const int e = ids[t * k + j];
      const bool here = rank_of[e] == dest;
      EXPECT_EQ(slot_keys[i * k + j], here ? local_of[e] : local);
      EXPECT_EQ(slot_weights[i * k + j], here ? weights[t * k + j] : 0.0f);
    }
  }
  // Masking: slots that lead no row get position -1.
  cuda::DeviceBuffer<int64_t> d_position(std::vector<int64_t>(pairs, 7));
  cuda::mask_positions(d_position.data(), d_keys.data(), pairs, ranks);
  const std::vector<int64_t> position = d_position.download();
  for (int64_t p = 0; p < pairs; ++p) EXPECT_EQ(position[p], keys[p] == ranks ? -1 : 7);
}

TEST(CudaGate, SharedExpertGateAndGatedAdd) {
  C2R_REQUIRE_DEVICE("GPU kernels");
  const int tokens = 77, hidden = 40;
  const std::vector<float> x = normal_values(tokens * hidden, 41);
  const std::vector<float> w = normal_values(hidden, 42, 0.2f);
  const std::vector<float> src = normal_values(tokens * hidden, 43);
  std::vector<float> scale(tokens), y = normal_values(tokens * hidden, 44), expected = y;
  for (int t = 0; t < tokens; ++t) {
    double dot = 0.0;
    for (int h = 0; h < hidden; ++h) dot += static_cast<double>(x[t * hidden + h]) * w[h];
    scale[t] = static_cast<float>(1.0 / (1.0 + std::exp(-dot)));
    for (int h = 0; h < hidden; ++h) expected[t * hidden + h] += scale[t] * src[t * hidden + h];
  }
  cuda::Blas blas;
  cuda::DeviceBuffer<float> d_x(x), d_w(w), d_scale(tokens), d_src(src), d_y(y);
  cuda::shared_expert_gate(blas, d_x.data(), tokens, hidden, d_w.data(), d_scale.data());
  EXPECT_LT(max_relative_difference(d_scale.download(), scale), 1e-5);
  cuda::add_scaled_rows(d_y.data(), d_scale.data(), d_src.data(), tokens, hidden);
  EXPECT_LT(max_relative_difference(d_y.download(), expected), 1e-5);
}

TEST(CudaBf16, RoundsToNearestEven) {
  // No device needed: host conversion.
  EXPECT_EQ(cuda::to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(cuda::from_bf16(cuda::to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(cuda::to_bf16(1.00390625f), 0x3f80);  // halfway (1 + 2^-8): ties to even, down
  EXPECT_EQ(cuda::to_bf16(1.01171875f), 0x3f82);  // halfway (1 + 3 * 2^-8): ties to even, up
  EXPECT_EQ(cuda::to_bf16(-2.5f), 0xc020);
  EXPECT_TRUE(std::isnan(cuda::from_bf16(cuda::to_bf16(NAN))));
  const float x = 0.123456f;
  EXPECT_NEAR(cuda::from_bf16(cuda::to_bf16(x)), x, x / 256);
}

}  // namespace
}  // namespace c2r
