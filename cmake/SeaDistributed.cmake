# SeaDistributed.cmake — which c10d process groups src/dist/data_parallel.cpp can create (issue 8).
#
# LibTorch's wheels contain ProcessGroupGloo and ProcessGroupNCCL, but ProcessGroupGloo.hpp includes gloo's own
# headers, which the wheel does not ship: Debian's libgloo-dev provides them (scripts/bootstrap.sh installs it;
# scripts/device/prepare_deps.sh carries it to the GPU machine). ProcessGroupNCCL.hpp needs nccl.h, which a CUDA
# wheel's nvidia-nccl package ships (site-packages/nvidia/nccl/include), or set NCCL_INCLUDE_DIR.
# Sets SEA_DIST_GLOO, SEA_DIST_NCCL (ON/OFF), SEA_GLOO_INCLUDE_DIR, SEA_NCCL_INCLUDE_DIR.
find_path(SEA_GLOO_INCLUDE_DIR gloo/algorithm.h
  HINTS ${CMAKE_PREFIX_PATH} PATH_SUFFIXES include
  DOC "directory holding gloo/algorithm.h (Debian: libgloo-dev)")
if(SEA_GLOO_INCLUDE_DIR)
  set(SEA_DIST_GLOO ON)
else()
  set(SEA_DIST_GLOO OFF)
  message(WARNING "SEA: gloo headers not found (apt install libgloo-dev): data-parallel training on the CPU is "
                  "disabled in this build")
endif()

set(SEA_DIST_NCCL OFF)
if(SEA_TORCH_HAS_CUDA)
  # Torch_DIR is <site-packages>/torch/share/cmake/Torch for a pip wheel.
  get_filename_component(_sea_site "${SEA_TORCH_DIR}/../../../.." ABSOLUTE)
  find_path(SEA_NCCL_INCLUDE_DIR nccl.h
    HINTS $ENV{NCCL_INCLUDE_DIR} ${NCCL_INCLUDE_DIR} "${_sea_site}/nvidia/nccl/include" ${CUDAToolkit_INCLUDE_DIRS}
    DOC "directory holding nccl.h")
  if(SEA_NCCL_INCLUDE_DIR)
    set(SEA_DIST_NCCL ON)
  else()
    message(WARNING "SEA: nccl.h not found (set NCCL_INCLUDE_DIR): data-parallel training on GPUs is disabled")
  endif()
endif()
message(STATUS "SEA: data-parallel process groups: gloo ${SEA_DIST_GLOO}, nccl ${SEA_DIST_NCCL}")

# Applies the definitions to the one source file that includes the c10d headers (kept out of the PCH).
function(sea_configure_distributed_source target source)
  set_source_files_properties(${source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  foreach(backend GLOO NCCL)
    if(SEA_DIST_${backend})
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_DEFINITIONS USE_C10D_${backend})
      # Not a compiler default such as /usr/include: an explicit -I there breaks libstdc++'s #include_next.
      if(NOT SEA_${backend}_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
        set_property(SOURCE ${source} APPEND PROPERTY INCLUDE_DIRECTORIES ${SEA_${backend}_INCLUDE_DIR})
      endif()
    endif()
  endforeach()
endfunction()
