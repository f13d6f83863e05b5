# keelson_gtest(target [PREFIX <prefix>] [TIMEOUT <seconds>] LABELS <label>...)
#
# Registers a GoogleTest binary with ctest, one ctest test per gtest test. gtest_discover_tests
# flattens a list-valued LABELS property (only the first label would stick), so labels and
# timeouts are applied by a script that ctest runs right after the target's discovered tests
# are defined.
include(GoogleTest)

function(keelson_gtest target)
  cmake_parse_arguments(ARG "" "PREFIX;TIMEOUT" "LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  gtest_discover_tests(${target} TEST_PREFIX "${ARG_PREFIX}" DISCOVERY_TIMEOUT 60)
  set(props "${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake")
  file(WRITE "${props}"
       "foreach(t IN LISTS ${target}_TESTS)\n"
       "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"${ARG_LABELS}\" TIMEOUT ${ARG_TIMEOUT})\n"
       "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${props}")
endfunction()
