# Project-wide warning flags, applied per target with hookd_warnings(<target>).
function(hookd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers)
endfunction()
