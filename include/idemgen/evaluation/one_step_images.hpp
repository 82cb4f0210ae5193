#pragma once
// NAIGN Table 1 for a one-step image generator f: the FLD (evaluation/fld.hpp), coverage and
// density (Naeem et al., k = 5, on the classifier's features) of n samples f(z) and of f(f(z)),
// z ~ N(0, source_scale² I), against the fitted test images. The z are drawn from the stream
// given, so passing the same stream every evaluation scores the model, not the draw; images go
// through f 500 at a time (10 000 at once through a conv net would take gigabytes).

#include <algorithm>

#include "idemgen/evaluation/feature_classifier.hpp"
#include "idemgen/evaluation/fld.hpp"
#include "idemgen/evaluation/nearest_neighbours.hpp"
#include "idemgen/samplers/recursive.hpp"

namespace idemgen::evaluation {

/// The reference a generator is scored against: the classifier, its FLD scale, and the features
/// of the scale's n test images as a backend matrix (for coverage and density).
template <numeric_backend B>
struct image_scorer {
  const feature_classifier<B>& classifier;
  fld_scale scale;
  typename B::matrix test_features;

  /// Fits the first n test images and measures the scale (training images, noised, blurred).
  image_scorer(const feature_classifier<B>& c, const data::image_set& train, const data::image_set& test, index_t n,
               std::uint64_t seed)
      : classifier(c), scale(measure_fld_scale(c, train, test, n, seed)),
        test_features(to_backend(c.features(feature_classifier<B>::to_matrix(test, 0, n)))) {}

  /// Coverage and density of a set of images (n columns in [−1, 1]) against the test features.
  coverage_density coverage(typename B::const_view images) const {
    return coverage_and_density<B>(test_features, to_backend(classifier.features(images)));
  }

  static typename B::matrix to_backend(const Eigen::MatrixXd& host) {
    std::vector<typename B::scalar> values(host.data(), host.data() + host.size());
    typename B::matrix out(host.rows(), host.cols());
    B::copy_from_host(values.data(), out);
    return out;
  }
};

struct one_step_image_scores {
  double fld_f_z = 0, fld_f_f_z = 0;
  coverage_density f_z, f_f_z;
};

template <class Net, numeric_backend B = typename Net::backend_type>
one_step_image_scores score_one_step_images(const Net& net, const image_scorer<B>& s, random_stream rng,
                                            double source_scale = 1) {
  const feature_classifier<B>& classifier = s.classifier;
  const index_t d = classifier.shape().size(), n = s.scale.n, chunk = 500;
  Eigen::MatrixXd once(classifier.feature_dim(), n), twice(classifier.feature_dim(), n);
  typename B::matrix z, f_z, f_f_z;
  for (index_t first = 0; first < n; first += chunk) {
    const index_t m = std::min(chunk, n - first);
    z.resize(d, m);
    f_z.resize(d, m);
    f_f_z.resize(d, m);
    B::fill_normal(z, rng, typename B::scalar(0), static_cast<typename B::scalar>(source_scale));
    samplers::one_step(net, z, f_z);
    samplers::one_step(net, f_z, f_f_z);
    once.middleCols(first, m) = classifier.features(f_z);
    twice.middleCols(first, m) = classifier.features(f_f_z);
  }
  const auto fld_of = [&](const Eigen::MatrixXd& f) {
    return frechet_distance(gaussian_fit::of(f.data(), f.rows(), f.cols()), s.scale.test);
  };
  const auto coverage_of = [&](const Eigen::MatrixXd& f) {
    return coverage_and_density<B>(s.test_features, image_scorer<B>::to_backend(f));
  };
  return {.fld_f_z = fld_of(once), .fld_f_f_z = fld_of(twice), .f_z = coverage_of(once), .f_f_z = coverage_of(twice)};
}

}  // namespace idemgen::evaluation
