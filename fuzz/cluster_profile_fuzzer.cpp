// NAME     cluster_profile_fuzzer
// PURPOSE  parse_cluster_profile (`c2rbench topo --out` files, read by `tune --cluster`) on
//          arbitrary text, then what tune builds from an accepted profile: the cost model's
//          cluster, the profile echoed into the tuning file, and its printed tables.
// USAGE    scripts/fuzz.sh, or build-fuzz/fuzz/fuzz_cluster_profile CORPUS_DIR [libFuzzer flags]

#include <sstream>

#include "fuzz/fuzz_reader.hpp"
#include "tuner/cluster_model.hpp"
#include "tuner/topology.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = c2r::fuzz::input_text(data, size);
  c2r::fuzz::refused_by_name([&] {
    if (c2r::is_cluster_spec(text)) return;  // tune reads those with parse_cluster_spec
    const c2r::ClusterProfile profile = c2r::parse_cluster_profile(text, c2r::fuzz::kSource);
    c2r::ComputeRates rates;
    rates.expert_flops_per_s = rates.router_flops_per_s = 1e11;
    rates.copy_Bps = 1e10;
    const c2r::ClusterModel model = c2r::cluster_model_from_profile(profile, rates);
    std::ostringstream out;
    out << model.to_json().dump() << profile.to_json().dump();
    c2r::print_cluster_profile(out, profile);
  });
  return 0;
}
