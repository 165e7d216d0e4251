# SeaWarnings.cmake — one place for compiler warnings on our own targets (not on LibTorch's headers,
# which are included as SYSTEM by the imported torch target).
function(sea_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>)
endfunction()
