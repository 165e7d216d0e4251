# SeaCuda.cmake — decide whether the CUDA kernels are compiled.
#
# SEA_CUDA=AUTO compiles them when the LibTorch found has CUDA and nvcc exists; ON insists (error if not
# possible); OFF never. The result is SEA_CUDA_ENABLED, and the C++ code sees SEA_WITH_CUDA=1/0.
# SEA_CUDA_COMPILE_ONLY: nvcc exists but LibTorch is a CPU build (CI): the kernel files are still compiled
# (target sea_kernels), so that they are checked on every machine with nvcc, but nothing links them.
# Architectures default to 90 (H100/H200); override with -DCMAKE_CUDA_ARCHITECTURES=...
include(CheckLanguage)
set(SEA_CUDA_ENABLED OFF)
set(SEA_CUDA_COMPILE_ONLY OFF)
if(NOT SEA_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(SEA_TORCH_HAS_CUDA AND CMAKE_CUDA_COMPILER)
    set(SEA_CUDA_ENABLED ON)
  elseif(CMAKE_CUDA_COMPILER AND SEA_CUDA STREQUAL "AUTO")
    set(SEA_CUDA_COMPILE_ONLY ON)
  elseif(SEA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SEA_CUDA=ON but LibTorch has CUDA: ${SEA_TORCH_HAS_CUDA}, nvcc: "
                        "'${CMAKE_CUDA_COMPILER}'. Use a CUDA build of torch and put nvcc on PATH.")
  endif()
endif()

if(SEA_CUDA_ENABLED OR SEA_CUDA_COMPILE_ONLY)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  # -lineinfo for profilers and compute-sanitizer; spills are reported so that slow kernels show up at build.
  set(CMAKE_CUDA_FLAGS "${CMAKE_CUDA_FLAGS} -lineinfo --expt-relaxed-constexpr -Xptxas=--warn-on-spills")
  if(SEA_CUDA_ENABLED)
    message(STATUS "SEA: CUDA kernels ON, architectures ${CMAKE_CUDA_ARCHITECTURES}")
  else()
    message(STATUS "SEA: CUDA kernels compiled only (LibTorch is a CPU build), architectures ${CMAKE_CUDA_ARCHITECTURES}")
  endif()
else()
  message(STATUS "SEA: CUDA kernels OFF (LibTorch CUDA: ${SEA_TORCH_HAS_CUDA}, SEA_CUDA=${SEA_CUDA})")
endif()
