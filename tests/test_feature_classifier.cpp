// The Fréchet distance's feature classifier (NAIGN's FLD protocol): softmax cross-entropy and its
// gradient, a classifier that learns Fashion-MNIST's labels, and the FLD scale's ordering.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/evaluation/feature_classifier.hpp"
#include "idemgen/evaluation/fld.hpp"

using namespace idemgen;
using be = backend::cpu<float>;
namespace fs = std::filesystem;

TEST_CASE("softmax cross-entropy is log(classes) at equal logits, and its gradient matches central differences") {
  const std::vector<std::uint8_t> labels = {2, 0, 1};
  std::vector<double> equal(4 * 3, 0.7);
  CHECK(evaluation::softmax_cross_entropy(equal.data(), 4, 3, labels.data()) == Approx(std::log(4.0)));

  random_stream rng(11);
  std::vector<double> logits(4 * 3), grad(logits.size());
  for (double& l : logits) l = 6 * rng.uniform() - 3;
  evaluation::softmax_cross_entropy(logits.data(), 4, 3, labels.data(), grad.data());
  const double h = 1e-6;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    std::vector<double> up = logits, down = logits;
    up[i] += h;
    down[i] -= h;
    const double numeric = (evaluation::softmax_cross_entropy(up.data(), 4, 3, labels.data()) -
                            evaluation::softmax_cross_entropy(down.data(), 4, 3, labels.data())) / (2 * h);
    CHECK(grad[i] == Approx(numeric).margin(1e-8));
  }
  // Each sample's gradient sums to 0 over the classes (softmax sums to 1, so does the one-hot).
  for (int j = 0; j < 3; ++j) CHECK(grad[4 * j] + grad[4 * j + 1] + grad[4 * j + 2] + grad[4 * j + 3] == Approx(0).margin(1e-12));
  const std::vector<std::uint8_t> out_of_range = {4, 0, 1};
  CHECK_THROWS_AS(evaluation::softmax_cross_entropy(logits.data(), 4, 3, out_of_range.data()), invalid_argument);
}

namespace {
// Three classes of 4 x 4 images: a bright top row, a bright left column, or a bright diagonal, in noise.
data::image_set striped_set(index_t count, std::uint64_t seed) {
  data::image_set set;
  set.shape = {1, 4, 4};
  set.count = count;
  random_stream rng(seed);
  for (index_t k = 0; k < count; ++k) {
    const int label = static_cast<int>(k % 3);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const bool bright = label == 0 ? y == 0 : label == 1 ? x == 0 : x == y;
        const double value = (bright ? 200.0 : 50.0) + 100 * (rng.uniform() - 0.5);
        set.pixels.push_back(static_cast<std::uint8_t>(std::clamp(value, 0.0, 255.0)));
      }
    set.labels.push_back(static_cast<std::uint8_t>(label));
  }
  return set;
}
}  // namespace

TEST_CASE("the feature classifier learns separable classes, is the same for the same seed, and refuses unlabelled sets") {
  const data::image_set train = striped_set(300, 1), test = striped_set(90, 2);
  const evaluation::feature_classifier_options opt{.hidden = 16, .features = 8, .steps = 150, .batch = 32, .lr = 3e-3, .seed = 5};
  const evaluation::feature_classifier<be> classifier(train, opt), again(train, opt);
  CHECK(classifier.classes() == 3);
  CHECK(classifier.feature_dim() == 8);
  CHECK(classifier.accuracy(test) > 0.95);
  const be::matrix images = evaluation::feature_classifier<be>::to_matrix(test, 0, 90);
  CHECK(classifier.features(images) == again.features(images));
  CHECK((classifier.features(images).array() >= 0).all());  // ReLU features

  data::image_set unlabelled = train;
  unlabelled.labels.clear();
  CHECK_THROWS_AS(evaluation::feature_classifier<be>(unlabelled, opt), invalid_argument);
  CHECK_THROWS_AS(classifier.accuracy(unlabelled), invalid_argument);
  CHECK_THROWS_AS(evaluation::feature_classifier<be>::to_matrix(test, 80, 20), invalid_argument);
}

TEST_CASE("on Fashion-MNIST the classifier beats 75 percent test accuracy and the FLD scale orders data < blurred, noised") {
  if (!fs::is_directory(data::fashion_mnist_directory())) {
    WARN("skipped: no " << data::fashion_mnist_directory() << " (Debian: dataset-fashion-mnist)");
    return;
  }
  const data::image_set train = data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::train);
  const data::image_set test = data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::test);
  const evaluation::feature_classifier<be> classifier(train, {.steps = 400});
  CHECK(classifier.classes() == 10);
  CHECK(classifier.accuracy(test) > 0.75);  // an MLP reaches ~0.88 when trained to the end
  const evaluation::fld_scale scale = evaluation::measure_fld_scale(classifier, train, test, 2000);
  CHECK(scale.n == 2000);
  CHECK(scale.train_images > 0);  // finite n: two samples of one law are not at 0
  CHECK(scale.train_images < scale.blurred_train_images);
  CHECK(scale.train_images < scale.noised_train_images);
  // The test images scored against their own fit are at 0 (up to the eigen-decomposition's round-off).
  CHECK(evaluation::fld(classifier, scale.test, evaluation::feature_classifier<be>::to_matrix(test, 0, 2000)) ==
        Approx(0).margin(1e-6 * scale.train_images));
  CHECK_THROWS_AS(evaluation::measure_fld_scale(classifier, train, test, 20000), invalid_argument);
}
