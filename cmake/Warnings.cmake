# Project-wide warning flags, applied per target with hookd_warnings(<target>).
# -Wshadow=local is GCC's; clang (the `fuzz` preset) has no such spelling, and its plain
# -Wshadow would warn about far more than the GCC builds check, so it gets none.
function(hookd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wshadow=local)
  endif()
endfunction()
