#pragma once
// The U-Net of the image models (nn::unet): built from the command line or a checkpoint's
// metadata, and a trained image denoiser (idemgen train --method diffusion|cdm on images) loaded
// as SIGN's teacher on images.

#include <memory>
#include <string>

#include "cli/image_data.hpp"
#include "cli/noised_net.hpp"
#include "cli/teachers.hpp"
#include "idemgen/nn/unet.hpp"

namespace idemgen::cli {

using unet_t = nn::unet<be>;
using image_denoiser = nn::denoiser<unet_t>;
using image_teacher = denoiser_teacher<unet_t>;

/// What builds the U-Net: from the command line (train) or the checkpoint's metadata (sample).
/// cond_dim 0: unconditioned (SIGN's one-step student).
struct unet_config {
  data::image_shape shape;
  std::string channels;
  index_t cond_dim = 64;
  double fourier_scale = 16;
};

inline unet_t make_unet(const unet_config& c, random_stream init) {
  return unet_t({.channels_in = c.shape.channels, .height = c.shape.height, .width = c.shape.width,
                 .channels = nn::parse_conv_widths(c.channels),
                 .cond = {.dim = c.cond_dim, .kind = nn::embedding_kind::fourier, .fourier_scale = c.fourier_scale,
                          .seed = 7}},
                init);
}

/// The U-Net of an image checkpoint, from its metadata (cond_dim 0 for SIGN's student).
inline unet_config unet_config_of(const train::metadata& md, const std::string& path) {
  return {parse_image_shape(train::metadata_string(md, "image_shape", path), path),
          train::metadata_string(md, "channels", path),
          static_cast<index_t>(train::metadata_integer(md, "cond_dim", path, 0)),
          train::metadata_real(md, "fourier_scale", path, 0)};
}

/// A diffusion or CDM checkpoint on images of `shape` as a teacher (its EMA weights when it has
/// them); any other file is an io_error or invalid_argument, before anything is written.
inline std::shared_ptr<image_teacher> load_image_teacher(const std::string& path, const data::image_shape& shape) {
  const io::safetensors file = io::read_safetensors(path);
  const auto& md = file.metadata;
  const std::string method = train::metadata_string(md, "method", path);
  const std::string net = md.count("net") ? md.at("net") : "mlp";
  if ((method != "diffusion" && method != "cdm") || net != "unet")
    throw invalid_argument("idemgen", "--teacher", "empirical or a diffusion or cdm checkpoint of images (net unet)",
                           "a " + method + " checkpoint of net " + net);
  const unet_config c = unet_config_of(md, path);
  if (shape_text(c.shape) != shape_text(shape))
    throw invalid_argument("idemgen", "--teacher", "a teacher of the data's " + shape_text(shape) + " images",
                           shape_text(c.shape) + " images");
  auto teacher = std::make_shared<image_teacher>(
      image_teacher{image_denoiser(make_unet(c, random_stream(0)), make_karras(train::metadata_real(md, "sigma_data", path, 0))),
                    {}});
  train::load_weights(file, teacher->den, path, /*prefer_ema=*/true);
  return teacher;
}

}  // namespace idemgen::cli
