# hookd_add_plugin(<target> <source>... [OUTPUT_NAME <name>]): a hookd handler plugin as a
# MODULE library (lib<name>.so, <name> defaulting to <target>) that links hookd::plugin,
# compiles with hidden visibility and links with a version script exporting only
# hookd_plugin_v1, so no C++ template instantiation (weak or GNU-unique symbol) leaks out
# of the plugin or keeps dlclose from unloading it. Installed with the hookd package and
# included by hookdConfig.cmake; needs the imported target hookd::plugin.
include_guard(GLOBAL)

function(hookd_add_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_NAME" "")
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hookd_add_plugin(${target}): no source files given")
  endif()
  if(NOT TARGET hookd::plugin)
    message(FATAL_ERROR "hookd_add_plugin(${target}): the target hookd::plugin is not "
                        "defined here; call find_package(hookd) in this directory or a parent")
  endif()

  add_library(${target} MODULE ${arg_UNPARSED_ARGUMENTS})
  set_target_properties(${target} PROPERTIES
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(arg_OUTPUT_NAME)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME ${arg_OUTPUT_NAME})
  endif()
  target_link_libraries(${target} PRIVATE hookd::plugin)
  # plugin.hpp needs C++17; a pure C plugin (plugin.h is C99) need not enable CXX at all.
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(CXX IN_LIST languages)
    target_compile_features(${target} PRIVATE cxx_std_17)
  endif()

  # The script sits next to this file (CMAKE_CURRENT_FUNCTION_LIST_DIR: where the function
  # was defined, not where it is called).
  set(script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/hookd-plugin-exports.map)
  if(APPLE)
    target_link_options(${target} PRIVATE "LINKER:-exported_symbol,_hookd_plugin_v1")
  elseif(NOT WIN32)
    target_link_options(${target} PRIVATE "LINKER:--version-script=${script}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${script})
  endif()
endfunction()
