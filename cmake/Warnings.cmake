# Project-wide warning flags, applied per target with hookd_warnings(<target>).
# -Wshadow=local is GCC's; clang (the `fuzz` preset) has no such spelling, and its plain
# -Wshadow would warn about far more than the GCC builds check, so it gets none.
function(hookd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wshadow=local)
    # In a unity source each .cpp is an included file, and GCC takes a coroutine frame that
    # holds a type of that file's anonymous namespace for a header type with no linkage.
    if(HOOKD_UNITY_BUILD)
      target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
    endif()
  endif()
endfunction()
