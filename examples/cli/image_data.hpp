#pragma once
// What the image commands share (images.cpp: the one-step models; noised_images.cpp: the noised
// ones): the image shape as checkpoint metadata, the labelled test split of a training --dataset,
// and the FLD reference built from them (evaluation/fld.hpp).

#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/train_on.hpp"
#include "idemgen/data/image_set.hpp"
#include "idemgen/data/idx.hpp"
#include "idemgen/evaluation/one_step_images.hpp"

namespace idemgen::cli {

inline std::string shape_text(const data::image_shape& s) { return fmt::format("{}x{}x{}", s.channels, s.height, s.width); }

inline data::image_shape parse_image_shape(const std::string& text, const std::string& checkpoint) {
  long c = 0, h = 0, w = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%ldx%ldx%ld%c", &c, &h, &w, &tail) != 3 || c < 1 || h < 1 || w < 1)
    throw io_error("idemgen", checkpoint, "an image_shape CxHxW in the metadata", text);
  return {c, h, w};
}

/// The labelled test split that goes with a training --dataset, when it has one.
inline std::optional<data::image_set> test_split_of(const std::string& spec) {
  if (spec == "fashion-mnist") return data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::test);
  if (spec.rfind("mnist-idx:", 0) == 0) return data::read_idx_directory(spec.substr(10), data::idx_split::test);
  return std::nullopt;
}

/// NAIGN Table 1's reference: the FLD classifier trained on the training labels and the scale at
/// n = min(--samples, test images, training images), built when the data set has labels and a
/// test split (otherwise `scorer` is empty and nothing is scored).
struct image_reference {
  std::optional<data::image_set> test;
  std::optional<evaluation::feature_classifier<be>> classifier;
  std::optional<evaluation::image_scorer<be>> scorer;

  image_reference(const options& o, const data::image_set& train) : test(test_split_of(o.dataset)) {
    if (!test || train.labels.empty()) return;
    classifier.emplace(train, evaluation::feature_classifier_options{.seed = o.seed});
    scorer.emplace(*classifier, train, *test, std::min({o.samples, test->count, train.count}), o.seed);
    std::printf("idemgen: FLD classifier test accuracy %.4f; FLD scale at n = %ld: training images %.3f, noised %.3f, "
                "blurred %.3f\n",
                classifier->accuracy(*test), static_cast<long>(scorer->scale.n), scorer->scale.train_images,
                scorer->scale.noised_train_images, scorer->scale.blurred_train_images);
  }
  image_reference(const image_reference&) = delete;  // the scorer refers to the classifier

  /// The reference's part of metrics.json.
  io::ordered_json json() const {
    return {{"samples", scorer->scale.n},
            {"fld_classifier_test_accuracy", classifier->accuracy(*test)},
            {"fld_scale", {{"training_images", scorer->scale.train_images},
                           {"noised_training_images", scorer->scale.noised_train_images},
                           {"blurred_training_images", scorer->scale.blurred_train_images}}}};
  }
};

}  // namespace idemgen::cli
