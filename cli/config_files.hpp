#pragma once
// Options from files: `--config FILE` (TOML or INI, read by CLI11's config reader: `tokens = 512`,
// `routing = ["vanilla", "c2r"]` or `routing = "vanilla,c2r"`, `check = true`) and
// `--config-from FILE` (a report or tuning file: the options its run recorded). The command line
// wins over --config, which wins over --config-from: each fills only the options still unset.
//
// Every option's effective value is recorded (`effective_options`) in the report's
// config.options and the tuning file's created.options, so `--config-from` repeats a run exactly;
// --out is left out (outputs are never overwritten) and so are the file options themselves.

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace c2r {

// The file options of one subcommand, as typed.
struct ConfigSources {
  std::string config;       // --config: TOML or INI
  std::string config_from;  // --config-from: a report or tuning file
};

// Adds --config and --config-from to `command`. `recorded_in` names where --config-from finds the
// options ("a report", "a report or tuning file"), for --help.
void add_config_options(CLI::App& command, ConfigSources& sources, const std::string& recorded_in);

// After `command` parsed its command line: fills the options it left unset from --config, then
// from --config-from. Throws CLI::ParseError (exit status 2) naming the file and what is wrong
// with it: missing or unreadable, malformed, an unknown option, a value an option refuses.
void apply_config_files(CLI::App& command, const ConfigSources& sources);

// Every option of `command` with a value (given anywhere, or a default), by name without the
// dashes: strings, and true/false for flags. Leaves out --help, --out, --config, --config-from.
nlohmann::json effective_options(const CLI::App& command);

}  // namespace c2r
