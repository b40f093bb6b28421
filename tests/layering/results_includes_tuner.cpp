// Must not compile: results/ sits below tuner/, so its include view has no tuner header.
#include "results/phase.hpp"
#include "tuner/cost_model.hpp"
