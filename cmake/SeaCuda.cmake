# SeaCuda.cmake — decide whether the CUDA kernels are compiled.
#
# SEA_CUDA=AUTO compiles them when the LibTorch found has CUDA and nvcc exists; ON insists (error if not
# possible); OFF never. The result is SEA_CUDA_ENABLED, and the C++ code sees SEA_WITH_CUDA=1/0.
# Architectures default to 90 (H100/H200); override with -DCMAKE_CUDA_ARCHITECTURES=...
include(CheckLanguage)
set(SEA_CUDA_ENABLED OFF)
if(NOT SEA_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(SEA_TORCH_HAS_CUDA AND CMAKE_CUDA_COMPILER)
    set(SEA_CUDA_ENABLED ON)
  elseif(SEA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SEA_CUDA=ON but LibTorch has CUDA: ${SEA_TORCH_HAS_CUDA}, nvcc: "
                        "'${CMAKE_CUDA_COMPILER}'. Use a CUDA build of torch and put nvcc on PATH.")
  endif()
endif()

if(SEA_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  # -lineinfo for profilers and compute-sanitizer; spills are reported so that slow kernels show up at build.
  set(CMAKE_CUDA_FLAGS "${CMAKE_CUDA_FLAGS} -lineinfo --expt-relaxed-constexpr -Xptxas=--warn-on-spills")
  message(STATUS "SEA: CUDA kernels ON, architectures ${CMAKE_CUDA_ARCHITECTURES}")
else()
  message(STATUS "SEA: CUDA kernels OFF (LibTorch CUDA: ${SEA_TORCH_HAS_CUDA}, SEA_CUDA=${SEA_CUDA})")
endif()
