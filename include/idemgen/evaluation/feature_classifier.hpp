#pragma once
// feature_classifier: the feature extractor behind the images' Fréchet distance. NAIGN's "FLD"
// (§4.1, Table 1) is the Fréchet distance on the latent features of a LeNet trained on the data
// set's labels, between 10 000 samples and 10 000 test images. Here the classifier is an MLP,
// image → 512 → 256 → classes with ReLU, trained by the library itself with softmax
// cross-entropy and Adam from a fixed seed on the training labels; its features are the 256 ReLU
// activations before the last layer. The same seed, steps and thread count give the same
// classifier, so numbers from two runs compare; numbers from another classifier (or FID's
// Inception) do not, which is why evaluation/image_reference.hpp reports floors beside them.
//
// Training is a few thousand cheap steps (seconds on a CPU); nothing is downloaded or cached.

#include "idemgen/core/eigen_core.hpp"  // first: it silences GCC 12's false AVX-512 warnings
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/core/rng.hpp"
#include "idemgen/data/image_set.hpp"
#include "idemgen/nn/activation_layer.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/optim/adam.hpp"

namespace idemgen::evaluation {

/// Mean softmax cross-entropy of `logits` (classes × n, column j the scores of sample j) against
/// `labels` (n values in [0, classes)): (1/n) Σ_j [log Σ_c exp l_cj − l_{y_j, j}]. When `grad` is
/// not null it receives dL/dlogits = (softmax(l_j) − onehot(y_j)) / n, classes × n.
inline double softmax_cross_entropy(const double* logits, index_t classes, index_t n, const std::uint8_t* labels,
                                    double* grad = nullptr) {
  double total = 0;
  for (index_t j = 0; j < n; ++j) {
    const double* l = logits + j * classes;
    const index_t label = labels[j];
    idemgen::detail::require_option(label < classes, "evaluation::softmax_cross_entropy", "labels",
                                    fmt::format("values below {}", classes), fmt::format("{}", label));
    const double top = *std::max_element(l, l + classes);  // shifted: exp never overflows
    double sum = 0;
    for (index_t c = 0; c < classes; ++c) sum += std::exp(l[c] - top);
    total += std::log(sum) + top - l[label];
    if (grad != nullptr)
      for (index_t c = 0; c < classes; ++c)
        grad[j * classes + c] = (std::exp(l[c] - top) / sum - (c == label ? 1.0 : 0.0)) / static_cast<double>(n);
  }
  return total / static_cast<double>(n);
}

struct feature_classifier_options {
  index_t hidden = 512, features = 256;  // image → hidden → features → classes
  long steps = 3000;                      // Adam steps on random batches of the training set
  index_t batch = 128;
  double lr = 1e-3;
  std::uint64_t seed = 0;
};

template <numeric_backend B>
class feature_classifier {
 public:
  using scalar = typename B::scalar;
  using const_view = typename B::const_view;

  /// Trains on `train`'s images and labels (throws option_error when the set has no labels).
  explicit feature_classifier(const data::image_set& train, const feature_classifier_options& opt = {})
      : shape_(train.shape),
        classes_(check_labels(train)),
        trunk_({.input_dim = train.shape.size(), .output_dim = opt.features, .hidden = {opt.hidden}},
               random_stream(opt.seed).split(1)),
        head_({.input_dim = opt.features, .output_dim = classes_, .hidden = {}}, random_stream(opt.seed).split(2)),
        relu_({nn::activation::relu}) {
    idemgen::detail::require_option(opt.steps > 0 && opt.batch > 0 && opt.lr > 0, "evaluation::feature_classifier",
                                    "steps/batch/lr", "all > 0", "a value <= 0");
    optim::adam<B> trunk_adam({.lr = opt.lr}), head_adam({.lr = opt.lr});
    random_stream rng = random_stream(opt.seed).split(3);
    const index_t d = shape_.size();
    std::vector<scalar> images(static_cast<std::size_t>(d * opt.batch));
    std::vector<std::uint8_t> labels(static_cast<std::size_t>(opt.batch));
    typename B::matrix x(d, opt.batch), d_logits(classes_, opt.batch), d_hidden(opt.features, opt.batch);
    std::vector<double> host_logits, host_grad(static_cast<std::size_t>(classes_ * opt.batch));
    std::vector<scalar> grad_scalars(host_grad.size());
    typename nn::mlp<B>::cache trunk_cache, head_cache;
    typename nn::activation_layer<B>::cache relu_cache;
    for (long step = 0; step < opt.steps; ++step) {
      for (index_t j = 0; j < opt.batch; ++j) {
        const index_t k = std::min(train.count - 1, static_cast<index_t>(rng.uniform() * static_cast<double>(train.count)));
        train.image_to(k, images.data() + j * d);
        labels[static_cast<std::size_t>(j)] = train.labels[static_cast<std::size_t>(k)];
      }
      B::copy_from_host(images.data(), x);
      const const_view logits = head_.forward(relu_.forward(trunk_.forward(x, trunk_cache), relu_cache), head_cache);
      host_logits = to_doubles(logits);
      last_loss_ = softmax_cross_entropy(host_logits.data(), classes_, opt.batch, labels.data(), host_grad.data());
      std::copy(host_grad.begin(), host_grad.end(), grad_scalars.begin());
      B::copy_from_host(grad_scalars.data(), d_logits);
      trunk_.zero_grad();
      head_.zero_grad();
      relu_.backward(relu_cache, head_.backward(head_cache, d_logits, head_.gradients()), d_hidden);
      trunk_.backward(trunk_cache, d_hidden, trunk_.gradients());
      head_adam.step(head_.parameters(), head_.gradients());
      trunk_adam.step(trunk_.parameters(), trunk_.gradients());
    }
  }

  index_t classes() const { return classes_; }
  index_t feature_dim() const { return trunk_.output_dim(); }
  const data::image_shape& shape() const { return shape_; }
  /// The cross-entropy of the last training batch.
  double final_loss() const { return last_loss_; }

  /// The features (feature_dim × n) of images (shape().size() × n, values in [−1, 1]).
  Eigen::MatrixXd features(const_view images) const {
    Eigen::MatrixXd out(feature_dim(), images.cols());
    for_each_chunk(images, [&](index_t first, const_view hidden, const_view) {
      const std::vector<double> values = to_doubles(hidden);
      out.middleCols(first, hidden.cols()) = Eigen::Map<const Eigen::MatrixXd>(values.data(), hidden.rows(), hidden.cols());
    });
    return out;
  }

  /// The fraction of `set`'s images whose arg-max class is their label.
  double accuracy(const data::image_set& set) const {
    idemgen::detail::require_option(set.shape == shape_ && set.labels.size() == static_cast<std::size_t>(set.count) && set.count > 0,
                                    "evaluation::feature_classifier::accuracy", "set",
                                    "labelled images of the training shape", "another shape or no labels");
    typename B::matrix images = to_matrix(set, 0, set.count);
    index_t correct = 0;
    for_each_chunk(images, [&](index_t first, const_view, const_view logits) {
      const std::vector<double> l = to_doubles(logits);
      for (index_t j = 0; j < logits.cols(); ++j) {
        const auto column = l.begin() + j * classes_;
        correct += std::max_element(column, column + classes_) - column == set.labels[static_cast<std::size_t>(first + j)];
      }
    });
    return static_cast<double>(correct) / static_cast<double>(set.count);
  }

  /// Images [first, first + n) of a set as a shape().size() × n backend matrix in [−1, 1].
  static typename B::matrix to_matrix(const data::image_set& set, index_t first, index_t n) {
    idemgen::detail::require_option(first >= 0 && n >= 0 && first + n <= set.count, "evaluation::feature_classifier",
                                    "images", fmt::format("a range within the {} images", set.count),
                                    fmt::format("[{}, {})", first, first + n));
    const index_t d = set.shape.size();
    std::vector<scalar> host(static_cast<std::size_t>(d * n));
    for (index_t j = 0; j < n; ++j) set.image_to(first + j, host.data() + j * d);
    typename B::matrix out(d, n);
    B::copy_from_host(host.data(), out);
    return out;
  }

 private:
  static index_t check_labels(const data::image_set& train) {
    idemgen::detail::require_option(train.count > 0 && train.labels.size() == static_cast<std::size_t>(train.count),
                                    "evaluation::feature_classifier", "train", "labelled images",
                                    fmt::format("{} images, {} labels", train.count, train.labels.size()));
    return static_cast<index_t>(*std::max_element(train.labels.begin(), train.labels.end())) + 1;
  }

  static std::vector<double> to_doubles(const_view m) {
    std::vector<scalar> host(static_cast<std::size_t>(m.size()));
    B::copy_to_host(m, host.data());
    return {host.begin(), host.end()};
  }

  /// visit(first column, features, logits) for chunks of at most 1 000 images.
  template <class Visit>
  void for_each_chunk(const_view images, Visit&& visit) const {
    idemgen::detail::require_dim("evaluation::feature_classifier", "images", "rows", shape_.size(), images.rows());
    typename nn::mlp<B>::cache trunk_cache, head_cache;
    typename nn::activation_layer<B>::cache relu_cache;
    constexpr index_t chunk = 1000;
    for (index_t first = 0; first < images.cols(); first += chunk) {
      const const_view hidden =
          relu_.forward(trunk_.forward(images.columns(first, std::min(chunk, images.cols() - first)), trunk_cache), relu_cache);
      visit(first, hidden, head_.forward(hidden, head_cache));
    }
  }

  data::image_shape shape_;
  index_t classes_;
  nn::mlp<B> trunk_, head_;
  nn::activation_layer<B> relu_;
  double last_loss_ = 0;
};

}  // namespace idemgen::evaluation
