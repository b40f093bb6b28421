#pragma once
// The EPLB placement (DeepSeek's expert-parallel load balancer, deepseek-ai/EPLB eplb.py), the
// replicated-expert baseline serving stacks deploy (SGLang, vLLM, Megatron): hot experts get
// redundant replicas so that every rank holds the same number of expert slots and as even a
// load as the packing finds. Written from the published algorithm, for one layer:
//
//   hierarchical (expert groups divide over nodes):
//     1. pack the expert groups to nodes, balancing the groups' loads (balanced_packing);
//     2. within each node, replicate its hottest experts into the node's share of the slots
//        (replicate_experts: each extra slot goes to the expert with the most load per replica);
//     3. within each node, pack the replicas (load / replica count each) to its ranks.
//   global (otherwise): the same with one group and one node.
//
// Ties break as eplb.py's do (the lowest index), with a stable sort by descending load, so the
// result depends only on the loads.

#include <cstdint>
#include <string>
#include <vector>

#include "model/placement.hpp"

namespace c2r {

// Items into `packs` packs of items.size() / packs items each (items.size() divisible by packs):
// items by descending weight (stable), each into the non-full pack of least total weight (the
// lowest pack on ties). pack[i] and position[i] (its rank within the pack, in packing order).
struct Packing {
  std::vector<int> pack;      // [items]
  std::vector<int> position;  // [items]
};
Packing balanced_packing(const std::vector<double>& weights, int packs);

// `slots` physical experts for weights.size() logical ones (slots >= logical): slot i < logical
// holds expert i, each further slot a replica of the expert with the largest load per replica
// (the lowest id on ties). slot_expert[slots], replica_count[logical].
struct Replication {
  std::vector<int> slot_expert;    // [slots]
  std::vector<int> replica_count;  // [logical]
};
Replication replicate_experts(const std::vector<double>& weights, int slots);

struct EplbShape {
  int ranks = 1;
  int nodes = 1;     // ranks per node = ranks / nodes, node n holds ranks [n*R/N, (n+1)*R/N)
  int groups = 1;    // expert groups (contiguous blocks of E / groups experts)
  int replicas = 0;  // redundant experts: slots = experts + replicas
};

// Throws c2r::Error naming the problem when `shape` cannot hold `experts` experts: replicas
// negative or not a multiple of the ranks (every rank holds (E + replicas) / R slots), ranks not
// a multiple of nodes, E not a multiple of groups, fewer slots per node than experts per node.
void check_eplb_shape(int experts, const EplbShape& shape);

// Whether EPLB balances hierarchically for `shape`: groups divide over nodes (eplb.py's rule),
// with more than one node.
bool eplb_hierarchical(const EplbShape& shape);

// The EPLB placement of one layer with per-expert `loads` (tokens routed to each expert):
// hierarchical when eplb_hierarchical(shape), else global. Named `name`.
Placement eplb_placement(const std::vector<double>& loads, const EplbShape& shape,
                         const std::string& name = "eplb");

// Replicas on top of a one-rank placement (the tuner's co-located one): keeps every expert where
// `base` puts it and adds `replicas` slots (replicas / R on each rank): each goes to the expert
// with the largest load per replica (replicate_experts' rule), on the rank of least expected load
// (each slot carries its expert's load / replica count) among those with a free slot and without
// that expert (any with a free slot when all hold it). Throws c2r::Error when `base` is
// replicated or the replicas do not divide over the ranks.
Placement add_replicas(const Placement& base, const std::vector<double>& loads, int replicas,
                       const std::string& name);

}  // namespace c2r
