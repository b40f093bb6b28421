#include "tuner/eplb.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"

namespace c2r {

Packing balanced_packing(const std::vector<double>& weights, int packs) {
  const int items = static_cast<int>(weights.size());
  C2R_CHECK(packs >= 1 && items % packs == 0,
            items << " items do not pack evenly into " << packs << " packs");
  const int per_pack = items / packs;
  Packing p{std::vector<int>(items), std::vector<int>(items, 0)};
  if (per_pack == 1) {  // eplb.py: one item a pack keeps the items' order
    std::iota(p.pack.begin(), p.pack.end(), 0);
    return p;
  }
  std::vector<int> order(items);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return weights[a] > weights[b]; });
  std::vector<double> pack_weight(packs, 0.0);
  std::vector<int> pack_items(packs, 0);
  for (int item : order) {
    int best = -1;
    for (int k = 0; k < packs; ++k) {
      if (pack_items[k] < per_pack && (best < 0 || pack_weight[k] < pack_weight[best])) best = k;
    }
    p.pack[item] = best;
    p.position[item] = pack_items[best]++;
    pack_weight[best] += weights[item];
  }
  return p;
}

Replication replicate_experts(const std::vector<double>& weights, int slots) {
  const int logical = static_cast<int>(weights.size());
  C2R_CHECK(slots >= logical, slots << " slots cannot hold " << logical << " experts");
  Replication r{std::vector<int>(slots), std::vector<int>(logical, 1)};
  std::iota(r.slot_expert.begin(), r.slot_expert.begin() + logical, 0);
  for (int s = logical; s < slots; ++s) {
    int hottest = 0;
    for (int e = 1; e < logical; ++e) {
      if (weights[e] / r.replica_count[e] > weights[hottest] / r.replica_count[hottest]) {
        hottest = e;
      }
    }
    r.slot_expert[s] = hottest;
    ++r.replica_count[hottest];
  }
  return r;
}

void check_eplb_shape(int experts, const EplbShape& s) {
  C2R_CHECK(s.ranks >= 1 && s.nodes >= 1 && s.groups >= 1, "EPLB needs ranks, nodes and groups");
  C2R_CHECK(s.replicas >= 0, s.replicas << " redundant experts: cannot be negative");
  C2R_CHECK((experts + s.replicas) % s.ranks == 0,
            experts << " experts + " << s.replicas << " replicas do not divide over " << s.ranks
                    << " ranks (every rank holds the same number of expert slots; choose "
                       "replicas so that experts + replicas is a multiple of the ranks)");
  C2R_CHECK(s.ranks % s.nodes == 0,
            s.ranks << " ranks do not divide over " << s.nodes << " nodes for EPLB");
  C2R_CHECK(experts % s.groups == 0,
            experts << " experts do not divide into " << s.groups << " expert groups");
}

bool eplb_hierarchical(const EplbShape& s) {
  return s.nodes > 1 && s.groups % s.nodes == 0;
}

Placement eplb_placement(const std::vector<double>& loads, const EplbShape& shape,
                         const std::string& name) {
  const int experts = static_cast<int>(loads.size());
  check_eplb_shape(experts, shape);
  // eplb.py's rebalance_experts: the global policy is the hierarchical one with one group on one
  // node.
  const bool hierarchical = eplb_hierarchical(shape);
  const int groups = hierarchical ? shape.groups : 1;
  const int nodes = hierarchical ? shape.nodes : 1;
  const int slots = experts + shape.replicas;
  const int group_size = experts / groups;
  const int groups_per_node = groups / nodes;
  const int experts_per_node = experts / nodes;
  const int slots_per_node = slots / nodes;
  const int slots_per_rank = slots / shape.ranks;
  const int ranks_per_node = shape.ranks / nodes;

  // 1. Expert groups to nodes. Node-major ("mlog") order: node n's experts are
  //    [n * experts_per_node, (n + 1) * experts_per_node), its groups in packing order.
  std::vector<double> group_load(groups, 0.0);
  for (int e = 0; e < experts; ++e) group_load[e / group_size] += loads[e];
  const Packing group_packing = balanced_packing(group_load, nodes);
  std::vector<int> node_order_expert(experts);  // [E] mlog -> logical expert
  for (int e = 0; e < experts; ++e) {
    const int g = e / group_size;
    const int mlog =
        (group_packing.pack[g] * groups_per_node + group_packing.position[g]) * group_size +
        e % group_size;
    node_order_expert[mlog] = e;
  }

  std::vector<std::vector<int>> rank_experts(shape.ranks, std::vector<int>(slots_per_rank));
  for (int n = 0; n < nodes; ++n) {
    // 2. Replicate the node's hottest experts into its slots.
    std::vector<double> node_load(experts_per_node);  // [E/N] by node-local mlog index
    for (int j = 0; j < experts_per_node; ++j) {
      node_load[j] = loads[node_order_expert[n * experts_per_node + j]];
    }
    const Replication rep = replicate_experts(node_load, slots_per_node);
    // 3. The replicas, each with an even share of its expert's load, to the node's ranks.
    std::vector<double> replica_load(slots_per_node);
    for (int q = 0; q < slots_per_node; ++q) {
      replica_load[q] = node_load[rep.slot_expert[q]] / rep.replica_count[rep.slot_expert[q]];
    }
    const Packing rank_packing = balanced_packing(replica_load, ranks_per_node);
    for (int q = 0; q < slots_per_node; ++q) {
      const int rank = n * ranks_per_node + rank_packing.pack[q];
      rank_experts[rank][rank_packing.position[q]] =
          node_order_expert[n * experts_per_node + rep.slot_expert[q]];
    }
  }
  return Placement(name, rank_experts, experts);
}

Placement add_replicas(const Placement& base, const std::vector<double>& loads, int replicas,
                       const std::string& name) {
  const int experts = base.experts(), ranks = base.ranks();
  C2R_CHECK(!base.replicated(), "placement '" << base.name() << "' already replicates experts");
  C2R_CHECK(replicas >= 0 && replicas % ranks == 0,
            replicas << " redundant experts do not divide over " << ranks << " ranks");
  if (replicas == 0) return base;
  const Replication rep = replicate_experts(loads, experts + replicas);
  std::vector<std::vector<int>> rank_experts = base.rank_experts();
  std::vector<int> free(ranks, replicas / ranks);
  // A rank's expected load: each of its slots carries its expert's load over its replica count.
  auto rank_load = [&](int r) {
    double load = 0.0;
    for (int e : rank_experts[r]) load += loads[e] / rep.replica_count[e];
    return load;
  };
  for (int s = experts; s < experts + replicas; ++s) {
    const int e = rep.slot_expert[s];
    int best = -1;
    bool best_holds = true;
    double best_load = 0.0;
    for (int r = 0; r < ranks; ++r) {
      if (free[r] == 0) continue;
      const bool holds = std::count(rank_experts[r].begin(), rank_experts[r].end(), e) > 0;
      const double load = rank_load(r);
      if (best < 0 || (best_holds && !holds) || (holds == best_holds && load < best_load)) {
        best = r;
        best_holds = holds;
        best_load = load;
      }
    }
    rank_experts[best].push_back(e);
    --free[best];
  }
  return Placement(name, rank_experts, experts);
}

}  // namespace c2r
