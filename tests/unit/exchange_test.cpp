// Exchange strategies on one rank (MPI_COMM_WORLD of the unit-test binary): capacity dropping and
// every strategy's output against a naive per-token computation. ExchangeAcrossRanks runs on every
// rank of MPI_COMM_WORLD: one in the unit-test run, three under mpirun (mpi_exchange_regroup_np3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "bench/layer_steps.hpp"
#include "collectives/strategy.hpp"
#include "common/rng.hpp"
#include "kernels/cpu/expert_ffn.hpp"

namespace c2r {
namespace {

// A strategy's steps under the layer runner (bench/layer_steps.hpp, the one place the step order
// is written), on expert ids the test chooses: no gate.
class StrategySteps final : public LayerSteps {
 public:
  StrategySteps(ExchangeStrategy& strategy, const LayerInputs& in, const ExpertBank& bank,
                const Communicator& comm, float* scratch, float* y)
      : s_(strategy), in_(in), bank_(bank), comm_(comm), scratch_(scratch), y_(y) {}
  void gate() override {}
  void pack() override { s_.pack(in_); }
  void dispatch() override { layout_ = &s_.dispatch(comm_); }
  void regroup() override { s_.regroup(); }
  void compute_experts() override { s_.compute_experts(bank_, scratch_); }
  void reduce() override { s_.reduce(); }
  void combine() override { s_.combine(comm_, *layout_); }
  void unpack() override { s_.unpack(in_, y_); }

 private:
  ExchangeStrategy& s_;
  const LayerInputs& in_;
  const ExpertBank& bank_;
  const Communicator& comm_;
  float* scratch_;
  float* y_;
  const ExchangeLayout* layout_ = nullptr;
};

struct OneRankLayer {
  int experts = 4, k = 2, hidden = 24, ffn = 16;
  int64_t tokens = 10;
  std::vector<float> x;
  std::vector<int32_t> ids;
  std::vector<float> weights;
  std::vector<FfnWeights> ffns;

  explicit OneRankLayer(std::vector<int32_t> expert_ids) : ids(std::move(expert_ids)) {
    tokens = static_cast<int64_t>(ids.size()) / k;
    Rng rng(3, Stream::kHidden, 0);
    x.resize(tokens * hidden);
    for (auto& v : x) v = static_cast<float>(rng.normal());
    weights.resize(ids.size());
    for (auto& w : weights) w = static_cast<float>(0.1 + rng.uniform());
    for (int e = 0; e < experts; ++e)
      ffns.push_back(make_ffn_weights(3, Stream::kExpert, e, hidden, ffn));
  }

  // y from the strategy on one rank.
  std::vector<float> run(const std::string& kind, double capacity_factor, ExchangeStrategy** keep) {
    static Placement placement = contiguous_placement(4, 1);
    Communicator comm(MPI_COMM_WORLD);
    strategy_ = find_strategy(kind).make_cpu();
    LayerInputs in{tokens,     hidden,         k,          x.data(),
                   ids.data(), weights.data(), &placement, capacity_factor};
    ExpertBank bank;
    for (auto& f : ffns) bank.local.push_back(&f);
    std::vector<float> y(tokens * hidden), scratch(ffn_scratch_floats(ffn));
    StrategySteps steps(*strategy_, in, bank, comm, scratch.data(), y.data());
    PhaseClock clock;
    for (int repeat = 0; repeat < 2; ++repeat) {  // the second run reuses the sized buffers
      clock.start();
      run_layer(steps, comm, clock);
    }
    if (keep) *keep = strategy_.get();
    return y;
  }

  // Naive y_t = sum of kept pairs' weighted FFN outputs.
  std::vector<float> expected(const std::vector<bool>& kept) const {
    std::vector<float> y(tokens * hidden, 0.0f), out(hidden);
    for (int64_t p = 0; p < tokens * k; ++p) {
      if (!kept[p]) continue;
      swiglu_ffn_naive(ffns[ids[p]], &x[(p / k) * hidden], 1, out.data());
      for (int h = 0; h < hidden; ++h) y[(p / k) * hidden + h] += weights[p] * out[h];
    }
    return y;
  }

 private:
  std::unique_ptr<ExchangeStrategy> strategy_;
};

void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i])));
}

TEST(Exchange, EveryStrategyMatchesTheNaiveLayer) {
  OneRankLayer layer({0, 1, 2, 3, 1, 0, 3, 2, 0, 2, 1, 3, 2, 1, 0, 3, 3, 0, 1, 2});
  const std::vector<bool> all(layer.ids.size(), true);
  for (const char* kind : {"dropless", "dedup", "padded"}) {
    SCOPED_TRACE(kind);
    expect_close(layer.run(kind, 4.0, nullptr), layer.expected(all));
  }
}

// Experts without tokens at the end of the buffers (dropless, dedup), and a last padded slot that
// is exactly full: empty blocks there are addressed at the buffers' end, never indexed past it (the
// sanitizer build's bounds-checked containers abort otherwise).
TEST(Exchange, EmptyLastExpertsAndAFullLastSlot) {
  OneRankLayer idle_tail({0, 1, 1, 0, 0, 1});
  const std::vector<bool> all(idle_tail.ids.size(), true);
  for (const char* kind : {"dropless", "dedup", "padded"}) {
    SCOPED_TRACE(kind);
    expect_close(idle_tail.run(kind, 4.0, nullptr), idle_tail.expected(all));
  }
  // capacity ceil(1.0 * 4 / 4) = 1: expert 3's slot fills with the first of its two pairs.
  OneRankLayer full_tail({0, 3, 1, 3});
  ExchangeStrategy* padded = nullptr;
  const std::vector<float> y = full_tail.run("padded", 1.0, &padded);
  std::vector<bool> kept(4);
  for (int p = 0; p < 4; ++p) kept[p] = padded->pair_kept(p);
  EXPECT_EQ(kept, (std::vector<bool>{1, 1, 1, 0}));
  expect_close(y, full_tail.expected(kept));
}

TEST(Exchange, PaddedDropsPairsPastCapacityInTokenOrder) {
  // 6 tokens, every first choice expert 0: capacity ceil(1.0 * 6 * 2 / 4) = 3 slots per expert.
  OneRankLayer layer({0, 1, 0, 2, 0, 3, 0, 1, 0, 2, 0, 3});
  ExchangeStrategy* padded = nullptr;
  const std::vector<float> y = layer.run("padded", 1.0, &padded);
  std::vector<bool> kept(12);
  for (int p = 0; p < 12; ++p) kept[p] = padded->pair_kept(p);
  EXPECT_EQ(kept, (std::vector<bool>{1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(padded->shape().pairs_dropped, 3);
  expect_close(y, layer.expected(kept));
}

TEST(Exchange, DedupSendsOneRowPerTokenAndRank) {
  OneRankLayer layer({0, 1, 2, 3, 1, 0});
  ExchangeStrategy* dedup = nullptr;
  layer.run("dedup", 1.0, &dedup);
  EXPECT_EQ(dedup->shape().dispatch.send_rows[0], 3);  // one rank: one row per token
  EXPECT_EQ(dedup->shape().dispatch_row_bytes, (24 + 2 * 2) * 4);
  ExchangeStrategy* dropless = nullptr;
  layer.run("dropless", 1.0, &dropless);
  EXPECT_EQ(dropless->shape().dispatch.send_rows[0], 6);
}

// One rank's tokens, drawn from (seed, rank) so that every rank can also work out what the others
// send it: 24 + 5 * rank tokens, k distinct experts each.
struct RankRouting {
  int64_t tokens = 0;
  std::vector<float> x;        // [tokens x H]
  std::vector<int32_t> ids;    // [tokens x k]
  std::vector<float> weights;  // [tokens x k]
};

RankRouting rank_routing(int rank, int experts, int k, int hidden) {
  RankRouting r;
  r.tokens = 24 + 5 * rank;
  Rng rng(7, Stream::kHidden, static_cast<uint64_t>(rank));
  r.x.resize(r.tokens * hidden);
  for (auto& v : r.x) v = static_cast<float>(rng.normal());
  for (int64_t t = 0; t < r.tokens; ++t) {
    for (int j = 0; j < k; ++j) {
      int32_t e;
      do {
        e = static_cast<int32_t>(rng.below(experts));
      } while (std::find(r.ids.end() - j, r.ids.end(), e) != r.ids.end());
      r.ids.push_back(e);
      r.weights.push_back(static_cast<float>(0.1 + rng.uniform()));
    }
  }
  return r;
}

// Several source ranks' rows for every expert (under mpirun): dropless and padded regroup them
// into one block per local expert, run one GEMM pair per expert on it, and still give the serial
// layer's output; padded drops exactly the pairs past each (source rank, expert) capacity, in
// token order, and computes every slot of it.
TEST(ExchangeAcrossRanks, RegroupedPairExchangesMatchTheSerialLayer) {
  Communicator comm(MPI_COMM_WORLD);
  const int ranks = comm.size(), rank = comm.rank();
  const int local = 3, experts = local * ranks, k = 2, hidden = 24, ffn = 16;
  const Placement placement = round_robin_placement(experts, ranks);
  std::vector<RankRouting> routing;  // [R], every rank's
  for (int r = 0; r < ranks; ++r) routing.push_back(rank_routing(r, experts, k, hidden));
  const RankRouting& mine = routing[rank];
  const int64_t largest_tokens = routing.back().tokens;
  std::vector<FfnWeights> ffns;  // [E]
  for (int e = 0; e < experts; ++e)
    ffns.push_back(make_ffn_weights(7, Stream::kExpert, e, hidden, ffn));
  ExpertBank bank;
  for (int e : placement.local_experts(rank)) bank.local.push_back(&ffns[e]);

  // pairs_from[s][e]: pairs rank s routes to expert e.
  std::vector<std::vector<int64_t>> pairs_from(ranks, std::vector<int64_t>(experts, 0));
  for (int s = 0; s < ranks; ++s) {
    for (int32_t e : routing[s].ids) ++pairs_from[s][e];
  }
  for (int le = 0; le < local; ++le) {
    const int e = placement.local_experts(rank)[le];
    int sources = 0;
    for (int s = 0; s < ranks; ++s) sources += pairs_from[s][e] > 0;
    EXPECT_EQ(sources, ranks) << "expert " << e << ": the routing should reach it from every rank";
  }

  for (const char* kind : {"dropless", "padded"}) {
    SCOPED_TRACE(kind);
    const bool padded = std::string(kind) == "padded";
    const double capacity_factor = 1.0;
    const int64_t capacity = padded_capacity(capacity_factor, largest_tokens, k, experts);
    const std::unique_ptr<ExchangeStrategy> strategy = find_strategy(kind).make_cpu();
    LayerInputs in{mine.tokens,   hidden,          k,
                   mine.x.data(), mine.ids.data(), mine.weights.data(),
                   &placement,    capacity_factor, largest_tokens};
    std::vector<float> y(mine.tokens * hidden), scratch(ffn_scratch_floats(ffn));
    StrategySteps steps(*strategy, in, bank, comm, scratch.data(), y.data());
    PhaseClock clock;
    for (int repeat = 0; repeat < 2; ++repeat) {  // the second run reuses the sized buffers
      clock.start();
      run_layer(steps, comm, clock);
    }

    // Padded keeps the first `capacity` pairs of each expert in token order; dropless keeps all.
    std::vector<int64_t> taken(experts, 0);
    std::vector<float> want(mine.tokens * hidden, 0.0f), out(hidden);
    int64_t dropped = 0;
    for (int64_t p = 0; p < mine.tokens * k; ++p) {
      const int e = mine.ids[p];
      const bool kept = !padded || taken[e]++ < capacity;
      EXPECT_EQ(strategy->pair_kept(p), kept) << "pair " << p;
      dropped += !kept;
      if (!kept) continue;
      swiglu_ffn_naive(ffns[e], &mine.x[(p / k) * hidden], 1, out.data());
      for (int h = 0; h < hidden; ++h) want[(p / k) * hidden + h] += mine.weights[p] * out[h];
    }
    expect_close(y, want);
    EXPECT_EQ(strategy->shape().pairs_dropped, dropped);

    // One block, hence one GEMM pair (rows stay below kFfnChunkRows), per local expert with rows.
    std::vector<int64_t> rows_per_local_expert(local);
    int64_t experts_with_rows = 0;
    for (int le = 0; le < local; ++le) {
      const int e = placement.local_experts(rank)[le];
      for (int s = 0; s < ranks; ++s) {
        rows_per_local_expert[le] += padded ? capacity : pairs_from[s][e];
      }
      experts_with_rows += rows_per_local_expert[le] > 0;
    }
    EXPECT_EQ(strategy->shape().rows_per_local_expert, rows_per_local_expert);
    EXPECT_EQ(strategy->shape().expert_gemm_pairs, experts_with_rows);
  }
}

}  // namespace
}  // namespace c2r

namespace c2r {
namespace {

// A pipelined layer's chunks: consecutive, covering every token once, sizes differing by at most
// one (the larger first), empty chunks when there are fewer tokens than chunks.
TEST(TokenChunk, SplitsEvenlyAndCoversEveryToken) {
  for (int64_t tokens : {0, 1, 5, 7, 64, 1000}) {
    for (int chunks : {1, 2, 3, 4, 8}) {
      int64_t next = 0;
      for (int c = 0; c < chunks; ++c) {
        const TokenChunk chunk = token_chunk(tokens, chunks, c);
        EXPECT_EQ(chunk.first, next) << tokens << " tokens, chunk " << c << " of " << chunks;
        EXPECT_EQ(chunk.count, tokens / chunks + (c < tokens % chunks ? 1 : 0));
        next += chunk.count;
      }
      EXPECT_EQ(next, tokens);
    }
  }
}

}  // namespace
}  // namespace c2r
