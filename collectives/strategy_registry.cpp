// The one place strategies are registered. Adding one: its descriptor function in its own file
// (collectives/NAME.cpp) and one line in each list below; docs/ARCHITECTURE.md has the checklist.

#include <deque>

#include "collectives/strategy.hpp"
#include "common/error.hpp"

namespace c2r {

// Defined in the strategy's own file.
StrategyDescriptor padded_strategy();
StrategyDescriptor dropless_strategy();
StrategyDescriptor dedup_strategy();

namespace {

constexpr const char* kBaseline = "dropless";

struct Registry {
  std::deque<StrategyDescriptor> storage;  // stable addresses
  std::vector<const StrategyDescriptor*> list;

  void add(StrategyDescriptor d) {
    C2R_CHECK(!d.name.empty() && d.make_cpu && d.rules.copy_bytes,
              "strategy '" << d.name << "' lacks a name, CPU steps or copy rules");
    for (const auto* known : list) {
      C2R_CHECK(known->name != d.name, "strategy '" << d.name << "' is registered twice");
    }
    storage.push_back(std::move(d));
    list.push_back(&storage.back());
  }
};

Registry& registry() {
  static Registry r = [] {
    Registry built_in;
    built_in.add(padded_strategy());
    built_in.add(dropless_strategy());
    built_in.add(dedup_strategy());
    return built_in;
  }();
  return r;
}

}  // namespace

const std::vector<const StrategyDescriptor*>& strategies() {
  return registry().list;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const auto* s : strategies()) names.push_back(s->name);
  return names;
}

const StrategyDescriptor& find_strategy(const std::string& name) {
  std::string known;
  for (const auto* s : strategies()) {
    if (s->name == name) return *s;
    known += (known.empty() ? "" : ", ") + s->name;
  }
  throw Error("unknown strategy '" + name + "' (known: " + known + ")");
}

const StrategyDescriptor& baseline_strategy() {
  return find_strategy(kBaseline);
}

const StrategyDescriptor& capacity_strategy() {
  for (const auto* s : strategies()) {
    if (s->rules.capacity_limited()) return *s;
  }
  throw Error("no capacity-limited strategy is registered");
}

void register_strategy(StrategyDescriptor descriptor) {
  registry().add(std::move(descriptor));
}

std::string strategy_help() {
  std::string text;
  for (const auto* s : strategies()) text += (text.empty() ? "" : "\n") + s->name + ": " + s->help;
  return text;
}

}  // namespace c2r
