#include "cli/option_checks.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace c2r {

namespace {

// "12", "-3": the whole text is a decimal integer in int64's range.
bool parse_whole(const std::string& text, int64_t& value) {
  if (text.empty()) return false;
  const size_t digits = text[0] == '-' ? 1 : 0;
  if (digits == text.size()) return false;
  for (size_t i = digits; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  errno = 0;
  char* end = nullptr;
  value = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

// The whole text is a real number; whether it is finite is the caller's test.
bool parse_real(const std::string& text, double& value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return *end == '\0';
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <typename T>
T convert_item(const std::string& flag, const std::string& item);

template <>
std::string convert_item(const std::string&, const std::string& item) {
  return item;
}

template <>
int convert_item(const std::string& flag, const std::string& item) {
  int64_t value = 0;
  if (!parse_whole(item, value) || value < INT32_MIN || value > INT32_MAX) {
    throw CLI::ValidationError(flag, "'" + item + "' is not a whole number");
  }
  return static_cast<int>(value);
}

template <>
double convert_item(const std::string& flag, const std::string& item) {
  double value = 0.0;
  if (!parse_real(item, value) || !std::isfinite(value)) {
    throw CLI::ValidationError(flag, "'" + item + "' is not a finite number");
  }
  return value;
}

template <typename T>
std::string join_items(const std::vector<T>& items) {
  std::ostringstream out;
  for (size_t i = 0; i < items.size(); ++i) out << (i ? "," : "") << items[i];
  return out.str();
}

}  // namespace

CLI::Validator whole_number_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        int64_t value = 0;
        if (!parse_whole(text, value)) return "'" + text + "' is not a whole number";
        if (value < lo || value > hi) {
          return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                 text + ")";
        }
        return {};
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

CLI::Validator finite_in(double lo, double hi, bool lo_open) {
  const std::string range =
      std::string(lo_open ? "(" : "[") + number_text(lo) + ", " + number_text(hi) + "]";
  return CLI::Validator(
      [lo, hi, lo_open, range](std::string& text) -> std::string {
        double value = 0.0;
        if (!parse_real(text, value)) return "'" + text + "' is not a number";
        if (!std::isfinite(value)) return "must be a finite number (got " + text + ")";
        if (value < lo || (lo_open && value == lo) || value > hi) {
          return "must be in " + range + " (got " + text + ")";
        }
        return {};
      },
      "NUMBER in " + range);
}

template <typename T>
std::vector<T> parse_list_option(const std::string& flag, const std::string& text,
                                 const CLI::Validator* item_check) {
  std::vector<std::string> items;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<T> values;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string item = items[i];
    if (item.empty()) {
      throw CLI::ValidationError(flag, "'" + text + "': item " + std::to_string(i + 1) +
                                           " is empty (a comma list: a,b,c)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (items[j] == item) throw CLI::ValidationError(flag, "lists '" + item + "' twice");
    }
    if (item_check) {
      const std::string problem = (*item_check)(item);
      if (!problem.empty()) throw CLI::ValidationError(flag, "'" + items[i] + "': " + problem);
    }
    values.push_back(convert_item<T>(flag, item));
  }
  return values;
}

template <typename T>
CLI::Option* add_list_option(CLI::App& app, const std::string& name, std::vector<T>& target,
                             const std::string& help, CLI::Validator item_check) {
  CLI::Option* option = app.add_option_function<std::string>(
      name,
      [name, &target, item_check](const std::string& text) {
        target = parse_list_option<T>(name, text, &item_check);
      },
      help + " (a comma list)");
  if (!target.empty()) option->default_str(join_items(target));
  return option;
}

template std::vector<std::string> parse_list_option(const std::string&, const std::string&,
                                                    const CLI::Validator*);
template std::vector<int> parse_list_option(const std::string&, const std::string&,
                                            const CLI::Validator*);
template std::vector<double> parse_list_option(const std::string&, const std::string&,
                                               const CLI::Validator*);
template CLI::Option* add_list_option(CLI::App&, const std::string&, std::vector<std::string>&,
                                      const std::string&, CLI::Validator);
template CLI::Option* add_list_option(CLI::App&, const std::string&, std::vector<int>&,
                                      const std::string&, CLI::Validator);
template CLI::Option* add_list_option(CLI::App&, const std::string&, std::vector<double>&,
                                      const std::string&, CLI::Validator);

}  // namespace c2r
