// The c2rbench program: the command line of cli/cli.cpp with the built-in strategies.

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return c2r::cli_main(argc, argv);
}
