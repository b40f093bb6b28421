# One static library per directory of the pipeline, with its dependencies declared, and an include
# path that shows each library only its own directory and those of the libraries it depends on
# (docs/ARCHITECTURE.md). An #include of a layer above, or of one not declared, finds no file and
# fails the build: the layering is checked by the compiler on every build, not by convention.
#
# c2r_layer(NAME
#           DIRS dir...          # source directories of the layer, relative to the project root
#           SOURCES file...      # its translation units
#           [DEPENDS layer...]   # layers it may include and link (their own dependencies follow)
#           [LINK target...])    # external libraries (PUBLIC)
#
# Creates the static library c2r_NAME. Its include view is a directory in the build tree holding a
# symbolic link to every header of every visible directory (headers only, and a directory's own
# files only: collectives/cuda/ is a layer of its own, not part of collectives/), e.g. for the tuner
#   build/include-views/tuner/{common,model,kernels/cpu,collectives,results,tuner}/*.hpp

set(C2R_INCLUDE_VIEWS ${CMAKE_BINARY_DIR}/include-views)

function(c2r_layer name)
  cmake_parse_arguments(L "" "" "DIRS;SOURCES;DEPENDS;LINK" ${ARGN})
  set(visible ${L_DIRS})
  foreach(dep IN LISTS L_DEPENDS)
    get_property(dep_dirs GLOBAL PROPERTY C2R_LAYER_VISIBLE_${dep})
    if(NOT DEFINED dep_dirs OR dep_dirs STREQUAL "")
      message(FATAL_ERROR "c2r_layer(${name}): layer '${dep}' must be declared before it")
    endif()
    list(APPEND visible ${dep_dirs})
  endforeach()
  list(REMOVE_DUPLICATES visible)
  set_property(GLOBAL PROPERTY C2R_LAYER_VISIBLE_${name} "${visible}")

  # Links are made once and kept (a new link would look like a changed header and rebuild
  # everything); links to headers that are gone, or no longer visible, are removed.
  set(view ${C2R_INCLUDE_VIEWS}/${name})
  set(wanted "")
  foreach(dir IN LISTS visible)
    file(MAKE_DIRECTORY ${view}/${dir})
    # CONFIGURE_DEPENDS: a header added later re-runs the configuration, which links it.
    file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.hpp)
    foreach(header IN LISTS headers)
      get_filename_component(file ${header} NAME)
      set(link ${view}/${dir}/${file})
      list(APPEND wanted ${link})
      if(NOT IS_SYMLINK ${link})
        file(CREATE_LINK ${header} ${link} SYMBOLIC)
      endif()
    endforeach()
  endforeach()
  file(GLOB_RECURSE present LIST_DIRECTORIES false ${view}/*)
  foreach(link IN LISTS present)
    if(NOT link IN_LIST wanted)
      file(REMOVE ${link})
    endif()
  endforeach()

  add_library(c2r_${name} STATIC ${L_SOURCES})
  target_include_directories(c2r_${name} PUBLIC ${view})
  target_compile_options(c2r_${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)
  foreach(dep IN LISTS L_DEPENDS)
    target_link_libraries(c2r_${name} PUBLIC c2r_${dep})
  endforeach()
  if(L_LINK)
    target_link_libraries(c2r_${name} PUBLIC ${L_LINK})
  endif()
endfunction()
