// pch.h — precompiled header for the library: the heavy LibTorch headers most sources need.
// Listed narrowly (ATen + the nn modules we use), not <torch/torch.h>, to keep builds fast.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <nlohmann/json.hpp>
