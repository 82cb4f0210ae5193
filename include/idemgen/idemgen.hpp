#pragma once
// One include for users: everything in idemgen that does not need CUDA.

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/matrix_view.hpp"
#include "idemgen/core/rng.hpp"

#include "idemgen/backend/cpu.hpp"
#include "idemgen/eigen.hpp"  // Eigen matrices as views, and training from Eigen points

#include "idemgen/nn/activation_layer.hpp"
#include "idemgen/nn/activations.hpp"
#include "idemgen/nn/conv2d.hpp"
#include "idemgen/nn/conv_net.hpp"
#include "idemgen/nn/dense.hpp"
#include "idemgen/nn/group_norm.hpp"
#include "idemgen/nn/layer_norm.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/nn/noise_embedding.hpp"
#include "idemgen/nn/parameters.hpp"
#include "idemgen/nn/res_block.hpp"
#include "idemgen/nn/resmlp.hpp"
#include "idemgen/nn/unet.hpp"
#include "idemgen/nn/upsample.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/nn/velocity.hpp"

#include "idemgen/schedules/karras.hpp"
#include "idemgen/schedules/linear.hpp"
#include "idemgen/schedules/of_model.hpp"
#include "idemgen/schedules/vp.hpp"

#include "idemgen/optim/adam.hpp"
#include "idemgen/optim/clipping.hpp"
#include "idemgen/optim/ema.hpp"
#include "idemgen/optim/lr_schedule.hpp"
#include "idemgen/optim/radam.hpp"
#include "idemgen/optim/sgd.hpp"

namespace idemgen {
static_assert(numeric_backend<backend::cpu<float>>, "backend::cpu<float> must satisfy idemgen::numeric_backend");
static_assert(numeric_backend<backend::cpu<double>>, "backend::cpu<double> must satisfy idemgen::numeric_backend");
static_assert(nn::network<nn::mlp<backend::cpu<float>>>, "nn::mlp must satisfy nn::network");
static_assert(nn::network<nn::resmlp<backend::cpu<double>>>, "nn::resmlp must satisfy nn::network");
static_assert(nn::network<nn::conv_net<backend::cpu<float>>>, "nn::conv_net must satisfy nn::network");
static_assert(nn::network<nn::unet<backend::cpu<float>>>, "nn::unet must satisfy nn::network");
static_assert(nn::network<nn::denoiser<nn::mlp<backend::cpu<float>>>>, "nn::denoiser must satisfy nn::network");
static_assert(nn::network<nn::velocity<nn::mlp<backend::cpu<float>>>>, "nn::velocity must satisfy nn::network");
}  // namespace idemgen
#include "idemgen/transport/assignment.hpp"
#include "idemgen/transport/sinkhorn.hpp"
