// Must compile: a layer sees its own headers.
#include "results/phase.hpp"

int main() {
  return c2r::kNumPhases == 7 ? 0 : 1;
}
