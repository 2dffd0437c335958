# recur_add_backend(NAME SOURCES... [LIBS ...]): a backend plugin module librecur-NAME.so with hidden
# visibility (only the entry symbol is exported), placed where the in-tree loader looks, installed beside
# the other backends. The installed SDK ships the same helper (see cmake/recurConfig.cmake.in).
function(recur_add_backend name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  set(target recur-${name})
  add_library(${target} MODULE ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "recur-${name}"
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${RECUR_BUILD_BACKEND_DIR}")
  target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/include")
  if(ARG_LIBS)
    target_link_libraries(${target} PRIVATE ${ARG_LIBS})
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/recur")
endfunction()
