#pragma once
// The FLD (evaluation/fld.hpp), coverage and density (Naeem et al., k = 5, on the classifier's
// features) of n images from any sampler — a diffusion or flow model's ODE, a few-step
// sampler — against the scorer's fitted test images; NAIGN Table 1's columns for a model that is
// not a one-step f (evaluation/one_step_images.hpp scores f(z) and f(f(z))). `draw(out, rng)`
// fills out (image size × m) with m samples; it is called for 250 images at a time (a U-Net's
// caches for 10 000 images at once would take gigabytes) with the one stream given, so the
// same stream every evaluation scores the model, not the draw.

#include <algorithm>

#include "idemgen/evaluation/one_step_images.hpp"

namespace idemgen::evaluation {

struct generated_image_scores {
  double fld = 0;
  coverage_density quality;
};

template <numeric_backend B, class Draw>
generated_image_scores score_generated_images(const image_scorer<B>& s, Draw&& draw, random_stream rng) {
  const feature_classifier<B>& classifier = s.classifier;
  const index_t d = classifier.shape().size(), n = s.scale.n, chunk = 250;
  Eigen::MatrixXd features(classifier.feature_dim(), n);
  typename B::matrix images;
  for (index_t first = 0; first < n; first += chunk) {
    const index_t m = std::min(chunk, n - first);
    images.resize(d, m);
    draw(typename B::view(images), rng);
    features.middleCols(first, m) = classifier.features(images);
  }
  return {.fld = frechet_distance(gaussian_fit::of(features.data(), features.rows(), features.cols()), s.scale.test),
          .quality = coverage_and_density<B>(s.test_features, image_scorer<B>::to_backend(features))};
}

}  // namespace idemgen::evaluation
