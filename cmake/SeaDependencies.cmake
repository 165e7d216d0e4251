# SeaDependencies.cmake — the small C++ dependencies, all from Debian packages:
#   CLI11 (command lines), nlohmann_json (configs, safetensors headers), spdlog + fmt (logging),
#   utf8proc (the Unicode character database the tokenizers use), GoogleTest (tests).
#
# spdlog and fmt are used header-only. The torch wheels ship their own fmt (v12) headers inside
# torch/include, which Debian's spdlog 1.10 cannot compile against; the target sea_logging_deps puts the
# Debian fmt include directory BEFORE torch's so that spdlog sees the fmt it was written for.
#
# On the GPU machine (no network) these come from a carried folder of unpacked .debs (scripts/device/):
# add <folder>/usr to CMAKE_PREFIX_PATH.
find_package(nlohmann_json 3.9 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)

# Debian's fmt lives in <prefix>/include, next to everything else there; on a stock machine that is
# /usr/include, which the compiler searches last, after torch's -isystem directories. So we expose a
# directory of our own that holds only a link to Debian's fmt headers, and put it first.
get_filename_component(_sea_fmt_prefix "${fmt_DIR}/../../../.." ABSOLUTE)
if(NOT EXISTS "${_sea_fmt_prefix}/include/fmt/core.h")
  get_filename_component(_sea_fmt_prefix "${fmt_DIR}/../../.." ABSOLUTE)  # lib/cmake/fmt layouts
endif()
if(NOT EXISTS "${_sea_fmt_prefix}/include/fmt/core.h")
  message(FATAL_ERROR "Found fmt at ${fmt_DIR} but not its headers (looked for ${_sea_fmt_prefix}/include/fmt/core.h)")
endif()
set(SEA_FMT_SHIM_DIR "${CMAKE_BINARY_DIR}/sea_fmt_shim")
file(MAKE_DIRECTORY "${SEA_FMT_SHIM_DIR}")
file(CREATE_LINK "${_sea_fmt_prefix}/include/fmt" "${SEA_FMT_SHIM_DIR}/fmt" SYMBOLIC)
message(STATUS "SEA: fmt ${fmt_VERSION} headers from ${_sea_fmt_prefix}/include (ahead of torch's bundled fmt)")

add_library(sea_logging_deps INTERFACE)
target_include_directories(sea_logging_deps SYSTEM BEFORE INTERFACE "${SEA_FMT_SHIM_DIR}")
target_link_libraries(sea_logging_deps INTERFACE spdlog::spdlog_header_only fmt::fmt-header-only)

# utf8proc ships no CMake config in Debian: find the header and the library, make an imported target.
find_path(SEA_UTF8PROC_INCLUDE_DIR utf8proc.h)
find_library(SEA_UTF8PROC_LIBRARY NAMES utf8proc)
if(NOT SEA_UTF8PROC_INCLUDE_DIR OR NOT SEA_UTF8PROC_LIBRARY)
  message(FATAL_ERROR "utf8proc not found (Debian: apt-get install libutf8proc-dev; scripts/bootstrap.sh does it)")
endif()
add_library(sea_utf8proc UNKNOWN IMPORTED)
set_target_properties(sea_utf8proc PROPERTIES IMPORTED_LOCATION "${SEA_UTF8PROC_LIBRARY}"
                                              INTERFACE_INCLUDE_DIRECTORIES "${SEA_UTF8PROC_INCLUDE_DIR}")
message(STATUS "SEA: utf8proc ${SEA_UTF8PROC_LIBRARY}")

if(SEA_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
