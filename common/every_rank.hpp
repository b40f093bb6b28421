#pragma once
// Error handling for steps that every rank runs: a failure on any rank stops every rank with the
// same message, so nobody waits in a collective for a rank that gave up.

#include <string>
#include <vector>

#include "common/communicator.hpp"
#include "common/error.hpp"

namespace c2r {

// Runs `step` on every rank; if it fails anywhere, every rank throws the first failing rank's
// message as an all-ranks error.
template <typename Step>
void on_every_rank(const Communicator& comm, Step step) {
  std::string error;
  try {
    step();
  } catch (const Error& e) {
    error = e.what();
  }
  const std::vector<std::string> errors = comm.allgather_strings(error);
  for (const auto& e : errors) {
    if (!e.empty()) throw Error::on_all_ranks(e);
  }
}

}  // namespace c2r
