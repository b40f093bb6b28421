// The command line's input policy (cli/option_checks.hpp, cli/command_line.hpp): numbers finite and
// in range, lists without empty or repeated items, arguments valid UTF-8, every refusal status 2
// with one message naming the flag.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/option_checks.hpp"

namespace c2r {
namespace {

// Parses `args` (after the program name) as c2rbench would.
ParseOutcome parse(const std::vector<std::string>& args, CommandLine& c) {
  std::vector<const char*> argv = {"c2rbench"};
  for (const auto& a : args) argv.push_back(a.c_str());
  static std::vector<std::unique_ptr<CLI::App>> apps;  // the outcome points into its app
  apps.push_back(std::make_unique<CLI::App>("c2rbench"));
  CLI::App& app = *apps.back();
  app.require_subcommand(1);
  static std::vector<std::vector<Subcommand>> tables;
  tables.push_back(add_subcommands(app, c));
  return parse_command_line(app, tables.back(), static_cast<int>(argv.size()), argv.data());
}

TEST(CommandLine, RefusesWhatCli11WouldAcceptOrDrop) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"run", "--seed", "-1"}, "--seed"},
      {{"run", "--capacity-factor", "inf"}, "--capacity-factor"},
      {{"run", "--capacity-factor", "0"}, "--capacity-factor"},
      {{"run", "--cluster-strength", "nan"}, "--cluster-strength"},
      {{"run", "--timeout", "nan"}, "--timeout"},
      {{"run", "--tolerance", "-1"}, "--tolerance"},
      {{"run", "--iters", "0"}, "--iters"},
      {{"run", "--iters", "1e3"}, "--iters"},
      {{"run", "--min-time", "-0.5"}, "--min-time"},
      {{"run", "--min-time", "nan"}, "--min-time"},
      {{"run", "--min-time", "inf"}, "--min-time"},
      {{"run", "--min-time", "3601"}, "--min-time"},
      {{"run", "--max-iters", "0"}, "--max-iters"},
      {{"run", "--max-iters", "1000001"}, "--max-iters"},
      {{"run", "--strategy", "dedup,,dedup,"}, "item 2 is empty"},
      {{"run", "--strategy", "dedup,dedup"}, "twice"},
      {{"run", "--routing", "vanilla,"}, "--routing"},
      {{"run", "--top-t", "1,x"}, "--top-t"},
      {{"run", "--nosuch"}, "--nosuch"},
      {{"run", "--iters"}, "--iters"},
      {{"tune", "--capacity-factors", "1.0,,2.0"}, "--capacity-factors"},
      {{"tune", "--capacity-factors", "1.0,inf"}, "--capacity-factors"},
      {{"tune", "--max-drop", "2"}, "--max-drop"},
      {{"tune", "--search-seconds", "-1"}, "--search-seconds"},
      {{"topo", "--large-bytes", "-1"}, "--large-bytes"},
      {{"compare", "a.json"}, "reports"},
      {{"compare", "a.json", "b.json", "--resamples", "1000000000000"}, "--resamples"},
      {{"compare", "a.json", "b.json", "--confidence", "nan"}, "--confidence"},
      {{"run", "--out", "r\\xff.json"}, "UTF-8"},
      {{"nosuch"}, "nosuch"},
      {{}, "ubcommand"},
  };
  for (const auto& [args, named] : refused) {
    CommandLine c;
    std::vector<std::string> argv = args;
    for (auto& a : argv) {
      if (a == "r\\xff.json") a = "r\xff.json";
    }
    const ParseOutcome outcome = parse(argv, c);
    EXPECT_EQ(outcome.command, nullptr) << named;
    EXPECT_EQ(outcome.status, 2) << named;
    EXPECT_NE(outcome.message.find(named), std::string::npos) << outcome.message;
  }
}

TEST(CommandLine, AcceptsValidValuesAndHelp) {
  CommandLine c;
  const ParseOutcome run =
      parse({"run", "--strategy", "dedup,padded", "--top-t", "1,3", "--seed", "7",
             "--capacity-factor", "1.5", "--timeout", "0", "--out", "r\xc3\xa9.json"},
            c);
  ASSERT_NE(run.command, nullptr) << run.message;
  EXPECT_EQ(c.run.strategy, (std::vector<std::string>{"dedup", "padded"}));
  EXPECT_EQ(c.run.top_t, (std::vector<int>{1, 3}));
  EXPECT_EQ(c.run.workload.seed, 7u);
  EXPECT_EQ(c.timeout, 0.0);
  EXPECT_EQ(c.run.min_time, 0.0);  // off unless asked for
  EXPECT_EQ(c.run.max_iters, kDefaultMaxIterations);
  CommandLine m;
  ASSERT_NE(parse({"run", "--min-time", "0.25", "--max-iters", "500"}, m).command, nullptr);
  EXPECT_EQ(m.run.min_time, 0.25);
  EXPECT_EQ(m.run.max_iters, 500);
  CommandLine h;
  const ParseOutcome help = parse({"run", "--help"}, h);
  EXPECT_EQ(help.command, nullptr);
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.message.find("--capacity-factor"), std::string::npos);
}

TEST(OptionChecks, ListItemsAreTypedAndChecked) {
  EXPECT_EQ(parse_list_option<double>("--x", "1,2.5"), (std::vector<double>{1.0, 2.5}));
  EXPECT_THROW(parse_list_option<int>("--x", "1,,2"), CLI::ValidationError);
  EXPECT_THROW(parse_list_option<int>("--x", ""), CLI::ValidationError);
  EXPECT_THROW(parse_list_option<int>("--x", "99999999999"), CLI::ValidationError);
  EXPECT_THROW(parse_list_option<double>("--x", "nan"), CLI::ValidationError);
  const CLI::Validator positive = finite_in(0.0, 10.0, /*lo_open=*/true);
  EXPECT_THROW(parse_list_option<double>("--x", "1,0", &positive), CLI::ValidationError);
  std::string text = "12";
  EXPECT_EQ(whole_number_in(1, 12)(text), "");
  text = "13";
  EXPECT_NE(whole_number_in(1, 12)(text), "");
  text = "0x10";
  EXPECT_NE(whole_number_in(0, 100)(text), "");
}

}  // namespace
}  // namespace c2r
