# Finds the Debian-packaged dependencies (scripts/setup.sh installs them) and exposes them as
# imported targets: MPI::MPI_CXX, c2r::openblas, c2r::metis, c2r::hwloc, nlohmann_json::nlohmann_json, CLI11::CLI11.
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)

# OpenBLAS specifically (not any BLAS): the expert phase is only as good as its GEMM, and reports
# record the OpenBLAS configuration.
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
add_library(c2r::openblas ALIAS PkgConfig::OPENBLAS)

# METIS seeds the tuner's placement search for many experts (graph partitioning of the
# co-activation graph). Debian's libmetis-dev ships no pkg-config or CMake file.
find_path(METIS_INCLUDE_DIR metis.h REQUIRED)
find_library(METIS_LIBRARY metis REQUIRED)
add_library(c2r::metis INTERFACE IMPORTED)
set_target_properties(c2r::metis PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${METIS_INCLUDE_DIR}"
                                            INTERFACE_LINK_LIBRARIES "${METIS_LIBRARY}")

if(C2R_WITH_HWLOC)
  pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc)
  add_library(c2r::hwloc ALIAS PkgConfig::HWLOC)
endif()
