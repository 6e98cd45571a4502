# Install rules for plugin authors and the CMake package `hookd`: after
# `cmake --install <build> --prefix P`, an out-of-tree plugin project finds it with
# `find_package(hookd 0.1 REQUIRED)` (CMAKE_PREFIX_PATH=P) and gets the imported target
# hookd::plugin (the plugin headers) and hookd_add_plugin() (cmake/hookdPluginHelpers.cmake).
# The hookd binary (app/) and the bundled plugins (plugins/) install themselves; the
# framework library is not installed: a plugin only speaks the C ABI of plugin.h.
# Components: `hookd` (binaries, plugins) and `dev` (this), the two Debian packages of
# packaging/CPack.cmake.
include(CMakePackageConfigHelpers)

set(HOOKD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/hookd
    CACHE STRING "Where hookdConfig.cmake is installed, relative to the prefix")

install(FILES ${PROJECT_SOURCE_DIR}/plugins/include/hookd/plugin.h
              ${PROJECT_SOURCE_DIR}/plugins/include/hookd/plugin.hpp
              ${PROJECT_SOURCE_DIR}/plugins/include/hookd/plugin_testing.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hookd COMPONENT dev)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hookdConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/hookdConfig.cmake
  INSTALL_DESTINATION ${HOOKD_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# SameMajorVersion: the plugin ABI major is bound to hookd's major version. The check also
# compares CMAKE_SIZEOF_VOID_P, so a 32-bit plugin build does not pick up a 64-bit hookd.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/hookdConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)

# The linker version script hookd_add_plugin() uses: the same text as plugins/exports.map,
# which the bundled plugins link with (export hookd_plugin_v1, nothing else).
install(FILES ${PROJECT_BINARY_DIR}/package/hookdConfig.cmake
              ${PROJECT_BINARY_DIR}/package/hookdConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/hookdPluginHelpers.cmake
        DESTINATION ${HOOKD_INSTALL_CMAKEDIR} COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/plugins/exports.map
        DESTINATION ${HOOKD_INSTALL_CMAKEDIR} RENAME hookd-plugin-exports.map COMPONENT dev)
