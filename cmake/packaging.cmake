# What `cmake --install` puts where, and the packages CPack makes from it (scripts/package_test.sh
# builds and installs them):
#   dram_VERSION_ARCH.deb              /usr/bin/dram, /usr/lib/dram/libduckdb.so, /etc/dram/dram.yml,
#                                      /etc/default/dram, dram.service; postinst adds the dram user
#   dram-VERSION-linux-ARCH.tar.gz     bin/dram and lib/dram/libduckdb.so, relocatable (RPATH $ORIGIN)
# Only the binary and its private DuckDB are installed: no tests, benchmarks or tools.
# Components: `runtime` goes into both packages; `system` (absolute paths under /etc and /lib) only
# into the .deb (cmake/cpack_generator_options.cmake picks them per generator).

install(TARGETS dram RUNTIME DESTINATION bin COMPONENT runtime)
# libduckdb.so has no version in its name: a private directory keeps it from meeting another copy.
install(FILES ${DUCKDB_LIBRARY} DESTINATION lib/dram COMPONENT runtime)

set(deploy ${CMAKE_SOURCE_DIR}/deploy)
install(FILES ${deploy}/dram.yml DESTINATION /etc/dram COMPONENT system)
# It may hold the admin token: root only (systemd reads it before dropping to the dram user).
install(FILES ${deploy}/dram.env DESTINATION /etc/default RENAME dram PERMISSIONS OWNER_READ OWNER_WRITE COMPONENT system)
install(FILES ${deploy}/dram.service DESTINATION /lib/systemd/system COMPONENT system)

set(CPACK_PACKAGE_NAME dram)
set(CPACK_PACKAGE_VENDOR dram)
set(CPACK_PACKAGE_CONTACT "dram developers <dram@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "analytics data from Parquet and CSV served through HTTP endpoints")
set(CPACK_PACKAGE_FILE_NAME "dram-${PROJECT_VERSION}-linux-${CMAKE_SYSTEM_PROCESSOR}")
set(CPACK_GENERATOR "DEB;TGZ")
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_SOURCE_DIR}/cmake/cpack_generator_options.cmake)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libduckdb.so is ours: dpkg-shlibdeps finds it here instead of asking which package provides it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS /usr/lib/dram)
# postinst runs adduser; shlibdeps adds the libraries.
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${deploy}/debian/conffiles ${deploy}/debian/postinst ${deploy}/debian/prerm
    ${deploy}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
