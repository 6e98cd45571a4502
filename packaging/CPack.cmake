# Debian packages with CPack (scripts/package.sh): hookd_<version>_amd64.deb (component
# `hookd`: the binaries, the bundled plugins, /etc/hookd/hookd.yaml, the systemd units,
# the maintainer scripts of packaging/debian/) and hookd-dev_<version>_amd64.deb
# (component `dev`: the plugin headers and the CMake package, cmake/Install.cmake).
# Configure with CMAKE_INSTALL_PREFIX=/usr for the real package; any build tree can run
# `cpack --config <build>/CPackConfig.cmake -D CPACK_INSTALL_PREFIX=/usr` (the package
# test does, from the dev build).
#
# The files outside the prefix (/etc, /lib/systemd) are EXCLUDE_FROM_ALL: a plain
# `cmake --install --prefix P` leaves them out, the per-component installs CPack runs
# include them.

set(HOOKD_SYSTEMD_UNITDIR /lib/systemd/system
    CACHE PATH "systemd unit directory of the package (Debian 12: /lib/systemd/system)")
set(HOOKD_PACKAGE_MAINTAINER "hookd maintainers <maintainers@users.noreply.r-seed-b7272d87.example>"
    CACHE STRING "Maintainer field of the Debian packages")

set(_pkg ${CMAKE_CURRENT_LIST_DIR})
set(_pkg_build ${PROJECT_BINARY_DIR}/packaging)

install(FILES ${_pkg}/hookd.yaml DESTINATION /etc/hookd
        COMPONENT hookd EXCLUDE_FROM_ALL)
install(FILES ${_pkg}/systemd/hookd.service ${_pkg}/systemd/hookd.socket
              ${_pkg}/systemd/hookd-admin.socket
        DESTINATION ${HOOKD_SYSTEMD_UNITDIR} COMPONENT hookd EXCLUDE_FROM_ALL)

# /usr/share/doc/<package>/{copyright,changelog.gz} in both packages (Debian policy 12.5,
# 12.7; a version without a Debian revision is a native package: changelog.gz).
configure_file(${_pkg}/debian/changelog.in ${_pkg_build}/changelog @ONLY)
add_custom_command(OUTPUT ${_pkg_build}/changelog.gz
  COMMAND gzip -9nc ${_pkg_build}/changelog > ${_pkg_build}/changelog.gz
  DEPENDS ${_pkg_build}/changelog VERBATIM)
add_custom_target(hookd_package_changelog ALL DEPENDS ${_pkg_build}/changelog.gz)
# Everything the packages hold, without the test suites (scripts/package.sh builds this).
add_custom_target(hookd_package_files)
add_dependencies(hookd_package_files hookd hookd-bench ${HOOKD_BUNDLED_PLUGINS}
                 hookd_package_changelog)
foreach(pair hookd:hookd dev:hookd-dev)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${_pkg}/debian/copyright ${_pkg_build}/changelog.gz
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}
          COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hookd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${HOOKD_PACKAGE_MAINTAINER}")
# DESTDIR installs: the absolute /etc and /lib/systemd destinations land in the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL hookd dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)            # hookd_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Depends from the ELF files (dpkg-shlibdeps): libssl3, libsqlite3-0, libyaml-cpp0.7,
# libfmt9, libstdc++6, libc6, ...
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)

set(CPACK_DEBIAN_HOOKD_PACKAGE_NAME hookd)
set(CPACK_DEBIAN_HOOKD_PACKAGE_SECTION net)
# Not computable: adduser for the system user (postinst, Debian policy 9.2.1);
# init-system-helpers 1.54 for deb-systemd-helper/deb-systemd-invoke, as dh_installsystemd
# adds it.
set(CPACK_DEBIAN_HOOKD_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~)")
# The description's lines as CPack indents them (one space, added by CPack).
set(CPACK_DEBIAN_HOOKD_DESCRIPTION "HTTPS webhook receiver with a durable outbox
hookd receives webhooks over HTTPS, verifies the sender (HTTP Basic, HMAC
signatures of GitHub, Stripe, Standard Webhooks, Slack, Shopify and others,
JWTs), commits each event to a SQLite outbox before it answers 202, and runs
handler plugins with retries. Certificates come from Let's Encrypt (ACME) or
from files. Bundled plugins: log, exec, forward, jofi. Includes the
hookd-bench load generator and a hardened systemd unit.")
set(CPACK_DEBIAN_HOOKD_PACKAGE_CONTROL_EXTRA
    ${_pkg}/debian/conffiles ${_pkg}/debian/postinst ${_pkg}/debian/prerm
    ${_pkg}/debian/postrm)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME hookd-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_COMPONENT_DEV_DEPENDS hookd)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)       # → Depends: hookd (= 0.1.0)
set(CPACK_DEBIAN_DEV_DESCRIPTION "hookd plugin development files
The C ABI header of hookd's handler plugins (hookd/plugin.h), the C++ wrapper
(plugin.hpp), the unit-test helper (plugin_testing.hpp) and the CMake package:
find_package(hookd) gives hookd::plugin and hookd_add_plugin().")

include(CPack)
