#include "cli/config_files.hpp"

#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "common/file_io.hpp"

namespace c2r {

namespace {

// A config file is a few hundred bytes; anything past this is not one.
constexpr int64_t kMaxConfigFileBytes = int64_t{1} << 20;

std::string join_with_commas(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// CLI11's TOML/INI reader, with what c2rbench's options expect: a list written as an array
// (`routing = ["vanilla", "c2r"]`) becomes the comma list the option takes, and a section named
// after the command (`[run]`) holds its options like the top level.
class CommandConfig : public CLI::ConfigTOML {
 public:
  explicit CommandConfig(std::string command) : command_(std::move(command)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> items;
    for (CLI::ConfigItem item : CLI::ConfigTOML::from_config(input)) {
      if (!item.parents.empty() && item.parents.front() == command_) {
        if (item.parents.size() == 1 && (item.name == "++" || item.name == "--")) continue;
        item.parents.erase(item.parents.begin());
      }
      if (item.inputs.size() > 1) item.inputs = {join_with_commas(item.inputs)};
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  std::string command_;
};

// The options a report or tuning file recorded (effective_options' JSON object), as config items.
class RecordedOptions : public CLI::Config {
 public:
  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    const nlohmann::json options = nlohmann::json::parse(input);
    std::vector<CLI::ConfigItem> items;
    for (const auto& [name, value] : options.items()) {
      CLI::ConfigItem item;
      item.name = name;
      item.inputs = {value.is_boolean() ? (value.get<bool>() ? "true" : "false")
                                        : value.get<std::string>()};
      items.push_back(std::move(item));
    }
    return items;
  }
};

// The options object that `command` recorded in its output file at `path`: a report's
// config.options (run), a tuning file's created.options (tune).
nlohmann::json recorded_options(const std::string& path, const std::string& command) {
  const std::string where = "--config-from " + path;
  const std::string text = read_text_file(path);
  const nlohmann::json file = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  C2R_CHECK(!file.is_discarded(), where << ": not valid JSON (truncated or not a c2rbench file?)");
  C2R_CHECK(file.is_object() && file.contains("schema") && file["schema"].is_string(),
            where << ": not a c2rbench report or tuning file (no \"schema\")");
  const bool tune = command == "tune";
  const std::string expected = tune ? "c2rbench.tuning" : "c2rbench.report";
  const char* section = tune ? "created" : "config";
  C2R_CHECK(file["schema"] == expected,
            where << ": a " << file["schema"].get<std::string>() << " file, where " << command
                  << " repeats a " << expected << " (written by c2rbench " << command << ")");
  C2R_CHECK(
      file.contains(section) && file[section].is_object() && file[section].contains("options"),
      where << ": records no options (" << section
            << ".options; written by a c2rbench before config files)");
  const nlohmann::json& options = file[section]["options"];
  C2R_CHECK(options.is_object(), where << ": " << section << ".options must be an object");
  for (const auto& [name, value] : options.items()) {
    C2R_CHECK(value.is_string() || value.is_boolean(),
              where << ": " << section << ".options." << name << " must be a string or a boolean");
  }
  return options;
}

// Feeds `text` through `format` to the options of `command` still unset.
void fill_unset_options(CLI::App& command, std::shared_ptr<CLI::Config> format,
                        const std::string& text, const std::string& where) {
  try {
    // An option the command does not have is named as such, not as CLI11's "INI was not able to
    // parse" (section markers "++" / "--" are CLI11's own).
    std::istringstream names(text);
    for (const CLI::ConfigItem& item : format->from_config(names)) {
      if (item.name == "++" || item.name == "--") continue;
      const std::string name = item.fullname();
      C2R_CHECK(item.parents.empty() && command.get_option_no_throw("--" + name) != nullptr,
                where << ": unknown option '" << name << "' (see c2rbench " << command.get_name()
                      << " --help)");
    }
    command.config_formatter(std::move(format));
    std::istringstream stream(text);
    command.parse_from_stream(stream);
  } catch (const CLI::ParseError& e) {
    throw Error(where + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": " + e.what());
  }
}

}  // namespace

void add_config_options(CLI::App& command, ConfigSources& sources, const std::string& recorded_in) {
  command.add_option("--config", sources.config,
                     "Read options from this TOML or INI file (`tokens = 512`, `routing = "
                     "[\"vanilla\", \"c2r\"]`, `check = true`; a [" +
                         command.get_name() + "] section or none); the command line wins over it");
  command.add_option("--config-from", sources.config_from,
                     "Repeat the options recorded in " + recorded_in +
                         " (every option's value as it ran, --out excepted); the command line "
                         "and --config win over it");
}

void apply_config_files(CLI::App& command, const ConfigSources& sources) {
  if (!sources.config.empty()) {
    const std::string where = "--config " + sources.config;
    const std::string text = read_text_file(sources.config, kMaxConfigFileBytes);
    fill_unset_options(command, std::make_shared<CommandConfig>(command.get_name()), text, where);
  }
  if (!sources.config_from.empty()) {
    const nlohmann::json options = recorded_options(sources.config_from, command.get_name());
    fill_unset_options(command, std::make_shared<RecordedOptions>(), options.dump(),
                       "--config-from " + sources.config_from);
  }
}

nlohmann::json effective_options(const CLI::App& command) {
  nlohmann::json out = nlohmann::json::object();
  for (const CLI::Option* option : command.get_options()) {
    const std::string name = option->get_single_name();
    if (name.empty() || name == "help" || name == "out" || name == "config" ||
        name == "config-from") {
      continue;
    }
    const bool flag = option->get_expected_min() == 0;
    if (flag) {
      out[name] = option->count() > 0 && option->as<bool>();
    } else if (option->count() > 0) {
      out[name] = join_with_commas(option->results());
    } else if (!option->get_default_str().empty()) {
      out[name] = option->get_default_str();
    }
  }
  return out;
}

}  // namespace c2r
