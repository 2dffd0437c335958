# RecurPluginSDK.cmake — helpers for backend plugins built against an installed recur SDK.
# Loaded by recurConfig.cmake (find_package(recur)); do not include it from the recur source tree itself,
# which has its own in-tree recur_add_backend (cmake/RecurPlugin.cmake).
#
# recur_add_backend(NAME SOURCES src... [LIBS lib...])
#   Builds the MODULE target recur-NAME, file librecur-NAME.so:
#     - C11 (no extensions), -Wall -Wextra (GCC/Clang; minus unused-parameter: most ops ignore some
#       arguments, `dev` first of all), hidden visibility: only the entry symbol,
#       marked RECUR_BACKEND_EXPORT in the source, is exported;
#     - include directories of the SDK (recur/backend.h); the plugin does NOT link librecur: the host hands
#       it everything it needs (the services table) at load time;
#     - on Linux, linked with --no-undefined, so a missing library fails the link instead of dlopen;
#     - written to RECUR_PLUGIN_OUTPUT_DIR (default <build>/lib/recur): point RECUR_BACKEND_PATH there to
#       use it without installing;
#     - installed by `cmake --install` into RECUR_PLUGIN_INSTALL_DIR, by default the SDK's own backend
#       folder (RECUR_BACKEND_DIR = <sdk prefix>/lib/recur), which the installed librecur searches.
#       Set -DRECUR_PLUGIN_INSTALL_DIR=lib/recur (a relative path, under CMAKE_INSTALL_PREFIX) to install
#       elsewhere, e.g. for packaging; then add that folder to RECUR_BACKEND_PATH.
#   LIBS are linked PRIVATE (imported targets or library names).
#
# recur_add_conform_test(NAME [ARGS arg...])
#   Adds a CTest test `conform_NAME` that runs the SDK's recur-conform on the built plugin, with ARGS after
#   the path (e.g. --verbose, --op gemm). Exit 77 (no device here) counts as skipped. Needs enable_testing()
#   or include(CTest); a no-op with a message when recur-conform is not installed.

include_guard(GLOBAL)

# Where `cmake --install` puts plugins: the SDK's backend folder unless the user sets it (-D...), recomputed
# at each configure so that pointing CMAKE_PREFIX_PATH at another SDK follows it.
if(NOT DEFINED RECUR_PLUGIN_INSTALL_DIR)
  set(RECUR_PLUGIN_INSTALL_DIR "${RECUR_BACKEND_DIR}")
endif()

function(recur_add_backend name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT name MATCHES "^[A-Za-z0-9][A-Za-z0-9_-]*$")
    message(FATAL_ERROR "recur_add_backend: '${name}' is not a usable backend name "
                        "(letters, digits, '_' and '-'; it becomes librecur-${name}.so)")
  endif()
  set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "recur_add_backend(${name}): no SOURCES given")
  endif()
  set(target recur-${name})
  if(DEFINED RECUR_PLUGIN_OUTPUT_DIR)
    set(outdir "${RECUR_PLUGIN_OUTPUT_DIR}")
  else()
    set(outdir "${PROJECT_BINARY_DIR}/lib/recur")
  endif()

  add_library(${target} MODULE ${sources})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "recur-${name}"
    SUFFIX ".so"
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    C_EXTENSIONS OFF
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${outdir}")
  target_link_libraries(${target} PRIVATE recur::backend_sdk)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANG_AND_ID:C,GNU,Clang,AppleClang>:-Wall -Wextra -Wno-unused-parameter>
    $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang,AppleClang>:-Wall -Wextra -Wno-unused-parameter>)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  if(ARG_LIBS)
    target_link_libraries(${target} PRIVATE ${ARG_LIBS})
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${RECUR_PLUGIN_INSTALL_DIR}")
endfunction()

function(recur_add_conform_test name)
  cmake_parse_arguments(ARG "" "" "ARGS" ${ARGN})
  if(NOT TARGET recur-${name})
    message(FATAL_ERROR "recur_add_conform_test(${name}): call recur_add_backend(${name} ...) first")
  endif()
  if(NOT RECUR_CONFORM_EXECUTABLE)
    message(STATUS "recur-conform is not installed in this SDK: no conformance test for '${name}'")
    return()
  endif()
  add_test(NAME conform_${name} COMMAND "${RECUR_CONFORM_EXECUTABLE}" "$<TARGET_FILE:recur-${name}>" ${ARG_ARGS})
  # recur-conform exits 77 when the backend finds no device here: a skip, not a failure.
  set_tests_properties(conform_${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()
