#include "cli/options.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

#include "bench/context.hpp"
#include "bench/fault_injection.hpp"
#include "bench/routing_source.hpp"
#include "common/error.hpp"
#include "common/every_rank.hpp"
#include "model/placement.hpp"
#include "model/reference_data.hpp"

namespace c2r {

namespace {

// The comma-separated items of `text`, each with its value as a whole non-negative integer, or -1
// when it is not one.
std::vector<std::pair<std::string, int64_t>> integer_items(const std::string& text) {
  std::vector<std::pair<std::string, int64_t>> items;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int64_t value = -1;
    try {
      size_t used = 0;
      value = std::stoll(item, &used);
      if (used != item.size() || value < 0) value = -1;
    } catch (const std::exception&) {
      value = -1;
    }
    items.emplace_back(item, value);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// `text` as a whole number of decimal digits only (no sign, no space), or -1 when it is not one
// or does not fit in int64.
int64_t digits_value(const std::string& text) {
  if (text.empty() || text.size() > 19) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "START:STOP:xFACTOR": START, START*FACTOR, ... while at most STOP.
std::vector<int64_t> geometric_sweep(const std::string& range) {
  const std::string form = "--sweep tokens=" + range;
  const size_t first = range.find(':');
  const size_t second = range.find(':', first + 1);
  C2R_CHECK(second != std::string::npos && range.find(':', second + 1) == std::string::npos &&
                range.compare(second + 1, 1, "x") == 0,
            form << " is not tokens=START:STOP:xFACTOR (e.g. tokens=1:4096:x2)");
  const std::string start_text = range.substr(0, first);
  const std::string stop_text = range.substr(first + 1, second - first - 1);
  const std::string factor_text = range.substr(second + 2);
  const int64_t start = digits_value(start_text);
  const int64_t stop = digits_value(stop_text);
  const int64_t factor = digits_value(factor_text);
  C2R_CHECK(start >= 1, form << ": START '" << start_text << "' is not a positive token count");
  C2R_CHECK(stop >= 1, form << ": STOP '" << stop_text << "' is not a positive token count");
  C2R_CHECK(stop >= start, form << ": STOP " << stop << " is below START " << start);
  C2R_CHECK(factor >= 2, form << ": FACTOR 'x" << factor_text
                              << "' is not a whole number of 2 or more (e.g. x2)");
  std::vector<int64_t> values;
  for (int64_t value = start;;) {
    values.push_back(value);
    // Compared before multiplying: the next value could pass int64 (STOP near 2^63).
    if (value > stop / factor) return values;
    value *= factor;
  }
}

}  // namespace

std::vector<int64_t> parse_token_sweep(const std::string& text) {
  const std::string prefix = "tokens=";
  C2R_CHECK(text.compare(0, prefix.size(), prefix) == 0,
            "--sweep '" << text << "': only tokens=V1,V2,... or tokens=START:STOP:xFACTOR is "
                        << "supported (sweep ranks with scripts/sweep_ranks.sh)");
  if (text.find(':') != std::string::npos) return geometric_sweep(text.substr(prefix.size()));
  std::vector<int64_t> values;
  for (const auto& [item, value] : integer_items(text.substr(prefix.size()))) {
    C2R_CHECK(value >= 1, "--sweep: '" << item << "' is not a positive token count");
    C2R_CHECK(std::find(values.begin(), values.end(), value) == values.end(),
              "--sweep lists tokens=" << value << " twice");
    values.push_back(value);
  }
  return values;
}

std::vector<int64_t> parse_rank_tokens(const std::string& text, int ranks) {
  std::vector<int64_t> counts;
  for (const auto& [item, value] : integer_items(text)) {
    C2R_CHECK(value >= 0, "--rank-tokens: '" << item << "' is not a token count (0 or more)");
    counts.push_back(value);
  }
  C2R_CHECK(static_cast<int>(counts.size()) == ranks,
            "--rank-tokens lists " << counts.size() << " counts; the job has " << ranks
                                   << " ranks (one count per rank)");
  C2R_CHECK(std::accumulate(counts.begin(), counts.end(), int64_t{0}) >= 1,
            "--rank-tokens: every count is 0; the layer needs at least one token");
  return counts;
}

std::vector<int> parse_layers(const std::string& text, const ModelConfig& model,
                              WorkloadKind workload) {
  if (text == "all") {
    C2R_CHECK(workload == WorkloadKind::kTrace,
              "--layer all needs --workload trace (other workloads have one synthetic layer)");
    std::vector<int> all(model.layers);
    for (int l = 0; l < model.layers; ++l) all[l] = l;
    return all;
  }
  std::vector<int> layers;
  for (const auto& [item, value] : integer_items(text)) {
    C2R_CHECK(
        value >= 0 && value <= std::numeric_limits<int>::max(),
        "--layer must be a layer number, a comma list of them, or 'all' (got '" << text << "')");
    const int layer = static_cast<int>(value);
    C2R_CHECK(std::find(layers.begin(), layers.end(), layer) == layers.end(),
              "--layer lists layer " << layer << " twice");
    C2R_CHECK(layer < model.layers, "--layer " << layer << " is out of range: the model has "
                                               << model.layers << " layers");
    layers.push_back(layer);
  }
  return layers;
}

std::vector<int> resolve_layers(const std::string& text, const WorkloadSetup& setup) {
  if (setup.trace_layers.empty()) return parse_layers(text, setup.model, setup.workload.kind);
  if (text == "all") return setup.trace_layers;
  // The trace's layer numbers may have gaps: parse any, then keep those it holds.
  ModelConfig any_layer = setup.model;
  any_layer.layers = std::numeric_limits<int>::max();
  const std::vector<int> layers = parse_layers(text, any_layer, setup.workload.kind);
  for (int layer : layers) {
    C2R_CHECK(std::binary_search(setup.trace_layers.begin(), setup.trace_layers.end(), layer),
              "--layer " << layer << " is not in --trace " << setup.workload.trace_file
                         << " (its layers: " << describe_layers(setup.trace_layers) << ")");
  }
  return layers;
}

namespace {

// The model of a user trace: its experts, top-k and layers; the widths from --hidden and --ffn,
// or from --preset, whose experts and top-k must be the trace's.
ModelConfig trace_model(const WorkloadOptions& o, const RoutingTrace& trace) {
  const ModelOverrides& v = o.overrides;
  const std::string flag = "--trace " + o.trace;
  C2R_CHECK(!v.experts || *v.experts == trace.experts,
            "--experts " << v.experts.value_or(0) << " differs from " << flag << ", which has "
                         << trace.experts << " experts");
  C2R_CHECK(!v.top_k || *v.top_k == trace.top_k, "--top-k " << v.top_k.value_or(0)
                                                            << " differs from " << flag
                                                            << ", which has top-" << trace.top_k);
  ModelConfig m;
  if (o.preset_given) {
    m = make_model(o.preset, {});
    C2R_CHECK(m.experts == trace.experts && m.top_k == trace.top_k,
              flag << " has " << trace.experts << " experts and top-" << trace.top_k
                   << "; --preset " << o.preset << " has " << m.experts << " experts and top-"
                   << m.top_k << " (leave --preset out and give the model's --hidden and --ffn)");
  } else {
    C2R_CHECK(v.hidden && v.ffn, flag << " gives the routing, not the model's sizes: give its "
                                         "--hidden and --ffn, or a --preset with "
                                      << trace.experts << " experts and top-" << trace.top_k);
    m.preset = "custom";
    m.experts = trace.experts;
    m.top_k = trace.top_k;
    // C2R's Top-T when --top-t is not given: 2k, one of tune's default candidates, within
    // k - 1 <= T <= E - 1.
    m.default_top_t = std::min(trace.experts - 1, std::max(trace.top_k - 1, 2 * trace.top_k));
    m.gate_weights = GateWeights::kSoftmaxOverChosen;
  }
  if (v.hidden) m.hidden = *v.hidden;
  if (v.ffn) m.ffn = *v.ffn;
  if (v.shared_ffn) m.shared_ffn = *v.shared_ffn;
  m.layers = trace.layers.back().layer + 1;
  m.trace_family.clear();  // routing comes from the user's trace, never from a preset's data
  C2R_CHECK(m.hidden >= m.experts,
            flag << ": the trace workload builds each token's hidden state so that the router "
                    "selects the trace's experts, with one router direction per expert; it needs "
                    "--hidden of at least the "
                 << m.experts << " experts (got " << m.hidden << ")");
  m.validate();
  return m;
}

}  // namespace

std::string data_directory(const WorkloadOptions& o) {
  if (!o.data_dir.empty()) return o.data_dir;
  // An installed c2rbench reads the data installed beside it (P/bin -> P/share/c2rbench/data),
  // wherever P was moved; a build tree's, the source tree's.
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path installed = exe.parent_path() / C2R_DATA_FROM_BIN;
    if (std::filesystem::is_directory(installed / "reference", ec)) {
      return installed.lexically_normal().string();
    }
  }
  return C2R_DEFAULT_DATA_DIR;
}

const RoutingTrace* read_user_trace(const WorkloadOptions& o, DataStore& data) {
  if (o.trace.empty()) return nullptr;
  try {
    return &data.routing_trace(o.trace);
  } catch (const Error& e) {
    if (!e.raised_on_all_ranks()) throw;
    throw Error::on_all_ranks("--trace: " + std::string(e.what()));
  }
}

WorkloadSetup resolve_workload(const WorkloadOptions& o, const RoutingTrace* trace) {
  WorkloadSetup s;
  // The overrides by flag, before the model checks the result in its own terms.
  const ModelConfig preset = make_model(o.preset, {});
  const ModelOverrides& v = o.overrides;
  if (o.trace.empty()) trace = nullptr;
  const int experts = v.experts.value_or(trace ? trace->experts : preset.experts);
  const int top_k = v.top_k.value_or(trace ? trace->top_k : preset.top_k);
  C2R_CHECK(experts >= 1, "--experts must be at least 1 (got " << experts << ")");
  C2R_CHECK(top_k >= 1 && top_k <= experts, "--top-k must be between 1 and the number of experts "
                                                << experts << " (got " << top_k << ")");
  C2R_CHECK(v.hidden.value_or(1) >= 1, "--hidden must be at least 1 (got " << *v.hidden << ")");
  C2R_CHECK(v.ffn.value_or(1) >= 1, "--ffn must be at least 1 (got " << *v.ffn << ")");
  C2R_CHECK(v.shared_ffn.value_or(0) >= 0,
            "--shared-ffn must be 0 (none) or positive (got " << *v.shared_ffn << ")");
  s.workload.kind = parse_workload(o.kind);
  if (!o.trace.empty()) {
    C2R_CHECK(
        s.workload.kind == WorkloadKind::kTrace,
        "--trace gives the routing of --workload trace; --workload " << o.kind << " makes its own");
    C2R_CHECK(trace != nullptr, "--trace " << o.trace << " was not read");
    s.model = trace_model(o, *trace);
    s.workload.trace_file = o.trace;
    s.trace_layers = trace->layer_numbers();
  } else {
    s.model = make_model(o.preset, o.overrides);
  }
  s.workload.seed = o.seed;
  s.workload.groups = o.groups;
  s.workload.cluster_strength = o.cluster_strength;
  s.workload.hot_experts = o.hot_experts;
  C2R_CHECK(o.tokens >= 1, "--tokens must be at least 1 per rank (got " << o.tokens << ")");
  C2R_CHECK(o.hot_experts >= 1 && o.hot_experts <= s.model.experts,
            "--hot-experts must be between 1 and the number of experts " << s.model.experts);
  C2R_CHECK(o.groups >= 0 && o.groups <= s.model.experts,
            "--groups must be between 0 (auto) and the number of experts " << s.model.experts);
  C2R_CHECK(o.cluster_strength >= 0.0, "--cluster-strength must be >= 0");
  if (s.workload.kind == WorkloadKind::kTrace && o.trace.empty()) {
    C2R_CHECK(!s.model.trace_family.empty(), "preset " << s.model.preset << " has no trace data");
  }
  s.data_dir = data_directory(o);
  return s;
}

ProcessOptions resolve_process(const ProcessOptions& o) {
  C2R_CHECK(o.backend == "cpu" || o.backend == "cuda",
            "unknown backend '" << o.backend << "' (known: cpu, cuda)");
  C2R_CHECK(o.blas_threads >= 1, "--blas-threads must be at least 1");
  C2R_CHECK(o.exchange == "auto" || o.exchange == "nccl" || o.exchange == "mpi",
            "unknown --exchange '" << o.exchange << "' (known: auto, nccl, mpi)");
  C2R_CHECK(
      o.backend == "cuda" || o.exchange != "nccl",
      "--exchange nccl needs --backend cuda (the " << o.backend << " backend exchanges over MPI)");
  ProcessOptions resolved = o;
  if (resolved.exchange == "auto") resolved.exchange = o.backend == "cuda" ? "nccl" : "mpi";
  return resolved;
}

RunConfig resolve_run_config(const RunOptions& o, int ranks, const RoutingTrace* trace) {
  resolve_process(o.process);
  const WorkloadSetup setup = resolve_workload(o.workload, trace);
  std::vector<int64_t> rank_tokens;
  if (o.rank_tokens.empty()) {
    rank_tokens.assign(ranks, o.workload.tokens);
  } else {
    rank_tokens = parse_rank_tokens(o.rank_tokens, ranks);
    C2R_CHECK(o.sweep.empty(), "--rank-tokens and --sweep cannot be combined");
  }
  check_experts_divide(setup.model.experts, ranks);

  GridSpec grid;
  grid.layers = resolve_layers(o.layer, setup);
  C2R_CHECK(o.capacity_factor > 0.0, "--capacity-factor must be positive");
  C2R_CHECK(o.warmup >= 1, "--warmup must be at least 1 (the first run sizes the buffers)");
  C2R_CHECK(o.iters >= 1, "--iters must be at least 1");
  C2R_CHECK(std::isfinite(o.min_time) && o.min_time >= 0.0,
            "--min-time must be a finite number of seconds, 0 or more");
  C2R_CHECK(o.min_time == 0.0 || o.max_iters >= o.iters,
            "--max-iters " << o.max_iters << " is below --iters " << o.iters
                           << " (with --min-time, the timed iterations go from --iters up to "
                              "--max-iters)");
  C2R_CHECK(o.tolerance > 0.0, "--tolerance must be positive");
  C2R_CHECK(!o.routing.empty() && !o.strategy.empty() && !o.placement.empty(),
            "--routing, --strategy and --placement each need at least one value");
  for (const auto& r : o.routing) grid.routings.push_back(parse_routing(r));
  for (const auto& s : o.strategy) grid.strategies.push_back(&find_strategy(s));
  for (const auto& p : o.placement) {
    C2R_CHECK(!p.empty(), "--placement has an empty entry");
  }
  grid.placements = o.placement;
  // EPLB's slots: every rank holds (E + replicas) / R of them.
  const int replicas = o.replicas < 0 ? ranks : o.replicas;
  if (std::count(grid.placements.begin(), grid.placements.end(), "eplb") > 0) {
    try {
      check_eplb_shape(setup.model.experts, EplbShape{ranks, 1, 1, replicas});
    } catch (const Error& e) {
      throw Error("--placement eplb --replicas " + std::to_string(replicas) + ": " + e.what());
    }
    C2R_CHECK(o.process.backend == "cpu",
              "--placement eplb (replicated experts) runs on the cpu backend only");
  }
  grid.dtypes.clear();
  for (const auto& d : o.dtype) grid.dtypes.push_back(parse_payload_type(d));
  for (const StrategyDescriptor* s : grid.strategies) {
    for (PayloadType d : grid.dtypes) {
      C2R_CHECK(s->sends(d),
                "--strategy " << s->name << " does not send --dtype " << to_string(d) << " rows");
    }
  }
  grid.overlaps = o.overlap;
  const OverlapProgress overlap_progress = parse_overlap_progress(o.overlap_progress);
  C2R_CHECK(o.process.backend == "cpu" || std::all_of(grid.overlaps.begin(), grid.overlaps.end(),
                                                      [](int n) { return n == 1; }),
            "--overlap above 1 runs on the cpu backend only (the " << o.process.backend
                                                                   << " backend runs the serial "
                                                                      "layer)");
  C2R_CHECK(o.process.backend == "cpu" ||
                std::all_of(grid.dtypes.begin(), grid.dtypes.end(),
                            [](PayloadType d) { return d == PayloadType::kFp32; }),
            "--dtype bf16 and fp8 run on the cpu backend only (the " << o.process.backend
                                                                     << " backend sends fp32)");
  const ModelConfig& model = setup.model;
  grid.top_ts = o.top_t.empty() ? std::vector<int>{model.default_top_t} : o.top_t;
  const bool any_c2r =
      std::count(grid.routings.begin(), grid.routings.end(), RoutingMode::kC2R) > 0;
  if (any_c2r) {
    for (int t : grid.top_ts) {
      C2R_CHECK(t >= model.top_k - 1 && t <= model.experts - 1,
                "--top-t " << t << " is out of range: C2R with top-k " << model.top_k << " and "
                           << model.experts << " experts needs " << model.top_k - 1
                           << " <= T <= " << model.experts - 1);
    }
  }

  RunConfig c = make_run_config(setup, grid, std::move(rank_tokens));
  c.capacity_factor = o.capacity_factor;
  c.replicas = replicas;
  c.overlap_progress = overlap_progress;
  c.loops.warmup = o.warmup;
  c.loops.iterations = o.iters;
  c.loops.min_seconds = o.min_time;
  c.loops.max_iterations = o.max_iters;
  c.order = parse_cell_order(o.order);
  c.check = o.check;
  c.tolerance = o.tolerance;
  return c;
}

double parse_memory_size(const std::string& text) {
  size_t used = 0;
  double value = -1.0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    value = -1.0;
  }
  std::string unit = value >= 0 ? text.substr(used) : "";
  double scale = 1.0;
  if (unit == "K" || unit == "KiB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MiB")
    scale = 1024.0 * 1024.0;
  else if (unit == "G" || unit == "GiB")
    scale = 1024.0 * 1024.0 * 1024.0;
  else if (unit == "T" || unit == "TiB")
    scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  else if (!unit.empty() && unit != "B")
    value = -1.0;
  C2R_CHECK(value > 0.0 && std::isfinite(value * scale),
            "--max-memory '" << text << "' is not a size (e.g. 512MiB, 2GiB)");
  return value * scale;
}

double check_memory_limit(const MemoryEstimate& estimate, const std::string& max_memory,
                          const std::string& advice, const Communicator& comm) {
  const int local_ranks = ranks_on_this_node(comm);
  // Nodes differ in memory and ranks: only some ranks may find the default limit exceeded.
  double limit = 0.0;
  on_every_rank(comm, [&] {
    limit =
        max_memory.empty() ? default_memory_per_rank(local_ranks) : parse_memory_size(max_memory);
    if (estimate.total_bytes <= limit) return;
    throw Error("a rank would need about " + format_bytes(estimate.total_bytes) + " (" +
                describe_items(estimate) + "), more than --max-memory " + format_bytes(limit) +
                (max_memory.empty()
                     ? " (this node's memory / its " + std::to_string(local_ranks) + " ranks)"
                     : std::string()) +
                "; " + advice);
  });
  return limit;
}

OutputFile choose_output_file(const std::string& out, const std::string& stem,
                              const Communicator& comm) {
  OutputFile file;
  on_every_rank(comm, [&] {
    if (comm.rank() != 0) return;
    file = out.empty() ? OutputFile::fresh("results", stem + "-" + timestamp_for_filename())
                       : OutputFile::given(out, "--out");
  });
  return file;
}

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

int parse_count(const std::string& text, const std::string& what, const std::string& whole) {
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  C2R_CHECK(used == text.size() && value >= 0, "--inject-fault '"
                                                   << whole << "': " << what << " '" << text
                                                   << "' is not a number (0 or more)");
  return value;
}

}  // namespace

FaultSpec parse_fault(const std::string& text, int ranks) {
  const std::vector<std::string> parts = split(text, ':');
  C2R_CHECK(parts.size() >= 2 && parts.size() <= 4,
            "--inject-fault '" << text << "' is not KIND:RANK[:PHASE[:N]] (e.g. stall:1:dispatch)");
  FaultSpec fault;
  if (parts[0] == "exit") {
    fault.kind = FaultKind::kExit;
  } else if (parts[0] == "stall") {
    fault.kind = FaultKind::kStall;
  } else {
    throw Error("--inject-fault: unknown kind '" + parts[0] + "' (known: exit, stall)");
  }
  fault.rank = parse_count(parts[1], "rank", text);
  C2R_CHECK(fault.rank < ranks, "--inject-fault: rank "
                                    << fault.rank << " is not in the job (ranks 0.." << ranks - 1
                                    << ")");
  if (parts.size() >= 3) {
    bool known = false;
    for (int p = 0; p < kNumPhases; ++p) {
      const Phase phase = static_cast<Phase>(p);
      if (phase != Phase::kSync && parts[2] == phase_name(phase)) {
        fault.phase = phase;
        known = true;
      }
    }
    C2R_CHECK(known, "--inject-fault: unknown phase '"
                         << parts[2]
                         << "' (known: gate, permute, dispatch, expert, combine, "
                            "unpermute)");
  }
  if (parts.size() == 4) fault.occurrence = parse_count(parts[3], "occurrence", text);
  return fault;
}

namespace {

void check_layer(int layer, int layers, const std::string& source) {
  C2R_CHECK(layer >= 0 && layer < layers, "--layer " << layer << " is out of range: " << source
                                                     << " has layers 0.." << layers - 1);
}

}  // namespace

void check_run_inputs(const RunConfig& config, const LayerSuite& suite, DataStore& data,
                      int ranks) {
  try {
    const std::string family = config.model.trace_family;
    const RoutingSource& routing = suite.routing();
    for (const Cell& cell : config.cells) {
      if (routing.user_trace()) {
        const std::string& file = config.workload.trace_file;
        const RoutingTrace& trace = data.routing_trace(file);
        C2R_CHECK(trace.find(cell.layer) != nullptr,
                  "--layer " << cell.layer << " is not in --trace " << file
                             << " (its layers: " << describe_layers(trace.layer_numbers()) << ")");
      } else if (config.workload.kind == WorkloadKind::kTrace) {
        if (routing.pair_trace()) {
          const std::string file = routing.pair_trace_file(cell.routing, cell.top_t);
          C2R_CHECK(cell.routing == RoutingMode::kVanilla || data.reference_file_exists(file),
                    "no " << family << " C2R trace for --top-t " << cell.top_t
                          << " (missing data file " << file << ")");
          const LayerCollaboration& m = data.collaboration_matrix(file);
          C2R_CHECK(
              m.layers.front().experts == config.model.experts && m.top_k == config.model.top_k,
              "the trace data (" << file << ") is for " << m.layers.front().experts
                                 << " experts and top-" << m.top_k << "; the run has "
                                 << config.model.experts << " experts and top-"
                                 << config.model.top_k);
          check_layer(cell.layer, static_cast<int>(m.layers.size()), file);
        }
        if (cell.routing == RoutingMode::kC2R) {
          const LayerCollaborativeLists& lists =
              data.collaborative_list(collaborative_list_file(family));
          C2R_CHECK(lists.layers.front().experts == config.model.experts,
                    "the collaborative list of "
                        << family << " is for " << lists.layers.front().experts
                        << " experts; the run has " << config.model.experts);
          check_layer(cell.layer, static_cast<int>(lists.layers.size()),
                      collaborative_list_file(family));
        }
      }
      if (!is_builtin_placement(cell.placement) &&
          !suite.has_added_placement(cell.placement, cell.layer)) {
        try {
          data.placement_file(cell.placement)
              .for_layer(cell.layer, config.model.experts, ranks, config.model.preset);
        } catch (const Error& e) {
          // Name the flag: a mistyped built-in name reads as a missing file.
          throw Error::on_all_ranks("--placement " + cell.placement +
                                    " (not contiguous, round-robin or collab, so a placement "
                                    "file): " +
                                    e.what());
        }
      }
    }
  } catch (const Error& e) {
    if (e.raised_on_all_ranks()) throw;
    throw Error::on_all_ranks(e.what());  // the checks above are deterministic on every rank
  }
}

}  // namespace c2r
