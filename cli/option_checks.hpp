#pragma once
// The input policy of every command-line option (docs/RELIABILITY.md), applied while CLI11 parses,
// so a bad value is an option-parse error (exit 2, one message naming the flag) before anything
// runs:
//   - a number is written in decimal, is finite (CLI11 itself accepts "nan" and "inf") and lies
//     in the option's documented range; an unsigned option refuses a sign ("-1" would wrap);
//   - a list ("a,b,c") has no empty item and no item twice (CLI11's own splitting silently drops
//     empty items).

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace c2r {

// A whole number in [lo, hi], decimal digits with an optional leading '-'.
CLI::Validator whole_number_in(int64_t lo, int64_t hi);
// A finite real number in [lo, hi] (lo_open: lo itself excluded).
CLI::Validator finite_in(double lo, double hi, bool lo_open = false);

// Parses one comma-separated list option: every item non-empty, none twice, each a T (a
// std::string, a whole number or a finite real) that passes `item_check` where given. Throws
// CLI::ValidationError naming `flag` and the item.
template <typename T>
std::vector<T> parse_list_option(const std::string& flag, const std::string& text,
                                 const CLI::Validator* item_check = nullptr);

// Adds `name` as a list option that fills `target` with parse_list_option; its default is shown
// from `target`'s current value.
template <typename T>
CLI::Option* add_list_option(CLI::App& app, const std::string& name, std::vector<T>& target,
                             const std::string& help, CLI::Validator item_check = {});

extern template std::vector<std::string> parse_list_option(const std::string&, const std::string&,
                                                           const CLI::Validator*);
extern template std::vector<int> parse_list_option(const std::string&, const std::string&,
                                                   const CLI::Validator*);
extern template std::vector<double> parse_list_option(const std::string&, const std::string&,
                                                      const CLI::Validator*);
extern template CLI::Option* add_list_option(CLI::App&, const std::string&,
                                             std::vector<std::string>&, const std::string&,
                                             CLI::Validator);
extern template CLI::Option* add_list_option(CLI::App&, const std::string&, std::vector<int>&,
                                             const std::string&, CLI::Validator);
extern template CLI::Option* add_list_option(CLI::App&, const std::string&, std::vector<double>&,
                                             const std::string&, CLI::Validator);

}  // namespace c2r
