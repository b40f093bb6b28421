// The command line's input policy (cli/option_checks.hpp, cli/command_line.hpp): numbers finite and
// in range, lists without empty or repeated items, arguments valid UTF-8, every refusal status 2
// with one message naming the flag; options from --config files and from a report's recorded
// options (--config-from), the command line winning.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

// A file in a directory of its own, removed with it.
class ConfigFile {
 public:
  ConfigFile(const std::string& name, const std::string& text)
      : dir_(std::filesystem::temp_directory_path() /
             ("c2r-config-" + std::to_string(getpid()) + "-" + name)) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / name) << text;
  }
  ~ConfigFile() { std::filesystem::remove_all(dir_); }
  std::string path() const {
    return (dir_ / std::filesystem::directory_iterator(dir_)->path().filename()).string();
  }

 private:
  std::filesystem::path dir_;
};

TEST(ConfigFiles, TomlFillsUnsetOptionsAndTheCommandLineWins) {
  const ConfigFile file("run.toml",
                        "# a run\n"
                        "tokens = 512\n"
                        "routing = [\"vanilla\"]\n"
                        "strategy = \"dedup,dropless\"\n"
                        "check = true\n"
                        "capacity-factor = 1.5\n");
  CommandLine c;
  const ParseOutcome run = parse({"run", "--config", file.path(), "--tokens", "64"}, c);
  ASSERT_NE(run.command, nullptr) << run.message;
  EXPECT_EQ(c.run.workload.tokens, 64);  // the command line wins
  EXPECT_EQ(c.run.routing, (std::vector<std::string>{"vanilla"}));
  EXPECT_EQ(c.run.strategy, (std::vector<std::string>{"dedup", "dropless"}));
  EXPECT_TRUE(c.run.check);
  EXPECT_EQ(c.run.capacity_factor, 1.5);
  EXPECT_EQ(c.run.iters, 10);  // neither: the default
  // Every option's effective value, --out and the file options left out.
  const nlohmann::json& options = c.run.process.options;
  EXPECT_EQ(options["tokens"], "64");
  EXPECT_EQ(options["routing"], "vanilla");
  EXPECT_EQ(options["strategy"], "dedup,dropless");
  EXPECT_EQ(options["check"], true);
  EXPECT_EQ(options["quiet"], false);
  EXPECT_EQ(options["iters"], "10");
  EXPECT_EQ(options["seed"], "1");
  EXPECT_FALSE(options.contains("out"));
  EXPECT_FALSE(options.contains("config"));
  EXPECT_FALSE(options.contains("experts"));  // unset: the preset's

  // A [run] section holds the same options; tune reads its own.
  const ConfigFile sectioned("sectioned.toml", "[run]\niters = 3\n");
  CommandLine s;
  ASSERT_NE(parse({"run", "--config", sectioned.path()}, s).command, nullptr);
  EXPECT_EQ(s.run.iters, 3);
  const ConfigFile tune("tune.ini", "max-drop = 0.25\nreplicas = 0,8\n");
  CommandLine t;
  ASSERT_NE(parse({"tune", "--config", tune.path()}, t).command, nullptr);
  EXPECT_EQ(t.tune.max_drop, 0.25);
  EXPECT_EQ(t.tune.replicas, (std::vector<int>{0, 8}));
}

TEST(ConfigFiles, RefusesBadFilesNamingTheFileAndTheOption) {
  const ConfigFile unknown("unknown.toml", "tokens = 64\nnosuch = 1\n");
  const ConfigFile bad_value("bad.toml", "iters = 0\n");
  const ConfigFile other_section("other.toml", "[tune]\nmax-drop = 0.1\n");
  const ConfigFile flag_value("flag.toml", "check = maybe\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"run", "--config", unknown.path()}, "unknown option 'nosuch'"},
      {{"run", "--config", bad_value.path()}, "--iters"},
      {{"run", "--config", other_section.path()}, "unknown option 'tune.max-drop'"},
      {{"run", "--config", flag_value.path()}, "check"},
      {{"run", "--config", "/nonexistent/run.toml"}, "/nonexistent/run.toml"},
      {{"run", "--config-from", unknown.path()}, "not valid JSON"},
  };
  for (const auto& [args, named] : refused) {
    CommandLine c;
    const ParseOutcome outcome = parse(args, c);
    EXPECT_EQ(outcome.command, nullptr) << named;
    EXPECT_EQ(outcome.status, 2) << named;
    EXPECT_NE(outcome.message.find(named), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find(args[2]), std::string::npos) << outcome.message;
  }
}

TEST(ConfigFiles, ConfigFromRepeatsTheRecordedOptions) {
  CommandLine first;
  ASSERT_NE(parse({"run", "--routing", "c2r", "--top-t", "2", "--check", "--iters", "4", "--out",
                   "first.json"},
                  first)
                .command,
            nullptr);
  const nlohmann::json report = {{"schema", "c2rbench.report"},
                                 {"schema_version", 1},
                                 {"config", {{"options", first.run.process.options}}}};
  const ConfigFile file("report.json", report.dump());
  CommandLine again;
  ASSERT_NE(parse({"run", "--config-from", file.path()}, again).command, nullptr);
  EXPECT_EQ(again.run.process.options, first.run.process.options);
  EXPECT_EQ(again.run.routing, (std::vector<std::string>{"c2r"}));
  EXPECT_EQ(again.run.top_t, (std::vector<int>{2}));
  EXPECT_TRUE(again.run.check);
  EXPECT_EQ(again.run.process.out, "");  // outputs are never repeated
  // The command line and --config win over the report.
  const ConfigFile toml("more.toml", "iters = 7\ntokens = 32\n");
  CommandLine changed;
  ASSERT_NE(parse({"run", "--config-from", file.path(), "--config", toml.path(), "--tokens", "16"},
                  changed)
                .command,
            nullptr);
  EXPECT_EQ(changed.run.iters, 7);
  EXPECT_EQ(changed.run.workload.tokens, 16);
  EXPECT_EQ(changed.run.top_t, (std::vector<int>{2}));

  // A report repeats run, a tuning file tune; files without recorded options are named as such.
  const nlohmann::json tuning = {{"schema", "c2rbench.tuning"},
                                 {"created", {{"options", {{"max-drop", "0.2"}}}}}};
  const ConfigFile tuned("tuned.json", tuning.dump());
  CommandLine t;
  ASSERT_NE(parse({"tune", "--config-from", tuned.path()}, t).command, nullptr);
  EXPECT_EQ(t.tune.max_drop, 0.2);
  const ConfigFile old_report("old.json", R"({"schema": "c2rbench.report", "config": {}})");
  const ConfigFile bad_type(
      "type.json", R"({"schema": "c2rbench.report", "config": {"options": {"iters": 3}}})");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"run", "--config-from", tuned.path()},
       "a c2rbench.tuning file, where run repeats a c2rbench.report"},
      {{"tune", "--config-from", file.path()}, "where tune repeats a c2rbench.tuning"},
      {{"run", "--config-from", old_report.path()}, "records no options"},
      {{"run", "--config-from", bad_type.path()}, "config.options.iters must be a string"},
  };
  for (const auto& [args, named] : refused) {
    CommandLine c;
    const ParseOutcome outcome = parse(args, c);
    EXPECT_EQ(outcome.status, 2) << named;
    EXPECT_NE(outcome.message.find(named), std::string::npos) << outcome.message;
  }
}

}  // namespace
}  // namespace c2r
