// The c2rbench program: the command line of suites/cli.cpp with the built-in strategies.

#include "suites/cli.hpp"

int main(int argc, char** argv) {
  return c2r::cli_main(argc, argv);
}
