#pragma once
// `c2rbench report --html`: one self-contained HTML page (inline SVG and CSS, nothing fetched)
// of one or more reports, and of a tuning file's validation when given.

#include <optional>
#include <string>
#include <vector>

#include "results/report.hpp"
#include "results/tuning_file.hpp"

namespace c2r {

// reports: read reports with their file names; tuning: a tuning file (none: no scatter).
// Sections: per-phase stacked bars of every cell against its baseline; rank x rank dispatch-byte
// heatmaps; the co-activation matrix of each cell with its placement's rank groups outlined;
// tokens per expert and per rank; efficiency against the same-run ceilings; the tuner's predicted
// against measured layer times.
std::string render_html(const std::vector<Report>& reports, const std::vector<std::string>& sources,
                        const std::optional<Tuning>& tuning);

// Reads the tuning file `c2rbench report --html --tuning FILE` plots (schema "c2rbench.tuning"):
// when it has "validation", every point needs a layer and numbers "predicted.layer_us" and
// "measured.layer_us". Throws c2r::Error naming `source` and the field otherwise.
Tuning parse_report_tuning(const std::string& text, const std::string& source);

}  // namespace c2r
