# Third-party libraries, one INTERFACE target per project: pf_dep_absl, pf_dep_protobuf,
# pf_dep_grpc, pf_dep_re2, pf_dep_uv, pf_dep_yaml. Our CMakeLists name only these.
#
# PF_STATIC_DEPS (default ON, OFF in sanitizer builds): every executable links the Debian static
# archives instead of the shared libraries, and pilotfish also links libstdc++ and libgcc
# statically. pilotfish is then one self-contained file needing only libc and libm, as Envoy
# ships. The reason is memory: ~60 shared libraries (Debian splits abseil into dozens) each cost
# resident pages of their own (headers, GOT, relocated data, and the kernel's fault-around maps
# 64 KiB of text around every page touched), so the demo's idle RSS was 16.4 MiB with shared
# libraries and 11.0 MiB static. Sanitizer builds stay shared: ASan must interpose operator
# new/delete, which a static libstdc++ would bind at link time.
if(PF_SANITIZE)
  set(pf_static_default OFF)
else()
  set(pf_static_default ON)
endif()
option(PF_STATIC_DEPS "link third-party libraries statically" ${pf_static_default})

foreach(dep absl protobuf grpc re2 uv yaml)
  add_library(pf_dep_${dep} INTERFACE)
endforeach()

if(NOT PF_STATIC_DEPS)
  target_link_libraries(pf_dep_absl INTERFACE absl::strings absl::str_format absl::status
                        absl::statusor absl::time absl::flat_hash_map absl::flat_hash_set
                        absl::flags absl::flags_parse absl::synchronization absl::hash)
  target_link_libraries(pf_dep_protobuf INTERFACE protobuf::libprotobuf)
  target_link_libraries(pf_dep_grpc INTERFACE PkgConfig::GRPCPP)
  target_link_libraries(pf_dep_re2 INTERFACE PkgConfig::RE2)
  target_link_libraries(pf_dep_uv INTERFACE PkgConfig::LIBUV)
  target_link_libraries(pf_dep_yaml INTERFACE PkgConfig::YAMLCPP)
  return()
endif()

# The archives, from pkg-config --static. Debian's grpc .pc files leave out what libgrpc itself
# needs (upb, c-ares, address_sorting, zlib): listed by hand.
execute_process(
  COMMAND ${PKG_CONFIG_EXECUTABLE} --static --libs-only-l grpc++_unsecure protobuf re2 yaml-cpp
          libuv-static absl_strings absl_str_format absl_status absl_statusor absl_time
          absl_flat_hash_map absl_flat_hash_set absl_flags absl_flags_parse absl_synchronization
          absl_hash
  OUTPUT_VARIABLE pf_static_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE pf_pc_rc)
if(NOT pf_pc_rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --static failed for the third-party libraries")
endif()
separate_arguments(pf_static_flags UNIX_COMMAND "${pf_static_flags}")
set(pf_static_names)
foreach(flag ${pf_static_flags})
  string(REGEX REPLACE "^-l" "" name "${flag}")
  list(APPEND pf_static_names ${name})
endforeach()
list(APPEND pf_static_names upb cares address_sorting z)
# System libraries stay shared.
list(REMOVE_ITEM pf_static_names pthread dl rt m atomic)
list(REMOVE_DUPLICATES pf_static_names)

set(pf_static_archives)
foreach(name ${pf_static_names})
  find_library(pf_archive_${name} NAMES lib${name}.a NO_CACHE)
  if(NOT pf_archive_${name})
    message(FATAL_ERROR "PF_STATIC_DEPS: lib${name}.a not found (or configure with -DPF_STATIC_DEPS=OFF)")
  endif()
  list(APPEND pf_static_archives ${pf_archive_${name}})
endforeach()

# One group, so the archives' mutual references resolve in any order.
add_library(pf_third_party INTERFACE)
target_link_libraries(pf_third_party INTERFACE "$<LINK_GROUP:RESCAN,${pf_static_archives}>"
                      Threads::Threads ${CMAKE_DL_LIBS} rt m)
target_include_directories(pf_third_party SYSTEM INTERFACE ${Protobuf_INCLUDE_DIRS})
foreach(dep absl protobuf grpc re2 uv yaml)
  target_link_libraries(pf_dep_${dep} INTERFACE pf_third_party)
endforeach()

# Drop the archives' unreferenced sections.
add_link_options(-Wl,--gc-sections)
