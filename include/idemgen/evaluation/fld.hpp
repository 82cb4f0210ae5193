#pragma once
// NAIGN's FLD (§4.1, Table 1): the Fréchet distance (evaluation/frechet_distance.hpp) between the
// classifier features (evaluation/feature_classifier.hpp) of n samples and of n test images,
// n = 10 000 in the paper. A Fréchet distance on a library's own classifier has no absolute
// meaning, and at finite n even two halves of the data are not at 0, so fld_scale measures, with
// the same classifier and the same n, what three reference sets score against the test images:
//
//   training images           the floor: a sampler that draws the data itself scores this
//   training images + noise   σ = 0.3 on [−1, 1] (data/degradations.hpp noise:0.3)
//   blurred training images   Gaussian blur σ = 1 pixel (blur:1)
//
// Report them beside every FLD (examples/fashion_mnist does), so "FLD 12" reads as "between the
// blurred data and the noised data", not as a bare number.

#include <algorithm>
#include <vector>

#include "idemgen/data/degradations.hpp"
#include "idemgen/evaluation/feature_classifier.hpp"
#include "idemgen/evaluation/frechet_distance.hpp"

namespace idemgen::evaluation {

struct fld_scale {
  gaussian_fit test;  ///< features of the first n test images
  index_t n = 0;
  double train_images = 0, noised_train_images = 0, blurred_train_images = 0;
};

/// The FLD of `samples` (image columns in [−1, 1]) against the fitted test features.
template <numeric_backend B>
double fld(const feature_classifier<B>& classifier, const gaussian_fit& test, typename B::const_view samples) {
  const Eigen::MatrixXd features = classifier.features(samples);
  return frechet_distance(gaussian_fit::of(features.data(), features.rows(), features.cols()), test);
}

/// Fits the first n test images and scores n random training images against them, clean, noised
/// and blurred (drawn from `seed`, so the scale is the same in every run of one n and seed).
template <numeric_backend B>
fld_scale measure_fld_scale(const feature_classifier<B>& classifier, const data::image_set& train,
                            const data::image_set& test, index_t n = 10000, std::uint64_t seed = 0) {
  idemgen::detail::require_option(n >= 2 && n <= test.count && n <= train.count, "evaluation::measure_fld_scale", "n",
                                  fmt::format("2 .. {} (the smaller set)", std::min(train.count, test.count)),
                                  fmt::format("{}", n));
  using scalar = typename B::scalar;
  fld_scale scale;
  scale.n = n;
  const Eigen::MatrixXd test_features = classifier.features(feature_classifier<B>::to_matrix(test, 0, n));
  scale.test = gaussian_fit::of(test_features.data(), test_features.rows(), n);

  const index_t d = train.shape.size();
  random_stream rng = random_stream(seed).split(7);
  std::vector<double> clean(static_cast<std::size_t>(d * n));
  for (index_t j = 0; j < n; ++j) {
    const index_t k = std::min(train.count - 1, static_cast<index_t>(rng.uniform() * static_cast<double>(train.count)));
    train.image_to(k, clean.data() + j * d);
  }
  typename B::matrix images(d, n);
  std::vector<scalar> host(clean.size());
  const auto score = [&](const std::vector<double>& values) {
    std::copy(values.begin(), values.end(), host.begin());
    B::copy_from_host(host.data(), images);
    return fld(classifier, scale.test, images);
  };
  const auto degraded = [&](const char* spec) {
    std::vector<double> values = clean;
    data::degrade(data::degradation::parse(spec), train.shape, values.data(), n, rng);
    return values;
  };
  scale.train_images = score(clean);
  scale.noised_train_images = score(degraded("noise:0.3"));
  scale.blurred_train_images = score(degraded("blur:1"));
  return scale;
}

}  // namespace idemgen::evaluation
