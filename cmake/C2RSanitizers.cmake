# Instrumented builds (docs/RELIABILITY.md): C2R_SANITIZE (AddressSanitizer and
# UndefinedBehaviorSanitizer; scripts/sanitize.sh) and C2R_BUILD_FUZZERS (the same plus libFuzzer
# coverage, clang only; scripts/fuzz.sh). The flags apply to every target, so the readers the fuzz targets call and the
# code the tests run are instrumented alike. Undefined behaviour stops the program (no recovery),
# so a finding always fails its test.

# _GLIBCXX_ASSERTIONS: bounds-checked operator[] of std containers, which also catches reads past
# size() that stay inside a vector's capacity, where AddressSanitizer sees nothing.
set(C2R_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                        -fno-omit-frame-pointer -D_GLIBCXX_ASSERTIONS)

if(C2R_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "C2R_BUILD_FUZZERS needs clang (libFuzzer): configure with "
                        "CC=clang CXX=clang++ (scripts/fuzz.sh does)")
  endif()
  if(C2R_WITH_CUDA)
    message(FATAL_ERROR "C2R_BUILD_FUZZERS builds host code only: configure with -DC2R_WITH_CUDA=OFF")
  endif()
  # fuzzer-no-link: coverage for the library code; the targets link libFuzzer's main themselves.
  add_compile_options(-fsanitize=fuzzer-no-link ${C2R_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
elseif(C2R_SANITIZE)
  if(C2R_WITH_CUDA)
    message(FATAL_ERROR "C2R_SANITIZE instruments host code only: configure with -DC2R_WITH_CUDA=OFF")
  endif()
  add_compile_options(${C2R_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
endif()

# Sanitizer builds: executables that initialise MPI keep every shared object loaded until exit
# (tests/sanitizers/keep_loaded.cpp), so leak reports can name the library that made them.
function(c2r_sanitizer_executable target)
  if(C2R_SANITIZE AND NOT C2R_BUILD_FUZZERS)
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests/sanitizers/keep_loaded.cpp)
  endif()
endfunction()
