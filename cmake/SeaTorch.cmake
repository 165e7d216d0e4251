# SeaTorch.cmake — find LibTorch.
#
# Order: an explicit Torch_DIR (or CMAKE_PREFIX_PATH) wins; otherwise ask python3 where its torch package
# keeps its CMake files (torch.utils.cmake_prefix_path). The pip CPU wheel of torch is a complete LibTorch,
# which is how developer machines and CI build; the GPU machine uses its CUDA build of torch the same way.
#
# Sets: SEA_TORCH_DIR, SEA_TORCH_HAS_CUDA, and the imported libraries in TORCH_LIBRARIES.
if(NOT Torch_DIR)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    execute_process(
      COMMAND "${Python3_EXECUTABLE}" -c "import torch; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _sea_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _sea_torch_rc ERROR_QUIET)
    if(_sea_torch_rc EQUAL 0 AND EXISTS "${_sea_torch_prefix}/Torch")
      set(Torch_DIR "${_sea_torch_prefix}/Torch" CACHE PATH "Directory holding TorchConfig.cmake")
    endif()
  endif()
endif()

# TorchConfig.cmake calls find_package(CUDA...) itself when the build has CUDA; keep it quiet about the
# deprecated FindCUDA module and let it use the CUDA toolkit CMake finds.
set(CAFFE2_USE_CUDNN OFF CACHE BOOL "" FORCE)
find_package(Torch REQUIRED)
if(NOT Torch_FOUND)
  message(FATAL_ERROR "LibTorch not found. Run scripts/bootstrap.sh (pip install torch==2.13.0) or pass "
                      "-DTorch_DIR=<libtorch>/share/cmake/Torch.")
endif()
set(SEA_TORCH_DIR "${Torch_DIR}")

# Does this LibTorch carry CUDA? TorchConfig.cmake of a CUDA build fills TORCH_CUDA_LIBRARIES (with
# libc10_cuda); the CPU build leaves it empty.
set(SEA_TORCH_HAS_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR C10_CUDA_LIBRARY)
  set(SEA_TORCH_HAS_CUDA ON)
endif()

# The torch wheels are built with the new C++ ABI (since 2.7) and add their own -D_GLIBCXX_USE_CXX11_ABI
# through TORCH_CXX_FLAGS; pass them on to everything we compile.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")
