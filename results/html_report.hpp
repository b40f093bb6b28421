#pragma once
// `c2rbench report --html`: one self-contained HTML page (inline SVG and CSS, nothing fetched)
// of one or more reports, and of a tuning file's validation when given.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2r {

// reports: parsed reports with their file names; tuning: a tuning file (null: none).
// Sections: per-phase stacked bars of every cell against its baseline; rank x rank dispatch-byte
// heatmaps; the co-activation matrix of each cell with its placement's rank groups outlined;
// tokens per expert and per rank; efficiency against the same-run ceilings; the tuner's predicted
// against measured layer times.
std::string render_html(const std::vector<nlohmann::json>& reports,
                        const std::vector<std::string>& sources, const nlohmann::json& tuning);

}  // namespace c2r
