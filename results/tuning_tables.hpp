#pragma once
// The printed tables of a tuning file (schema "c2rbench.tuning", written by `c2rbench tune`).

#include <ostream>

#include "results/tuning_file.hpp"

namespace c2r {

// Tables of a tuning file: per layer, Top-T, capacity factor, validation (when present).
void print_tuning(std::ostream& out, const Tuning& tuning);
// Predicted against measured, per validation point, with the rank correlation and errors.
void print_validation(std::ostream& out, const Validation& validation);

}  // namespace c2r
