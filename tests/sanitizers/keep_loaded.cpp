// Linked into the executables of sanitizer builds only (C2R_SANITIZE; cmake/C2RSanitizers.cmake).
// Shared objects are never unloaded, so when LeakSanitizer checks at exit the plugins Open MPI and
// hwloc loaded (and unloaded in MPI_Finalize) are still mapped: memory their globals point to
// counts as reachable, and what they did leak is reported under their names, which
// tests/sanitizers/lsan.supp matches. Without this, such stacks show only "<unknown module>".

extern "C" int dlclose(void*) {
  return 0;
}
