#pragma once
// The c2rbench command line: parses argv, runs one subcommand under MPI (MPI_Init to
// MPI_Finalize), prints an error once and stops every rank cleanly. Returns the exit status.
// A program with strategies of its own registers them (register_strategy) before calling it.

namespace c2r {

int cli_main(int argc, char** argv);

}  // namespace c2r
