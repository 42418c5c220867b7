# Warnings and sanitizers as INTERFACE targets (never global flags), after HighFive's
# cmake/HighFiveWarnings.cmake. Every dhs target links dhs_warnings; dhs_sanitizers is
# populated only when DHS_SANITIZE=ON.
add_library(dhs_warnings INTERFACE)
add_library(dhs::warnings ALIAS dhs_warnings)
target_compile_options(dhs_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers>)
# GCC 12's -Wrestrict misfires on std::string concatenation at -O2 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(dhs_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()

add_library(dhs_sanitizers INTERFACE)
add_library(dhs::sanitizers ALIAS dhs_sanitizers)
string(TOLOWER "${DHS_SANITIZE}" _dhs_sanitize)
if(_dhs_sanitize STREQUAL "thread")
  target_compile_options(dhs_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(dhs_sanitizers INTERFACE -fsanitize=thread)
elseif(_dhs_sanitize STREQUAL "address" OR DHS_SANITIZE)
  target_compile_options(dhs_sanitizers INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(dhs_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
