// NAME     c2rbench_gpu_kernels - the CUDA kernels of an MoE layer against same-run ceilings
// PURPOSE  On one GPU: the grouped expert SwiGLU FFN (fp32 and bf16 inputs) against one dense
// cuBLAS
//          GEMM pair of the same FLOPs; the permute (pair sort + row gather) and the unpermute
//          (weighted sum) against a device-to-device copy of the same bytes; the gate per token.
// USAGE    build/c2rbench_gpu_kernels [--preset NAME ...] [--tokens 16384] [--iters 20]
//          [--out FILE.json]
// NOTES    Every kernel's output is checked against the CPU kernel before it is timed (exit 1 on a
//          wrong result); exit 2 without a CUDA device. Times: CUDA events, median of --iters.

#include <algorithm>
#include <cmath>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "kernels/cpu/expert_ffn.hpp"
#include "kernels/cpu/gating.hpp"
#include "kernels/cpu/permute.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/expert_ffn.hpp"
#include "kernels/cuda/gating.hpp"
#include "kernels/cuda/permute.hpp"
#include "model/model_config.hpp"
#include "model/workload.hpp"
#include "results/stats.hpp"
#include "results/table.hpp"

namespace c2r {
namespace {

using nlohmann::json;

struct Options {
  std::vector<std::string> presets = {"llama-moe-3.5b", "qwen1.5-moe-a2.7b"};
  int64_t tokens = 16384;
  int warmup = 3;
  int iters = 20;
  std::string out;
};

// Median milliseconds of `iters` runs of `body` after `warmup` untimed ones.
template <typename Body>
double time_ms(const Options& o, Body body) {
  cuda::EventTimer timer;
  std::vector<double> ms;
  for (int i = -o.warmup; i < o.iters; ++i) {
    timer.start();
    body();
    const double elapsed = timer.stop_ms();
    if (i >= 0) ms.push_back(elapsed);
  }
  return summarize(ms).median;
}

void check(bool ok, const std::string& what) {
  C2R_CHECK(ok, "check failed before timing: " << what);
}

double relative_error(const float* got, const float* want, size_t n) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    diff += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

json bench_preset(const Options& o, const std::string& preset, Table& table) {
  const ModelConfig model = make_model(preset, {});
  const int hidden = model.hidden, experts = model.experts, k = model.top_k, ffn = model.ffn;
  const int64_t tokens = o.tokens, pairs = tokens * k;
  WorkloadSpec spec;
  const TokenBatch batch = make_synthetic_batch(model, spec, 0, 0, tokens);

  cuda::Blas blas;
  cuda::DeviceBuffer<float> x(batch.x), router(batch.w_router), logits(tokens * experts);
  cuda::DeviceBuffer<int32_t> ids(pairs);
  cuda::DeviceBuffer<float> gate_weights(pairs);
  const GateSpec gate = GateSpec::vanilla(experts, k, model.gate_weights);
  const cuda::DeviceGateSpec device_gate = cuda::make_device_gate(gate);
  auto run_gate = [&] {
    cuda::router_logits(blas, x.data(), tokens, hidden, router.data(), experts, logits.data());
    cuda::select_experts(logits.data(), tokens, device_gate, ids.data(), gate_weights.data());
  };
  run_gate();
  const std::vector<int32_t> h_ids = ids.download();
  const std::vector<float> h_weights = gate_weights.download();
  {
    // Gate: the CPU selection on the GPU's logits must choose the same experts.
    const std::vector<float> h_logits = logits.download();
    std::vector<int32_t> cpu_ids(pairs);
    std::vector<float> cpu_weights(pairs);
    select_experts(h_logits.data(), tokens, gate, cpu_ids.data(), cpu_weights.data());
    check(cpu_ids == h_ids, preset + " gate: experts differ from the CPU selection");
    std::vector<float> cpu_logits(256 * experts);
    router_logits(batch.x.data(), 256, hidden, batch.w_router.data(), experts, cpu_logits.data());
    check(relative_error(h_logits.data(), cpu_logits.data(), cpu_logits.size()) < 1e-4,
          preset + " router GEMM differs from the CPU's");
  }

  // Permute: stable sort by expert, then gather token rows into expert order.
  cuda::PairSorter sorter;
  cuda::DeviceBuffer<int64_t> offsets(experts + 1), order(pairs), position(pairs);
  cuda::DeviceBuffer<float> permuted(pairs * hidden);
  auto run_permute = [&] {
    sorter.sort(ids.data(), pairs, experts, offsets.data(), order.data(), position.data());
    cuda::gather_rows(x.data(), hidden, order.data(), pairs, k, hidden, permuted.data(), hidden);
  };
  run_permute();
  const std::vector<int64_t> h_offsets = offsets.download();
  const std::vector<int64_t> h_order = order.download();
  const std::vector<int64_t> h_position = position.download();
  {
    std::vector<int64_t> cpu_offsets(experts + 1), cpu_order(pairs);
    stable_bucket_order(h_ids.data(), pairs, experts, cpu_offsets.data(), cpu_order.data());
    check(cpu_offsets == h_offsets && cpu_order == h_order, preset + " pair sort differs");
    const std::vector<float> h_permuted = permuted.download();
    for (int64_t i = 0; i < pairs; i += pairs / 64) {
      check(std::equal(&h_permuted[i * hidden], &h_permuted[(i + 1) * hidden],
                       &batch.x[(h_order[i] / k) * hidden]),
            preset + " gathered row differs");
    }
  }

  // Expert FFN, fp32 and bf16, and the dense ceilings.
  std::vector<FfnWeights> cpu_experts;
  std::vector<cuda::DeviceFfnWeights> device_experts;
  for (int e = 0; e < experts; ++e) {
    cpu_experts.push_back(make_ffn_weights(1, Stream::kExpert, e, hidden, ffn));
    device_experts.push_back(cuda::upload_ffn_weights(cpu_experts.back(), true));
  }
  std::vector<const cuda::DeviceFfnWeights*> bank;
  for (const auto& w : device_experts) bank.push_back(&w);
  int64_t largest = 0;
  for (int e = 0; e < experts; ++e) largest = std::max(largest, h_offsets[e + 1] - h_offsets[e]);
  cuda::DeviceBuffer<float> scratch(std::vector<float>(cuda::ffn_scratch_floats(pairs, ffn), 0.0f));
  cuda::DeviceBuffer<float> expert_out(pairs * hidden);
  std::vector<uint16_t> permuted_bf16_host;
  {
    const std::vector<float> h_permuted = permuted.download();
    permuted_bf16_host.resize(h_permuted.size());
    for (size_t i = 0; i < h_permuted.size(); ++i)
      permuted_bf16_host[i] = cuda::to_bf16(h_permuted[i]);
  }
  cuda::DeviceBuffer<uint16_t> permuted_bf16(permuted_bf16_host);
  for (bool bf16 : {false, true}) {
    if (bf16) {
      cuda::grouped_swiglu_ffn_bf16(blas, bank, h_offsets, permuted_bf16.data(), expert_out.data(),
                                    scratch.data());
    } else {
      cuda::grouped_swiglu_ffn(blas, bank, h_offsets, permuted.data(), expert_out.data(),
                               scratch.data());
    }
    // Check the first rows of every expert against the CPU FFN.
    const std::vector<float> h_out = expert_out.download();
    const std::vector<float> h_in = permuted.download();
    std::vector<float> cpu_scratch(ffn_scratch_floats(ffn));
    for (int e = 0; e < experts; ++e) {
      const int64_t rows = std::min<int64_t>(8, h_offsets[e + 1] - h_offsets[e]);
      if (rows == 0) continue;
      std::vector<float> want(rows * hidden);
      swiglu_ffn(cpu_experts[e],
                 RowBlock{&h_in[h_offsets[e] * hidden], hidden, want.data(), hidden, rows},
                 cpu_scratch.data());
      check(relative_error(&h_out[h_offsets[e] * hidden], want.data(), want.size()) <
                (bf16 ? 3e-2 : 1e-4),
            preset + (bf16 ? " bf16" : " fp32") + " grouped FFN differs from the CPU's");
    }
  }
  const double flops = pairs * 6.0 * hidden * ffn;
  json result = {{"preset", preset}, {"tokens", tokens}, {"pairs", pairs}};
  auto add = [&](const std::string& name, double ms, double ceiling_ms, double amount,
                 const std::string& unit) {
    const double rate = amount / (ms * 1e-3) / 1e9;
    table.add_row({preset, name, format_fixed(ms, 3), format_fixed(rate, 1) + " " + unit,
                   ceiling_ms > 0 ? format_fixed(ceiling_ms, 3) : "-",
                   ceiling_ms > 0 ? format_fixed(100.0 * ceiling_ms / ms, 1) : "-"});
    result[name] = {{"ms", ms},
                    {"ceiling_ms", ceiling_ms},
                    {"efficiency", ceiling_ms > 0 ? ceiling_ms / ms : 0.0}};
  };
  add("gate", time_ms(o, run_gate), 0.0, static_cast<double>(tokens), "Gtok/s");
  const double row_bytes = pairs * hidden * sizeof(float);
  cuda::DeviceBuffer<float> copy_target(pairs * hidden);
  const double copy_ms =
      time_ms(o, [&] { cuda::copy_device(copy_target.data(), permuted.data(), row_bytes); });
  add("permute", time_ms(o, run_permute), copy_ms, row_bytes, "GB/s");
  for (bool bf16 : {false, true}) {
    const double grouped = time_ms(o, [&] {
      if (bf16) {
        cuda::grouped_swiglu_ffn_bf16(blas, bank, h_offsets, permuted_bf16.data(),
                                      expert_out.data(), scratch.data());
      } else {
        cuda::grouped_swiglu_ffn(blas, bank, h_offsets, permuted.data(), expert_out.data(),
                                 scratch.data());
      }
    });
    const double dense = time_ms(o, [&] {
      cuda::dense_ffn_gemms(blas, device_experts.front(),
                            bf16 ? static_cast<const void*>(permuted_bf16.data())
                                 : static_cast<const void*>(permuted.data()),
                            pairs, bf16, expert_out.data(), scratch.data());
    });
    add(bf16 ? "ffn_bf16" : "ffn_fp32", grouped, dense, flops, "GFLOP/s");
  }
  cuda::DeviceBuffer<float> y(tokens * hidden);
  const auto run_unpermute = [&] {
    cuda::weighted_unpermute(expert_out.data(), hidden, position.data(), gate_weights.data(),
                             tokens, k, hidden, y.data());
  };
  run_unpermute();
  {
    const std::vector<float> h_out = expert_out.download();
    const std::vector<float> h_y = y.download();
    std::vector<float> want(64 * hidden);
    weighted_unpermute(h_out.data(), hidden, h_position.data(), h_weights.data(), 64, k, hidden,
                       want.data());
    check(relative_error(h_y.data(), want.data(), want.size()) < 1e-5,
          preset + " unpermute differs from the CPU's");
  }
  add("unpermute", time_ms(o, run_unpermute), copy_ms, row_bytes, "GB/s");
  // The whole one-GPU layer (no exchange, no shared expert), fp32: what a PyTorch layer is set
  // against.
  add("layer_fp32",
      time_ms(o,
              [&] {
                run_gate();
                run_permute();
                cuda::grouped_swiglu_ffn(blas, bank, h_offsets, permuted.data(), expert_out.data(),
                                         scratch.data());
                run_unpermute();
              }),
      0.0, static_cast<double>(tokens), "Gtok/s");
  result["largest_group_rows"] = largest;
  return result;
}

}  // namespace
}  // namespace c2r

int main(int argc, char** argv) {
  c2r::Options o;
  CLI::App app{"c2rbench_gpu_kernels: CUDA kernels of an MoE layer against same-run ceilings"};
  app.add_option("--preset", o.presets, "Model presets")->delimiter(',')->capture_default_str();
  app.add_option("--tokens", o.tokens, "Tokens")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Untimed runs per kernel")->capture_default_str();
  app.add_option("--iters", o.iters, "Timed runs per kernel (median kept)")->capture_default_str();
  app.add_option("--out", o.out, "Write the results as JSON here (never overwritten)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (c2r::cuda::device_count() == 0) {  // throws where a GPU is there but unusable
      std::cerr << "c2rbench_gpu_kernels: no CUDA device; nothing measured\n";
      return 2;
    }
    C2R_CHECK(o.tokens >= 64 && o.iters >= 1 && o.warmup >= 0,
              "--tokens must be at least 64 and --iters at least 1");
    std::cout << "# device: " << c2r::cuda::device_description() << ", " << o.tokens
              << " tokens; efficiency = same-run ceiling time / kernel time\n";
    c2r::Table table({{"preset", "", true},
                      {"kernel", "", true},
                      {"time", "ms"},
                      {"rate", "", true},
                      {"ceiling", "ms"},
                      {"efficiency", "%"}});
    nlohmann::json results = nlohmann::json::array();
    for (const auto& preset : o.presets) results.push_back(c2r::bench_preset(o, preset, table));
    table.print(std::cout);
    if (!o.out.empty()) {
      const nlohmann::json doc = {{"schema", "c2rbench.gpu-kernels"},
                                  {"schema_version", 1},
                                  {"device", c2r::cuda::device_description()},
                                  {"results", results}};
      c2r::write_file_atomically(o.out, doc.dump(1) + "\n", false);
    }
  } catch (const c2r::Error& e) {
    std::cerr << "c2rbench_gpu_kernels: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
